"""A MoE GGUF file's routed experts kept in their low bits (`--weights native`): a tiny Qwen3
MoE file written as llama.cpp writes one (experts stacked in ffn_{gate,up,down}_exps, the
router in F32) runs with its experts as LowBitExperts; the experts hold exactly the
weights gguf-py's dequantizer reads and compute what the expanded experts compute, within
the kernel's 8-bit activations; whole models give the expanded file's logits within its
format's rounding, in one forward and through the cache; memory stays near the file's
size; the fast mode compiles them with every layer timed; routing is still counted."""

import numpy as np
import pytest
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import quantize

from app.model import cpu_kernels
from app.model.experts import RoutedExperts
from app.model.held_bytes import matrix_bytes
from app.model.lowbit_experts import LowBitExperts
from app.weights import load_pretrained
from tests.weights.tiny_gguf import fast_low_bit_decode_steps, tail, write_tiny_gguf

Q = GGMLQuantizationType
pytestmark = pytest.mark.skipif(cpu_kernels.unavailable() is not None,
                                reason=f"low-bit kernel unavailable: {cpu_kernels.unavailable()}")

# Qwen3-30B-A3B's layout at toy widths; widths of 256 so that K-quant blocks fit every input.
CONFIG = dict(model_type="qwen3_moe", vocab_size=512, hidden_size=256, intermediate_size=512,
              moe_intermediate_size=256, num_experts=8, num_experts_per_tok=2, norm_topk_prob=True,
              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=64,
              max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1_000_000.0, tie_word_embeddings=False)
# Formats gguf-py cannot write: random bytes with their float16 scales set (ggml-common.h
# places them) are valid blocks. (byte offset, scale as a share of the float weights' spread)
# for each, chosen so that the weights have about that spread around zero: Q4_K's minimum
# dmin = 7.5 d centres its codes (sub-scales and codes average 31.5 and 7.5).
K_QUANT_SCALES = {Q.Q4_K: ((0, 0.004), (2, 0.03)), Q.Q6_K: ((208, 0.0007),), Q.Q3_K: ((108, 0.024),)}
FILES = {  # name -> the format of each matrix by its GGUF name's tail, else "default"
    "Q8_0": {"default": Q.Q8_0},
    "Q4_0": {"default": Q.Q4_0},
    "Q4_K": {"default": Q.Q4_K},
    # Q4_K_M's mix in its "more bits" layers: gate/up Q4_K, down Q6_K (as attn_v)
    "mixed": {"default": Q.Q4_K, "ffn_down_exps": Q.Q6_K, "attn_v": Q.Q6_K},
    # experts in a format with no low-bit layout (Q3_K_M's): expanded, the rest kept
    "Q3_K experts": {"default": Q.Q4_0, "ffn_gate_exps": Q.Q3_K, "ffn_up_exps": Q.Q3_K, "ffn_down_exps": Q.Q3_K},
}
# Largest |native - expanded| logit over a 12-token forward, as a share of the largest logit
# (the dense files' margin in test_gguf_native.py).
TOLERANCE = 0.03


def blocks(values: np.ndarray, quant: GGMLQuantizationType, seed: int) -> np.ndarray:
    """values quantized where gguf-py can; else random blocks of the same shape, with scales
    that give weights of about the values' spread."""
    if quant not in K_QUANT_SCALES:
        return quantize(values, quant)
    block_values, block_bytes = GGML_QUANT_SIZES[quant]
    rng = np.random.default_rng(seed)
    shape = (*values.shape[:-1], values.shape[-1] // block_values, block_bytes)
    packed = rng.integers(0, 256, shape, dtype=np.uint8)
    spread = rng.uniform(0.5, 1.5, (*shape[:-1], 1)) * float(values.std())
    for offset, share in K_QUANT_SCALES[quant]:
        packed[..., offset:offset + 2] = (share * spread).astype(np.float16).view(np.uint8)
    return packed.reshape(*values.shape[:-1], -1)


def write_tiny_moe(path, matrix_quants: dict[str, GGMLQuantizationType]) -> None:
    def encode(name: str, values: np.ndarray, seed: int):
        if values.ndim == 1 or tail(name) == "ffn_gate_inp":  # norms and the router stay F32, as llama.cpp keeps them
            return None
        quant = matrix_quants.get(tail(name), matrix_quants["default"])
        return blocks(values, quant, seed), quant

    write_tiny_gguf(path, CONFIG, "qwen3moe", encode)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lowbit_experts")
    made = {}
    for name, quants in FILES.items():
        made[name] = folder / f"{name.replace(' ', '_')}.gguf"
        write_tiny_moe(made[name], quants)
    return made


def tokens(batch: int = 2, length: int = 12) -> torch.Tensor:
    return torch.randint(0, CONFIG["vocab_size"], (batch, length), generator=torch.Generator().manual_seed(5))


@pytest.mark.parametrize("name", ["Q8_0", "Q4_0", "Q4_K", "mixed"])
def test_the_experts_hold_the_files_weights_and_compute_what_the_expanded_ones_do(files, name):
    native = load_pretrained(files[name]).model
    expanded = load_pretrained(files[name], weights="dequantize").model
    ours, theirs = native.layers[1].ffn.experts, expanded.layers[1].ffn.experts
    assert isinstance(ours, LowBitExperts) and isinstance(theirs, RoutedExperts)
    for projection in ("gate_proj", "up_proj", "down_proj"):
        reference = getattr(theirs, projection)
        held = getattr(ours, projection).dequantized().reshape(reference.shape)
        torch.testing.assert_close(held, reference, rtol=0, atol=2e-7 * reference.abs().max().item())
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(9, CONFIG["hidden_size"], generator=generator)
    indices = torch.stack([torch.randperm(7, generator=generator)[:2] for _ in range(9)])  # expert 7 never chosen
    weights = torch.rand(9, 2, generator=generator)
    counts = torch.bincount(indices.reshape(-1), minlength=CONFIG["num_experts"])
    with torch.no_grad():
        expected = theirs(inputs, indices, weights, counts)
        got = ours(inputs, indices, weights, counts)
    # each projection rounds its activations to 8 bits: a percent of the largest output, measured with margin
    assert (got - expected).abs().max() <= 0.02 * expected.abs().max()


class RouterScores:
    """Each MoE layer's router scores [batch, tokens, experts] while the model runs: which
    experts each token went to, and how near its choice was to a tie."""

    def __init__(self, model, batch: int):
        self.scores = [[] for _ in model.layers]
        for layer, block in enumerate(model.layers):
            block.ffn.router.register_forward_hook(lambda router, inputs, out, layer=layer: self.scores[layer].append(
                router.scores(inputs[0]).view(batch, -1, CONFIG["num_experts"])))

    def chosen(self) -> torch.Tensor:
        """[layers, batch, tokens, top_k] expert indices, sorted."""
        return torch.stack([torch.cat(calls, dim=1) for calls in self.scores]).topk(
            CONFIG["num_experts_per_tok"], dim=-1).indices.sort(dim=-1).values

    def margins(self) -> torch.Tensor:
        """[layers, batch, tokens]: the last chosen expert's score over the best one left out."""
        best = torch.stack([torch.cat(calls, dim=1) for calls in self.scores]).topk(
            CONFIG["num_experts_per_tok"] + 1, dim=-1).values
        return best[..., -2] - best[..., -1]


def agreeing(first: RouterScores, second: RouterScores) -> torch.Tensor:
    """[batch, tokens]: whether the two runs sent the token to the same experts in every
    layer. Where they did not, the runs' small differences tipped a near-tie (router scores
    within 0.01, measured: 0.0001 at the one token of these files that parts); a token's
    logits can then differ by a whole expert's output, so only agreeing tokens compare."""
    same = (first.chosen() == second.chosen()).all(dim=-1)
    assert (~same).sum() <= 2, "more than a near-tie's share of tokens went to other experts"
    assert (first.margins()[~same] < 0.01).all(), first.margins()[~same]
    return same.all(dim=0)


@pytest.mark.parametrize("name", ["Q8_0", "Q4_0", "Q4_K", "mixed"])
def test_a_native_moe_load_gives_the_expanded_files_logits_in_one_forward_and_through_the_cache(files, name):
    native = load_pretrained(files[name])
    expanded = load_pretrained(files[name], weights="dequantize")
    assert all(isinstance(block.ffn.experts, LowBitExperts) for block in native.model.layers)
    assert native.notes[-1] == "routed experts kept low-bit in 2 of 2 MoE layers" and expanded.notes == []
    ids = tokens()
    theirs, ours = RouterScores(expanded.model, 2), RouterScores(native.model, 2)
    with torch.no_grad():
        reference = expanded.model(ids)
        whole = native.model(ids)
    same = agreeing(theirs, ours)
    assert (whole - reference).abs().amax(-1)[same].max() <= TOLERANCE * reference.abs().max()
    # Through the cache (prefill, then a token at a time) as in one forward, up to rounding:
    # as in test_gguf_native, attention's order of sums moves activations across 8-bit steps.
    cached = RouterScores(native.model, 2)
    cache = native.model.new_cache(batch=2, max_len=12)
    with torch.no_grad():
        steps = [native.model(ids[:, :5], cache=cache)]
        steps += [native.model(ids[:, i:i + 1], cache=cache) for i in range(5, 12)]
    ours.scores = [calls[:1] for calls in ours.scores]  # the one forward's alone
    same = agreeing(ours, cached)
    assert (torch.cat(steps, dim=1) - whole).abs().amax(-1)[same].max() <= 0.01 * whole.abs().max()


def test_the_notes_count_the_stacked_tensors_with_the_other_matrices(files):
    # per layer q, k, v, o and three stacked expert tensors; the embedding and the untied head
    assert load_pretrained(files["Q8_0"]).notes == ["kept low-bit: 16 Q8_0",
                                                    "routed experts kept low-bit in 2 of 2 MoE layers"]
    # Q4_K_M's mix: v and down in Q6_K, each projection its own layout
    mixed = load_pretrained(files["mixed"])
    assert mixed.notes == ["kept low-bit: 12 Q4_K, 4 Q6_K", "routed experts kept low-bit in 2 of 2 MoE layers"]
    experts = mixed.model.layers[0].ffn.experts
    assert (experts.up_proj.bits, experts.down_proj.bits, experts.down_proj.group) == (4, 8, 16)


def test_experts_in_a_format_without_a_layout_are_expanded_and_say_why(files):
    native = load_pretrained(files["Q3_K experts"])
    assert native.notes == ["kept low-bit: 10 Q4_0",
                            "routed experts expanded to floats in 2 of 2 MoE layers: no low-bit layout for Q3_K"]
    assert isinstance(native.model.layers[0].ffn.experts, RoutedExperts)
    expanded = load_pretrained(files["Q3_K experts"], weights="dequantize")
    ids = tokens(1)
    with torch.no_grad():
        reference = expanded.model(ids)
        assert (native.model(ids) - reference).abs().max() <= TOLERANCE * reference.abs().max()


def test_low_bit_experts_hold_about_the_files_bytes_and_the_roofline_counts_them_so(files):
    # Q4_0 and Q8_0 keep the file's float16 scales: about its bytes. The K-quants' group scales
    # are products (d times a 6- or 8-bit sub-scale) held in float32 to stay exact: Q4_K's 4.5
    # bits a weight take 6, Q6_K's 6.56 take 10 (1.33x and 1.52x); Q4_K_M's mix here 1.40x.
    for name, bound in (("Q4_0", 1.3), ("Q8_0", 1.3), ("mixed", 1.45)):
        model = load_pretrained(files[name]).model
        held = sum(t.nbytes for t in {id(t): t for t in (*model.parameters(), *model.buffers())}.values())
        assert held <= bound * files[name].stat().st_size
    model = load_pretrained(files["Q4_0"]).model
    experts = model.layers[0].ffn.experts
    expert_weights = 3 * CONFIG["num_experts"] * CONFIG["moe_intermediate_size"] * CONFIG["hidden_size"]
    assert experts.weight_bytes() == expert_weights * (0.5 + 2 * 2 / 32)  # 4-bit codes, float16 scale and offset per 32
    # the feed-forward's bytes per weight: the low-bit experts and the float32 router, by weight count
    router = CONFIG["num_experts"] * CONFIG["hidden_size"]
    expected = (experts.weight_bytes() + 4 * router) / (expert_weights + router)
    assert matrix_bytes(model).ffn == pytest.approx((expected, expected))


def test_routing_is_counted_with_low_bit_experts(files):
    model = load_pretrained(files["Q4_K"]).model
    model.record_routing(True)
    with torch.no_grad():
        model(tokens(2, 6))
    counts = model.take_routing_counts()
    model.record_routing(False)
    assert sorted(counts) == [0, 1]
    assert all(sum(row) == 2 * 6 * CONFIG["num_experts_per_tok"] for row in counts.values())


def test_the_fast_mode_compiles_low_bit_experts_in_the_step_with_every_layer_timed(files):
    """The experts' loop over experts in use is an operator with a shape rule: the compiled
    step has no graph break at the MoE layers, each layer is timed, and routing is counted."""
    _, decode = fast_low_bit_decode_steps(files["mixed"], CONFIG["num_hidden_layers"])
    assert all(sum(step.routing["1"]) == CONFIG["num_experts_per_tok"] for step in decode)
