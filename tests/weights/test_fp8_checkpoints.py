"""FP8 block-scaled checkpoints (DeepSeek V3's published format) load dequantized: each
float8_e4m3fn weight times its block's `_scale_inv`, the edge blocks partial. A tiny
DeepSeek V3 is quantized here block by block, and its load is checked against a float32
checkpoint of the dequantized values (computed by a plain loop over blocks, apart from
the app's code) and against transformers' own dequantizing load."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.weights import WeightsError, load_pretrained

from ..parity.reference import reference_logits, save_reference, transformers

E4M3_MAX = 448.0
FP8_CONFIG = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}

# Sides past 128 that are not multiples of it (200, 300, 136, 132), so blocks are cut at
# the right and bottom edges: q_b_proj [96, 136], kv_b_proj [132, 40], the dense MLP
# [300, 200], the experts [72, 200].
ODD = dict(model_type="deepseek_v3", vocab_size=61, hidden_size=200, intermediate_size=300,
           moe_intermediate_size=72, num_hidden_layers=2, num_attention_heads=3, num_key_value_heads=3,
           kv_lora_rank=40, q_lora_rank=136, qk_rope_head_dim=8, qk_nope_head_dim=24, v_head_dim=20,
           n_routed_experts=4, num_experts_per_tok=2, n_shared_experts=1, n_group=2, topk_group=1,
           first_k_dense_replace=1, max_position_embeddings=32)
# transformers 5.18 derives the block from the scale grid (rows // scale rows), which is
# right only where a side is a multiple of the block or fits in one: this model keeps to that.
ALIGNED = dict(ODD, hidden_size=256, intermediate_size=384, moe_intermediate_size=128, num_attention_heads=2,
               num_key_value_heads=2, kv_lora_rank=112, q_lora_rank=128, qk_rope_head_dim=16,
               qk_nope_head_dim=48, v_head_dim=16)


def quantized(name: str, tensor: torch.Tensor) -> bool:
    """What DeepSeek V3 publishes in FP8: the layers' linear weights, not the router."""
    return name.startswith("model.layers.") and name.endswith(".weight") and tensor.dim() == 2 \
        and not name.endswith("mlp.gate.weight")


def blocks_of(rows: int, columns: int, block):
    for i, top in enumerate(range(0, rows, block[0])):
        for j, left in enumerate(range(0, columns, block[1])):
            yield i, j, slice(top, top + block[0]), slice(left, left + block[1])


def quantize(weight: torch.Tensor, block):
    """(float8_e4m3fn weight, float32 scale_inv): each block scaled onto E4M3's range."""
    rows, columns = weight.shape
    scale_inv = torch.empty(-(-rows // block[0]), -(-columns // block[1]))
    fp8 = torch.empty(rows, columns, dtype=torch.float8_e4m3fn)
    for i, j, down, across in blocks_of(rows, columns, block):
        scale_inv[i, j] = weight[down, across].abs().max() / E4M3_MAX
        fp8[down, across] = (weight[down, across] / scale_inv[i, j]).to(torch.float8_e4m3fn)
    return fp8, scale_inv


def dequantized(fp8: torch.Tensor, scale_inv: torch.Tensor, block) -> torch.Tensor:
    weight = fp8.float()
    for i, j, down, across in blocks_of(*fp8.shape, block):
        weight[down, across] *= scale_inv[i, j]
    return weight


def write(directory, config: dict, tensors: dict):
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    save_file(tensors, directory / "model.safetensors")
    return directory


def fp8_pair(tmp_path, model_config: dict, block):
    """(FP8 directory, float32 directory of the same values dequantized, count of FP8 tensors)."""
    reference = save_reference(model_config, tmp_path / "reference")
    config = json.loads((tmp_path / "reference" / "config.json").read_text())
    fp8_tensors, float_tensors = {}, {}
    for name, tensor in load_file(tmp_path / "reference" / "model.safetensors").items():
        if quantized(name, tensor):
            fp8_tensors[name], fp8_tensors[name + "_scale_inv"] = quantize(tensor, block)
            float_tensors[name] = dequantized(fp8_tensors[name], fp8_tensors[name + "_scale_inv"], block)
        else:
            fp8_tensors[name] = float_tensors[name] = tensor
    count = sum(name.endswith("_scale_inv") for name in fp8_tensors)
    fp8_dir = write(tmp_path / "fp8", dict(config, quantization_config=dict(FP8_CONFIG, weight_block_size=block)),
                    fp8_tensors)
    return fp8_dir, write(tmp_path / "float32", config, float_tensors), count, reference


IDS = torch.randint(0, ODD["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("block", [[128, 128], [16, 48]], ids=["128x128", "16x48"])
def test_an_fp8_checkpoint_loads_as_its_dequantized_values(tmp_path, block):
    fp8_dir, float_dir, count, _ = fp8_pair(tmp_path, ODD, block)
    loaded, plain = load_pretrained(fp8_dir), load_pretrained(float_dir)
    assert loaded.notes == [f"dequantized {count} FP8 tensors ({block[0]}x{block[1]} blocks) to float32"]
    assert plain.notes == []
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(IDS), plain.model(IDS), atol=1e-6, rtol=0)
    # Into a bfloat16 run: the same values, rounded once.
    as_bf16 = load_pretrained(fp8_dir, dtype=torch.bfloat16)
    plain_bf16 = load_pretrained(float_dir, dtype=torch.bfloat16)
    assert as_bf16.notes[0].endswith("to bfloat16")
    for (name, ours), theirs in zip(as_bf16.model.state_dict().items(), plain_bf16.model.state_dict().values()):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), name


def test_an_fp8_checkpoint_matches_transformers_dequantizing_load(tmp_path):
    fp8_dir, _, _, _ = fp8_pair(tmp_path, ALIGNED, [128, 128])
    reference = transformers.AutoModelForCausalLM.from_pretrained(
        fp8_dir, quantization_config=transformers.FineGrainedFP8Config(dequantize=True), dtype=torch.float32,
        attn_implementation="eager")
    with torch.no_grad():
        torch.testing.assert_close(load_pretrained(fp8_dir).model(IDS), reference_logits(reference.eval(), IDS),
                                   atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def small_fp8(tmp_path_factory):
    """An FP8 checkpoint's config and tensors to break, one way per test."""
    directory = tmp_path_factory.mktemp("fp8")
    fp8_dir, _, _, _ = fp8_pair(directory, dict(ODD, hidden_size=40, intermediate_size=56, moe_intermediate_size=24,
                                                q_lora_rank=28, kv_lora_rank=20), [16, 16])
    return json.loads((fp8_dir / "config.json").read_text()), load_file(fp8_dir / "model.safetensors")


WEIGHT = "model.layers.0.self_attn.q_a_proj.weight"  # [28, 40]: a 2x3 grid of 16x16 blocks


@pytest.mark.parametrize("change, message", [
    ({"quant_method": "awq"}, r"config\.json: quantization_config\.quant_method is 'awq'; expected one of 'fp8', "
                              r"'mxfp4'"),
    ({"weight_block_size": [128]}, r"config\.json: quantization_config\.weight_block_size is \[128\]"),
    ({"weight_block_size": None}, r"quantization_config\.weight_block_size is None; .*per-tensor FP8 is not"),
    ({"fmt": "e5m2"}, r"config\.json: quantization_config\.fmt is 'e5m2'; expected 'e4m3'"),
    ({"activation_scheme": "static"}, r"quantization_config\.activation_scheme is 'static'"),
], ids=["quant_method", "block-size", "per-tensor", "fmt", "activation-scheme"])
def test_a_quantization_config_it_does_not_know_is_refused_naming_the_field(tmp_path, small_fp8, change, message):
    config, tensors = small_fp8
    write(tmp_path, dict(config, quantization_config=dict(config["quantization_config"], **change)), tensors)
    with pytest.raises(WeightsError, match=message):
        load_pretrained(tmp_path)


def test_scales_without_a_quantization_config_are_refused(tmp_path, small_fp8):
    config, tensors = small_fp8
    write(tmp_path, {key: value for key, value in config.items() if key != "quantization_config"}, tensors)
    with pytest.raises(WeightsError, match=r"config\.json: no quantization_config, but .*model\.safetensors holds "
                                           r"the quantized tensor .*_scale_inv; expected a quantization_config "
                                           r"with quant_method 'fp8'"):
        load_pretrained(tmp_path)


def test_a_missing_or_mis_shaped_scale_is_named(tmp_path, small_fp8):
    config, tensors = small_fp8
    write(tmp_path, config, {name: tensor for name, tensor in tensors.items() if name != WEIGHT + "_scale_inv"})
    with pytest.raises(WeightsError, match=rf"tensor {WEIGHT} is float8_e4m3fn but the checkpoint has no "
                                           rf"{WEIGHT}_scale_inv; expected one scale per 16x16 block"):
        load_pretrained(tmp_path)
    write(tmp_path, config, dict(tensors, **{WEIGHT + "_scale_inv": torch.ones(3, 2)}))
    with pytest.raises(WeightsError, match=rf"tensor {WEIGHT}_scale_inv has shape \[3, 2\], expected \[2, 3\] "
                                           rf"\(one scale per 16x16 block of {WEIGHT}, shape \[28, 40\]\)"):
        load_pretrained(tmp_path)
