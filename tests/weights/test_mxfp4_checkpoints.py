"""gpt-oss's MXFP4 experts load dequantized: `<name>_blocks` (two e2m1 values a byte) and
`<name>_scales` (one E8M0 exponent per 32 values) become the expert tensor. A tiny gpt-oss
is written here with random packed experts, and its load is checked against a float32
checkpoint of the values decoded bit by bit in this file, and against transformers' own
dequantizing load."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.weights import WeightsError, load_pretrained

from ..parity.reference import reference_logits, save_reference, transformers

MXFP4_CONFIG = {"quant_method": "mxfp4",
                "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                           "model.embed_tokens", "lm_head"]}
# Widths that are multiples of 32, the MXFP4 block: hidden 96 (3 blocks per row of
# gate_up_proj), intermediate 64 (2 per row of down_proj).
GPT_OSS = dict(model_type="gpt_oss", vocab_size=89, hidden_size=96, intermediate_size=64, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=2, head_dim=16, num_local_experts=4,
               num_experts_per_tok=2, sliding_window=5, layer_types=["sliding_attention", "full_attention"])
PACKED = ("mlp.experts.gate_up_proj", "mlp.experts.down_proj")
IDS = torch.randint(0, GPT_OSS["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(1))


def e2m1(code: int) -> float:
    """An FP4 code's value from its bits: sign, two exponent bits (bias 1), one mantissa bit."""
    sign, exponent, mantissa = code >> 3, (code >> 1) & 3, code & 1
    magnitude = mantissa * 0.5 if exponent == 0 else 2.0 ** (exponent - 1) * (1 + mantissa / 2)
    return -magnitude if sign else magnitude


def decoded(blocks: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """[E, out, in / 32, 16] bytes and [E, out, in / 32] exponents -> [E, in, out], the layout
    of transformers' gpt-oss experts: each byte's low nibble first, each block times 2 ** (e - 127)."""
    experts, rows, groups, _ = blocks.shape
    values = torch.tensor([e2m1(code) for code in range(16)])
    pairs = torch.stack((values[(blocks % 16).long()], values[(blocks // 16).long()]), dim=-1)
    scaled = pairs.reshape(experts, rows, groups, 32) * torch.pow(2.0, scales.double() - 127).unsqueeze(-1).float()
    return scaled.reshape(experts, rows, groups * 32).transpose(1, 2).contiguous()


def write(directory, config: dict, tensors: dict):
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    save_file(tensors, directory / "model.safetensors")
    return directory


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """(MXFP4 directory, float32 directory of the same experts decoded, their tensors)."""
    root = tmp_path_factory.mktemp("gpt_oss")
    save_reference(GPT_OSS, root / "reference")
    config = json.loads((root / "reference" / "config.json").read_text())
    generator = torch.Generator().manual_seed(0)
    packed, plain = {}, {}
    for name, tensor in load_file(root / "reference" / "model.safetensors").items():
        if name.endswith(PACKED):
            experts, inputs, outputs = tensor.shape
            blocks = torch.randint(0, 256, (experts, outputs, inputs // 32, 16), dtype=torch.uint8, generator=generator)
            # exponents 2^-7 .. 2^-4: weights of the size a trained model's are
            scales = torch.randint(120, 124, (experts, outputs, inputs // 32), dtype=torch.uint8, generator=generator)
            packed[name + "_blocks"], packed[name + "_scales"] = blocks, scales
            plain[name] = decoded(blocks, scales)
            assert plain[name].shape == tensor.shape
        else:
            packed[name] = plain[name] = tensor
    return (write(root / "mxfp4", dict(config, quantization_config=MXFP4_CONFIG), packed),
            write(root / "float32", config, plain), packed)


def test_an_mxfp4_checkpoint_loads_as_its_decoded_values(checkpoints):
    mxfp4_dir, float_dir, _ = checkpoints
    loaded, plain = load_pretrained(mxfp4_dir), load_pretrained(float_dir)
    assert loaded.notes == ["dequantized 4 MXFP4 tensors (32-value blocks) to float32"]  # 2 layers x 2
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(IDS), plain.model(IDS), atol=1e-6, rtol=0)
    # e2m1 times a power of two is exact in bfloat16 too
    as_bf16 = load_pretrained(mxfp4_dir, dtype=torch.bfloat16)
    plain_bf16 = load_pretrained(float_dir, dtype=torch.bfloat16)
    for (name, ours), theirs in zip(as_bf16.model.state_dict().items(), plain_bf16.model.state_dict().values()):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), name


def test_an_mxfp4_checkpoint_matches_transformers_dequantizing_load(checkpoints):
    mxfp4_dir = checkpoints[0]
    reference = transformers.AutoModelForCausalLM.from_pretrained(
        mxfp4_dir, quantization_config=transformers.Mxfp4Config(dequantize=True), dtype=torch.float32,
        attn_implementation="eager")
    # transformers leaves the dequantized experts in bfloat16 (exact, see above); widened
    # so its float32 activations can multiply them
    reference = reference.float().eval()
    with torch.no_grad():
        torch.testing.assert_close(load_pretrained(mxfp4_dir).model(IDS), reference_logits(reference, IDS),
                                   atol=1e-4, rtol=0)


BLOCKS = "model.layers.1.mlp.experts.down_proj_blocks"  # [4, 96, 2, 16]


@pytest.mark.parametrize("change, message", [
    ({BLOCKS: torch.zeros(4, 96, 2, 16, dtype=torch.int8)},
     rf"tensor {BLOCKS} is torch\.int8 with shape \[4, 96, 2, 16\]; expected uint8 \[\.\.\., out, in / 32, 16\]"),
    ({BLOCKS: torch.zeros(4, 96, 4, 8, dtype=torch.uint8)}, rf"tensor {BLOCKS} is torch\.uint8 with shape "
                                                            r"\[4, 96, 4, 8\]; expected uint8"),
    ({BLOCKS.replace("blocks", "scales"): torch.zeros(4, 96, 3, dtype=torch.uint8)},
     r"down_proj_scales is torch\.uint8 with shape \[4, 96, 3\]; expected uint8 \[4, 96, 2\]"),
], ids=["signed-bytes", "block-of-16", "scales-shape"])
def test_malformed_packed_experts_are_named(tmp_path, checkpoints, change, message):
    mxfp4_dir, _, tensors = checkpoints
    write(tmp_path, json.loads((mxfp4_dir / "config.json").read_text()), dict(tensors, **change))
    with pytest.raises(WeightsError, match=message):
        load_pretrained(tmp_path)


def test_packed_experts_need_their_quantization_config(tmp_path, checkpoints):
    mxfp4_dir, _, tensors = checkpoints
    config = json.loads((mxfp4_dir / "config.json").read_text())
    write(tmp_path, dict(config, quantization_config=dict(MXFP4_CONFIG, block_size=16)), tensors)
    with pytest.raises(WeightsError, match=r"config\.json: quantization_config\.block_size is 16; expected 32"):
        load_pretrained(tmp_path)
    del config["quantization_config"]
    write(tmp_path, config, tensors)
    with pytest.raises(WeightsError, match=r"config\.json: no quantization_config, but .* holds the quantized tensor "
                                           r".*_blocks; expected a quantization_config with quant_method 'mxfp4'"):
        load_pretrained(tmp_path)
