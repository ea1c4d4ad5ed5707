"""GGUF files written the way llama.cpp's converter writes them (its metadata keys, its
tensor names, Q8_0 and F16 tensors beside F32) from tiny random transformers models: the
architectures no embedded model covers (Qwen2 with its q/k/v biases, Qwen3 with QK-norm
and a head_dim of its own, Qwen3 MoE with its experts stacked in one tensor per matrix)
load and give transformers' logits for the very same file."""

import numpy as np
import pytest
import torch
from gguf import MODEL_ARCH, GGMLQuantizationType, GGUFWriter, get_tensor_name_map
from gguf.quants import quantize

from app.weights import load_pretrained
from tests.parity.reference import TOLERANCE, perturb
from tests.weights.tiny_gguf import write_header

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # transformers reads GGUF only with it

CONFIGS = {
    # Qwen2: head_dim is d_model / heads; q/k/v carry biases, the output projection none.
    "qwen2": dict(model_type="qwen2", vocab_size=160, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
                  rope_theta=10_000.0, tie_word_embeddings=False),
    # Qwen3: transformers' GGUF reader takes head_dim from Qwen3Config's default (128),
    # not from the file, so the tiny model keeps that head_dim (wider than d_model / heads).
    "qwen3": dict(model_type="qwen3", vocab_size=160, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=1, head_dim=128, max_position_embeddings=256,
                  rms_norm_eps=1e-6, rope_theta=1_000_000.0, tie_word_embeddings=True),
    # Qwen3 MoE (Qwen3-30B-A3B's layout): every layer routed, top-k weights renormalized.
    "qwen3_moe": dict(model_type="qwen3_moe", vocab_size=160, hidden_size=64, intermediate_size=96,
                      moe_intermediate_size=32, num_experts=6, num_experts_per_tok=2, norm_topk_prob=True,
                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=128,
                      max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1_000_000.0,
                      tie_word_embeddings=False),
}
ARCHS = {"qwen2": MODEL_ARCH.QWEN2, "qwen3": MODEL_ARCH.QWEN3, "qwen3_moe": MODEL_ARCH.QWEN3MOE}
GGUF_ARCH_NAMES = {"qwen3_moe": "qwen3moe"}  # llama.cpp's name where it is not transformers'


def expert_tensors(name: str, tensor: torch.Tensor, config: dict) -> dict[str, torch.Tensor]:
    """transformers holds a layer's experts fused (gate_up_proj [E, 2 x ff, d], gate first);
    llama.cpp's files hold gate, up and down each stacked [E, out, in]."""
    if name.endswith("experts.gate_up_proj"):
        width = config["moe_intermediate_size"]
        return {name.replace("gate_up_proj", "gate_proj"): tensor[:, :width],
                name.replace("gate_up_proj", "up_proj"): tensor[:, width:]}
    return {name: tensor}


def write_like_llama_cpp(model, config: dict, path, sized_by_tensors: bool = False) -> None:
    """Metadata under "<arch>.", tensors under llama.cpp's names (neither family's q/k rows
    are permuted); matrices as Q8_0, the embedding as F16, norms and biases as F32.
    sized_by_tensors: leave out the fields the expert tensors' shapes also give."""
    arch = GGUF_ARCH_NAMES.get(config["model_type"], config["model_type"])
    writer = GGUFWriter(str(path), arch)
    write_header(writer, config, sized_by_tensors)
    names = get_tensor_name_map(ARCHS[config["model_type"]], config["num_hidden_layers"])
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensors |= expert_tensors(name, tensor, config)
    for name, tensor in tensors.items():
        if name == "lm_head.weight" and config["tie_word_embeddings"]:
            continue
        theirs = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if not theirs.endswith((".weight", ".bias")):  # a stacked expert tensor: named without a suffix
            theirs += ".weight"
        values = tensor.detach().float().numpy()
        if theirs == "token_embd.weight":
            writer.add_tensor(theirs, values.astype(np.float16))
        elif values.ndim == 2:
            writer.add_tensor(theirs, quantize(values, GGMLQuantizationType.Q8_0), raw_dtype=GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(theirs, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def pair(request, tmp_path_factory):
    """(config, our model, transformers' model), both read from the same GGUF file."""
    config = CONFIGS[request.param]
    torch.manual_seed(0)
    source = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**config))
    perturb(source)
    folder = tmp_path_factory.mktemp(request.param)
    write_like_llama_cpp(source, config, folder / "tiny.gguf")
    ours = load_pretrained(folder / "tiny.gguf", weights="dequantize")
    theirs = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file="tiny.gguf", dtype=torch.float32)
    return config, ours, theirs.eval()


def test_spec_read_from_gguf_metadata(pair):
    config, ours, theirs = pair
    spec = ours.spec
    attention = spec.layers[0].mixer
    assert spec.model_type == config["model_type"] and spec.num_layers == config["num_hidden_layers"]
    assert attention.head_dim == config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])
    assert (attention.num_heads, attention.num_kv_heads) == (config["num_attention_heads"],
                                                              config["num_key_value_heads"])
    assert attention.qkv_bias == (config["model_type"] == "qwen2") and not attention.out_bias
    assert (attention.qk_norm is not None) == (config["model_type"] in ("qwen3", "qwen3_moe"))
    assert spec.tie_embeddings == config["tie_word_embeddings"]
    assert ours.model.spec.layers[0].mixer.rope.theta == config["rope_theta"]
    # the same dequantized numbers on both sides: Q8_0 matrices, an F16 embedding
    assert torch.equal(ours.model.layers[1].mixer.q_proj.weight, theirs.model.layers[1].self_attn.q_proj.weight)
    assert torch.equal(ours.model.embed_tokens.weight, theirs.model.embed_tokens.weight)
    if "num_experts" in config:  # every layer routed, the experts read whole from their stacked tensors
        assert all(layer.ffn.kind == "moe" for layer in spec.layers)
        moe = spec.layers[0].ffn
        assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size) == (6, 2, 32)
        width = config["moe_intermediate_size"]
        gate_up = theirs.model.layers[1].mlp.experts.gate_up_proj
        assert torch.equal(ours.model.layers[1].ffn.experts.gate_proj, gate_up[:, :width])
        assert torch.equal(ours.model.layers[1].ffn.experts.up_proj, gate_up[:, width:])


def test_logits_match_transformers_in_one_forward_and_through_the_cache(pair):
    config, ours, theirs = pair
    input_ids = torch.randint(0, config["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = theirs(input_ids=input_ids, use_cache=False).logits
        torch.testing.assert_close(ours.model(input_ids), reference, atol=TOLERANCE, rtol=0)
        cache = ours.model.new_cache(batch=2, max_len=12)
        prefill = ours.model(input_ids[:, :5], cache=cache)
        steps = [ours.model(input_ids[:, i:i + 1], cache=cache) for i in range(5, 12)]
    torch.testing.assert_close(torch.cat([prefill, *steps], dim=1), reference, atol=TOLERANCE, rtol=0)


def test_a_qwen3_moe_file_without_the_expert_sizes_takes_them_from_its_tensors(tmp_path):
    config = CONFIGS["qwen3_moe"]
    torch.manual_seed(0)
    source = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**config))
    write_like_llama_cpp(source, config, tmp_path / "full.gguf")
    write_like_llama_cpp(source, config, tmp_path / "lean.gguf", sized_by_tensors=True)
    full, lean = load_pretrained(tmp_path / "full.gguf"), load_pretrained(tmp_path / "lean.gguf")
    moe = lean.spec.layers[0].ffn
    assert (moe.num_experts, moe.expert.intermediate_size) == (6, 32)
    input_ids = torch.randint(0, config["vocab_size"], (1, 9), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(lean.model(input_ids), full.model(input_ids), atol=0, rtol=0)
