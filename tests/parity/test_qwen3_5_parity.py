"""Qwen3.5 / Qwen3.6 against transformers: tiny random qwen3_5_text (dense) and
qwen3_5_moe_text (MoE) checkpoints load through load_pretrained and give the same logits in
one forward, token by token through the cache (the recurrent form), and prefill then decode
(the chunked form continuing from a cached state, then the recurrent one).

What each tiny config exercises beyond Qwen3-Next's test: the unfused Gated DeltaNet
projections (in_proj_qkv / z / b / a), three value heads per key head (Qwen3.6-27B's
grouping), multimodal RoPE in rope_parameters (mrope_section, interleaved), which must come
out as ordinary partial RoPE for text, the dense variant with tied embeddings, and the MoE
whose router always renormalizes its top-k. The published layout (the decoder under
model.language_model., a vision tower and an MTP layer beside it) is loaded too.

transformers' torch fallback runs the chunked form in chunks of 64, so the sequence is 70
tokens: the prefill and the one forward both span two chunks, the second one partial.
"""

import pytest
import torch

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    assert_one_forward_matches,
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

from app.spec.mixers import GatedDeltaNet  # noqa: E402
from app.weights import load_pretrained  # noqa: E402
from app.weights.name_maps import NAME_MAPS  # noqa: E402

SEQ_LEN = 70
PREFILL = 67

# Shared by both: odd model width, GQA 4:2 with the output gate, head_dim 24 of which a
# quarter (6 channels, 3 rotary pairs) rotates, split 1:1:1 over the mrope axes; the Gated
# DeltaNet with 3 value heads per key head and key and value widths that differ.
COMMON = dict(vocab_size=97, hidden_size=38, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
              head_dim=24, linear_num_key_heads=2, linear_num_value_heads=6, linear_key_head_dim=8,
              linear_value_head_dim=6, linear_conv_kernel_dim=3,
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.25,
                               "mrope_section": [1, 1, 1], "mrope_interleaved": True})
TINY = {
    "dense": dict(COMMON, model_type="qwen3_5_text", intermediate_size=52, tie_word_embeddings=True),
    "moe": dict(COMMON, model_type="qwen3_5_moe_text", num_experts=5, num_experts_per_tok=2,
                moe_intermediate_size=14, shared_expert_intermediate_size=18),
}


@pytest.fixture(scope="module", params=sorted(TINY))
def saved(request, tmp_path_factory):
    config = TINY[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    return save_reference(config, directory), directory, config


@pytest.fixture(scope="module")
def pair(saved):
    reference, directory, config = saved
    return reference_pair(reference, directory, config["vocab_size"], SEQ_LEN)


def test_the_tiny_configs_have_the_layer_kinds_they_stand_for(pair, saved):
    _, ours, _ = pair
    ffn = "moe" if saved[2]["model_type"] == "qwen3_5_moe_text" else "mlp"
    kinds = [(layer.mixer_kind, layer.ffn_kind) for layer in ours.spec.layers]
    assert kinds == [("gated_deltanet", ffn)] * 3 + [("attention", ffn)]
    attention = ours.spec.layers[3].mixer
    assert attention.output_gate and attention.rope.rotary_dim == 6


def test_every_checkpoint_tensor_is_loaded(saved):
    from safetensors import safe_open

    _, directory, config = saved
    ours = load_pretrained(directory)
    names = [name for name, _ in ours.model.named_parameters()]
    used = set()
    for theirs, _ in NAME_MAPS[config["model_type"]](ours.spec, names).values():
        used.update(theirs if isinstance(theirs, tuple) else (theirs,))
    with safe_open(str(directory / "model.safetensors"), framework="pt") as handle:
        stored = set(handle.keys())
    assert used == stored


def fuse_experts(tensors: dict) -> dict:
    """The experts as transformers 5 holds them and the release stores them: per layer,
    gate_up_proj [E, 2I, d] (gate half first) and down_proj [E, d, I]."""
    fused, layers = {}, set()
    for name, tensor in tensors.items():
        stem, marker, _ = name.partition(".experts.")
        if marker:
            layers.add(stem)
        else:
            fused[name] = tensor
    for stem in layers:
        count = len([name for name in tensors if name.startswith(f"{stem}.experts.") and "down_proj" in name])
        stacked = {leaf: torch.stack([tensors[f"{stem}.experts.{e}.{leaf}.weight"] for e in range(count)])
                   for leaf in ("gate_proj", "up_proj", "down_proj")}
        fused[f"{stem}.experts.gate_up_proj"] = torch.cat([stacked["gate_proj"], stacked["up_proj"]], dim=1)
        fused[f"{stem}.experts.down_proj"] = stacked["down_proj"]
    return fused


def test_the_published_layout_loads(saved, tmp_path):
    """The release's checkpoint: the decoder under model.language_model., its experts fused,
    beside a vision tower and a multi-token-prediction layer that a text decoder leaves unread."""
    import json

    from safetensors.torch import load_file, save_file

    reference, directory, config = saved
    tensors = {name.replace("model.", "model.language_model.", 1): tensor
               for name, tensor in fuse_experts(load_file(directory / "model.safetensors")).items()}
    tensors["model.visual.patch_embed.proj.weight"] = torch.zeros(3, 2)
    tensors["mtp.fc.weight"] = torch.zeros(2, 2)
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    wrapper = "qwen3_5_moe" if config["model_type"] == "qwen3_5_moe_text" else "qwen3_5"
    text_config = json.loads((directory / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": wrapper, "text_config": text_config,
                                                      "vision_config": {"depth": 1}}))
    for extra in directory.iterdir():
        if extra.name not in ("config.json", "model.safetensors"):
            (tmp_path / extra.name).write_bytes(extra.read_bytes())
    ours = load_pretrained(tmp_path).model
    input_ids = torch.randint(0, config["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(2))
    assert_one_forward_matches(reference, ours, input_ids)


def test_the_state_is_what_transformers_caches(pair):
    """The recurrent state and conv window after a prefill hold what transformers' cache
    holds: the same tensors, so the bytes we report are the bytes it keeps."""
    reference, ours, input_ids = pair
    cache = ours.new_cache(batch=2, max_len=SEQ_LEN)
    with torch.no_grad():
        ours(input_ids[:, :PREFILL], cache=cache)
        theirs = reference(input_ids=input_ids[:, :PREFILL], use_cache=True).past_key_values
    for index, layer in enumerate(ours.spec.layers):
        if isinstance(layer.mixer, GatedDeltaNet):
            state = cache.layers[index]
            torch.testing.assert_close(state["conv"], theirs.layers[index].conv_states[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(state["recurrent"], theirs.layers[index].recurrent_states[0], atol=1e-5,
                                       rtol=0)
