"""GGUF weights kept in their low bits (`--weights native`): the blocks read into the
kernel's layout hold exactly the weights gguf-py's reference dequantizer reads; the kernel
computes with them exactly where the activations need no rounding; and whole models run
native give the logits and greedy tokens of the same file expanded to floats, within the
rounding the kernel's 8-bit activations add (stated per format below)."""

import numpy as np
import pytest
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize, quantize

from app.model import cpu_kernels
from app.model.lowbit import LowBitEmbedding, LowBitLinear, PackedLowBit
from app.weights import load_pretrained
from app.weights.gguf_blocks import LAYOUTS, lowbit_rows
from tests.weights.tiny_gguf import fast_low_bit_decode_steps, tail, write_tiny_gguf

Q = GGMLQuantizationType
FORMATS = ["Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q5_1", "Q5_K", "Q6_K", "Q8_0"]
K_QUANTS = {Q.Q4_K, Q.Q5_K, Q.Q6_K}  # gguf-py cannot write these: random blocks instead

pytestmark = pytest.mark.skipif(cpu_kernels.unavailable() is not None,
                                reason=f"low-bit kernel unavailable: {cpu_kernels.unavailable()}")


def blocks_of(quant: GGMLQuantizationType, rows: int, columns: int, seed: int = 0, spread: float = 1.0):
    """[rows, row bytes] of blocks: quantized from random weights where gguf-py can, else
    random bytes with small, finite float16 scales (any byte pattern of codes and 6- or
    8-bit scales is a valid K-quant block)."""
    rng = np.random.default_rng(seed)
    if quant not in K_QUANTS:
        return quantize((spread * rng.standard_normal((rows, columns))).astype(np.float32), quant)
    block_values, block_bytes = GGML_QUANT_SIZES[quant]
    blocks = rng.integers(0, 256, (rows, columns // block_values, block_bytes), dtype=np.uint8)
    halves = (spread * rng.uniform(2e-4, 1e-3, (rows, columns // block_values, 2))).astype(np.float16)
    if quant == Q.Q6_K:
        blocks[..., 208:210] = halves[..., :1].view(np.uint8)  # d sits last
    else:
        blocks[..., 0:4] = halves.view(np.uint8).reshape(rows, -1, 4)  # d, dmin
    return blocks.reshape(rows, -1)


def lowbit_linear(packed: np.ndarray, quant: GGMLQuantizationType, columns: int) -> LowBitLinear:
    layout = LAYOUTS[quant]
    rows = lowbit_rows(packed, quant)
    scale_dtype = torch.float16 if layout.scale_dtype == np.float16 else torch.float32
    layer = LowBitLinear(packed.shape[0], columns, layout.bits, layout.group, scale_dtype, layout.has_offset)
    layer.codes.copy_(torch.from_numpy(rows.codes))
    layer.scales.copy_(torch.from_numpy(rows.scales))
    if rows.offsets is not None:
        layer.offsets.copy_(torch.from_numpy(rows.offsets))
    return layer


@pytest.mark.parametrize("quant", FORMATS)
def test_the_kernel_layout_holds_the_weights_the_blocks_hold(quant):
    quant = Q[quant]
    packed = blocks_of(quant, 24, 512)
    reference = torch.from_numpy(dequantize(packed, quant).reshape(24, 512))
    layer = lowbit_linear(packed, quant, 512)
    # scale * code + offset in float32 against gguf-py's own order of the same products
    torch.testing.assert_close(layer.dequantized(), reference, rtol=0, atol=2e-7 * reference.abs().max().item())
    assert layer.rows(torch.tensor([[3, 0]]), torch.bfloat16).shape == (1, 2, 512)


@pytest.mark.parametrize("quant", FORMATS)
def test_the_kernel_is_exact_where_the_activations_need_no_rounding(quant):
    """Integer activations whose every block of 32 reaches +-127 quantize to themselves
    (scale 1), so the kernel's product must be the float product of the same weights. 43
    rows: the kernel takes rows four at a time, and the last three one by one; 576 columns
    (18 groups of 32, SmolLM2's width) where the format allows: the offsets are summed
    eight groups at a time, and the last two one by one."""
    quant = Q[quant]
    columns = 512 if quant in K_QUANTS else 576  # a K-quant's super-block is 256 wide
    packed = blocks_of(quant, 43, columns, seed=1)
    layer = lowbit_linear(packed, quant, columns)
    generator = torch.Generator().manual_seed(2)
    x = torch.randint(-126, 127, (3, columns), generator=generator).float()
    x[:, ::32] = 127.0
    expected = x.double() @ layer.dequantized().double().t()
    torch.testing.assert_close(layer(x).double(), expected, rtol=1e-5, atol=1e-4 * expected.abs().max().item())


@pytest.mark.parametrize("quant", ["Q4_1", "Q8_0", "Q6_K"])
def test_random_activations_round_to_within_a_percent_and_keep_their_shape_and_dtype(quant):
    quant = Q[quant]
    packed = blocks_of(quant, 64, 256, seed=3)
    layer = lowbit_linear(packed, quant, 256)
    x = torch.randn(2, 5, 256, generator=torch.Generator().manual_seed(4))
    expected = x @ layer.dequantized().t()
    out = layer(x)
    assert out.shape == (2, 5, 64)
    assert (out - expected).abs().max() <= 0.01 * expected.abs().max()
    assert layer(x.to(torch.bfloat16)).dtype == torch.bfloat16


# --- whole models ------------------------------------------------------------------------

CONFIG = dict(model_type="qwen3", vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=256,
              rms_norm_eps=1e-6, rope_theta=1_000_000.0, tie_word_embeddings=True)
QWEN2 = dict(model_type="qwen2", vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
             rope_theta=10_000.0, tie_word_embeddings=False)
# Largest |native - expanded| logit over a 12-token forward, as a share of the largest logit:
# 8-bit activations against the weights' own rounding, measured with margin.
TOLERANCE = {"Q8_0": 0.03, "Q4_0": 0.03, "Q4_K": 0.03, "Q6_K": 0.03}


def write_file(path, matrix_quants: dict[str, GGMLQuantizationType], config: dict = CONFIG) -> None:
    """A random model of `config` (qwen3 or qwen2); every matrix (and the tied embedding) in
    the format `matrix_quants` gives for its GGUF name's tail, else the "default" one; norms
    and biases float32."""
    def encode(name: str, values: np.ndarray, seed: int):
        if values.ndim != 2:
            return None
        quant = matrix_quants.get(tail(name), matrix_quants["default"])
        if quant in K_QUANTS:
            return blocks_of(quant, *values.shape, seed=seed, spread=float(values.std())), quant
        return quantize(values, quant), quant

    write_tiny_gguf(path, config, config["model_type"], encode)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("native")
    made = {}
    for quant in TOLERANCE:
        made[quant] = folder / f"{quant}.gguf"
        write_file(made[quant], {"default": Q[quant]})
    # q and k in one format, v in another (as Gemma 3's Q4_K_M file has them): not packable
    made["mixed"] = folder / "mixed.gguf"
    write_file(made["mixed"], {"default": Q.Q4_1, "attn_v": Q.Q8_0, "ffn_down": Q.Q5_0})
    made["biases"] = folder / "qwen2.gguf"  # q/k/v with biases, an untied head
    write_file(made["biases"], {"default": Q.Q4_0}, QWEN2)
    return made


def logits_of(model, ids):
    with torch.no_grad():
        return model(ids)


@pytest.mark.parametrize("quant", sorted(TOLERANCE))
def test_a_native_load_gives_the_expanded_files_logits_within_its_formats_rounding(files, quant):
    native = load_pretrained(files[quant])
    expanded = load_pretrained(files[quant], weights="dequantize")
    assert isinstance(native.model.embed_tokens, LowBitEmbedding)
    assert native.model.lm_head is native.model.embed_tokens.matrix  # tied: one low-bit matrix
    assert isinstance(native.model.layers[0].mixer.qkv, PackedLowBit)
    assert native.notes == [f"kept low-bit: 15 {quant}"] and expanded.notes == []
    ids = torch.randint(0, CONFIG["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(5))
    reference = logits_of(expanded.model, ids)
    ours = logits_of(native.model, ids)
    assert (ours - reference).abs().max() <= TOLERANCE[quant] * reference.abs().max()
    # Through the cache (prefill, then a token at a time) as in one forward, up to rounding:
    # a float difference of 1e-7 in attention's order of sums can move an activation across
    # an 8-bit rounding boundary, a step of 1/127 of its block's largest value.
    cache = native.model.new_cache(batch=2, max_len=12)
    with torch.no_grad():
        steps = [native.model(ids[:, :5], cache=cache)]
        steps += [native.model(ids[:, i:i + 1], cache=cache) for i in range(5, 12)]
    assert (torch.cat(steps, dim=1) - ours).abs().max() <= 0.01 * ours.abs().max()


def test_linears_of_different_formats_run_one_by_one(files):
    native = load_pretrained(files["mixed"])
    attention, mlp = native.model.layers[0].mixer, native.model.layers[0].ffn
    assert attention.qkv is None and isinstance(mlp.gate_up, PackedLowBit)
    assert isinstance(attention.v_proj, LowBitLinear) and attention.v_proj.bits == 8
    assert native.notes == ["kept low-bit: 11 Q4_1, 2 Q5_0, 2 Q8_0"]
    expanded = load_pretrained(files["mixed"], weights="dequantize")
    ids = torch.arange(12).reshape(1, 12)
    reference = logits_of(expanded.model, ids)
    assert (logits_of(native.model, ids) - reference).abs().max() <= 0.03 * reference.abs().max()


def test_biases_and_an_untied_head_run_low_bit_too(files):
    native = load_pretrained(files["biases"])
    attention = native.model.layers[1].mixer
    assert isinstance(attention.qkv, PackedLowBit) and attention.q_proj.bias is not None
    assert isinstance(native.model.lm_head, LowBitLinear) and native.model.lm_head is not native.model.embed_tokens.matrix
    assert native.notes == ["kept low-bit: 16 Q4_0"]
    expanded = load_pretrained(files["biases"], weights="dequantize")
    torch.testing.assert_close(attention.q_proj.bias, expanded.model.layers[1].mixer.q_proj.bias, rtol=0, atol=0)
    ids = torch.arange(3, 15).reshape(1, 12)
    reference = logits_of(expanded.model, ids)
    assert (logits_of(native.model, ids) - reference).abs().max() <= 0.03 * reference.abs().max()


def test_native_weights_hold_about_the_files_bytes(files):
    """What the model holds in memory, against the file: the codes are the file's bits (two
    4-bit codes a byte here, one byte for 5- to 8-bit ones), plus a scale (and offset) per group."""
    for quant in ("Q4_0", "Q8_0"):
        model = load_pretrained(files[quant]).model
        held = sum(t.nbytes for t in {id(t): t for t in (*model.parameters(), *model.buffers())}.values())
        assert held <= 1.3 * files[quant].stat().st_size


def test_a_run_on_another_device_or_asked_to_dequantize_expands_the_weights(files):
    expanded = load_pretrained(files["Q8_0"], weights="dequantize")
    assert isinstance(expanded.model.embed_tokens, torch.nn.Embedding)
    with pytest.raises(ValueError, match="weights must be one of native, dequantize"):
        load_pretrained(files["Q8_0"], weights="int4")


def greedy(loaded, prompt: str, steps: int = 24) -> tuple[list[int], list[float]]:
    """Greedy tokens and, at each step, the margin of the best logit over the second."""
    ids = torch.tensor([loaded.tokenizer.encode(prompt)])
    cache = loaded.model.new_cache(1, ids.shape[1] + steps)
    tokens, margins = [], []
    with torch.no_grad():
        logits = loaded.model(ids, cache=cache, last_only=True)
        for _ in range(steps):
            best = logits[0, -1].topk(2).values
            margins.append(float(best[0] - best[1]))
            tokens.append(int(logits[0, -1].argmax()))
            logits = loaded.model(torch.tensor([[tokens[-1]]]), cache=cache)
    return tokens, margins


@pytest.mark.parametrize("name", ["smollm2-135m", "gemma3-270m"])
def test_the_embedded_models_continue_text_with_the_expanded_runs_greedy_tokens(name):
    """Ordinary prompts, 24 greedy tokens: the low-bit run says what the expanded one says,
    and where the two part, the expanded run itself was at a near-tie (its best two logits
    within 0.5). The bound is what the 8-bit activations move a margin by: fed the expanded
    run's tokens for 32 steps on these prompts, the low-bit run's margin between the same two
    tokens differed by 0.06-0.11 at the median and 0.64 at worst. Measured (rows four at a
    time in the kernel): SmolLM2 parts on "Water boils at" at step 7 (expanded margin 0.19,
    the low-bit run's own 0.03) and on "The three primary colours are" at step 22 (0.38;
    0.006); Gemma 3 on "The three primary colours are" at step 2 (0.14) and "Once upon a
    time" at step 4 (0.06); the other four agree throughout."""
    agreed = 0
    low_bit = load_pretrained(f"embedded:{name}", weights="native")
    floats = load_pretrained(f"embedded:{name}", weights="dequantize")
    for prompt in ("Water boils at", "def fibonacci(n):", "The three primary colours are", "Once upon a time"):
        native, _ = greedy(low_bit, prompt)
        expanded, margins = greedy(floats, prompt)
        parted = next((step for step, (a, b) in enumerate(zip(native, expanded)) if a != b), None)
        if parted is None:
            agreed += 1
        else:
            assert margins[parted] < 0.5, (name, prompt, parted, margins[parted])
    assert agreed >= 2, (name, agreed)


def test_the_fast_mode_compiles_a_low_bit_model_whole_with_the_probe_inside(files):
    """The kernel is a torch operator with a shape rule, so the compiled step has no graph
    break at the low-bit layers: no part of the step runs eagerly, and every layer is timed."""
    session, _ = fast_low_bit_decode_steps(files["Q4_0"], CONFIG["num_hidden_layers"])
    assert session.model_info()["weights"] == "low-bit"
