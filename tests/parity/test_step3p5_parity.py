"""Step 3.5 (StepFun's Step 3.5 Flash) against transformers' text decoder of that family,
Step3p7TextModel (models/step3p7, model_type step3p5), which has no causal-LM head class: the
reference's final hidden states times our output head are its logits. The weights are copied
from the reference module by module (Step 3.5's checkpoints name their tensors in the release's
own code, so no name map is kept); then logits agree in one forward, token by token through the
cache, and prefill then decode -- with more query heads on the sliding-window layers than on the
global ones over one key/value head count, per-layer RoPE (half the head and theta 5e6 on the
global layers, the whole head and 1e4 on the sliding ones, llama3 scaling on the global ones),
zero-centered (1 + w) RMSNorms and QK-norms, a sigmoid gate per head from its own projection,
dense first layers, then a sigmoid router with a selection-only bias and routed scaling beside a
shared expert.

The configs are written in the published layout (num_attention_groups, attention_other_setting,
moe_layers_enum, per-layer rope_theta and partial_rotary_factors lists); the second pads its
per-layer lists with an MTP layer's entries, as the release does, and scales the global layers'
RoPE. The sequences run past the window, so the sliding layers drop keys.
"""

import pytest

from .reference import TOLERANCE, perturb

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SEQ_LEN = 11
PREFILL = 6
_S, _F = "sliding_attention", "full_attention"

TINY = {
    "published_form": dict(
        model_type="step3p5", vocab_size=97, hidden_size=48, intermediate_size=72, num_hidden_layers=5,
        num_attention_heads=4, num_attention_groups=2, head_dim=16,
        attention_other_setting={"attention_type": _S, "num_attention_heads": 6, "num_attention_groups": 2,
                                 "head_dim": 16},
        layer_types=[_F, _S, _S, _S, _F], sliding_window=4, moe_layers_enum="2,3,4", moe_num_experts=8, moe_top_k=3,
        moe_intermediate_size=16, share_expert_dim=20, moe_router_scaling_factor=3.0,
        rope_theta=[5e6, 1e4, 1e4, 1e4, 5e6], partial_rotary_factors=[0.5, 1.0, 1.0, 1.0, 0.5],
        use_head_wise_attn_gate=True, zero_centered=True, rms_norm_eps=1e-5, tie_word_embeddings=False,
        max_position_embeddings=64),
    "mtp_padded_scaled": dict(
        model_type="step3p5", vocab_size=83, hidden_size=32, intermediate_size=40, num_hidden_layers=4,
        num_nextn_predict_layers=1, num_attention_heads=6, num_attention_groups=3, head_dim=8,
        attention_other_setting={"num_attention_heads": 3},
        layer_types=[_F, _S, _F, _S, _S], sliding_window=3, moe_layers_enum="1,3,4", moe_num_experts=6, moe_top_k=2,
        moe_intermediate_size=12, share_expert_dim=8, moe_router_scaling_factor=1.5,
        rope_theta=[5e6, 1e4, 5e6, 1e4, 1e4], partial_rotary_factors=[0.5, 1.0, 0.5, 1.0, 1.0],
        rope_scaling={"rope_type": "llama3", "factor": 2.0, "original_max_position_embeddings": 16,
                      "low_freq_factor": 1.0, "high_freq_factor": 4.0},
        yarn_only_types=[_F], rms_norm_eps=1e-6, tie_word_embeddings=True, max_position_embeddings=64),
}


def _ours_from(reference, ours) -> None:
    """Copy the reference's weights into our model, name by name; every parameter of ours (and the
    routers' correction biases) is written once."""
    target = dict(ours.named_parameters()) | {name: buffer for name, buffer in ours.named_buffers()
                                               if name.endswith("score_correction_bias")}
    written = set()

    def put(name, tensor):
        assert target[name].shape == tensor.shape, (name, tuple(target[name].shape), tuple(tensor.shape))
        target[name].data.copy_(tensor)
        written.add(name)

    norms = {"input_layernorm": "pre_mixer_norm", "post_attention_layernorm": "pre_ffn_norm"}
    for name, tensor in reference.state_dict().items():
        parts = name.split(".")
        if parts[0] == "embed_tokens":
            put("embed_tokens.weight", tensor)
        elif parts[0] == "norm":
            put("final_norm.weight", tensor)
        elif parts[0] == "layers":
            index, module, rest = parts[1], parts[2], ".".join(parts[3:])
            prefix = f"layers.{index}"
            if module in norms:
                put(f"{prefix}.{norms[module]}.{rest}", tensor)
            elif module == "self_attn":
                put(f"{prefix}.mixer.{rest}", tensor)
            elif rest == "gate.weight":
                put(f"{prefix}.ffn.router.proj.weight", tensor)
            elif rest == "gate.e_score_correction_bias":
                put(f"{prefix}.ffn.router.score_correction_bias", tensor)
            elif rest == "experts.gate_up_proj":
                half = tensor.shape[1] // 2
                put(f"{prefix}.ffn.experts.gate_proj", tensor[:, :half])
                put(f"{prefix}.ffn.experts.up_proj", tensor[:, half:])
            elif rest == "experts.down_proj":
                put(f"{prefix}.ffn.experts.down_proj", tensor)
            elif rest.startswith("shared_experts."):
                put(f"{prefix}.ffn.shared.{rest.removeprefix('shared_experts.')}", tensor)
            else:  # a dense layer's MLP
                put(f"{prefix}.ffn.{rest}", tensor)
    assert set(target) - written <= {"lm_head.weight"}, set(target) - written


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request):
    from transformers.models.step3p7.configuration_step3p7 import Step3p7TextConfig
    from transformers.models.step3p7.modeling_step3p7 import Step3p7TextModel

    from app.model import build_model
    from app.spec.hf import spec_from_hf_config

    config = TINY[request.param]
    torch.manual_seed(0)
    hf_config = Step3p7TextConfig(**{key: value for key, value in config.items() if key != "model_type"})
    hf_config._attn_implementation = "eager"
    hf_config._experts_implementation = "eager"
    reference = Step3p7TextModel(hf_config)
    perturb(reference)
    with torch.no_grad():  # a router bias large enough to change which experts win
        for layer in reference.layers:
            if hasattr(layer.mlp, "gate"):
                layer.mlp.gate.e_score_correction_bias.copy_(torch.randn_like(layer.mlp.gate.e_score_correction_bias))
    reference.eval()
    ours = build_model(spec_from_hf_config(config), seed=1)
    with torch.no_grad():
        _ours_from(reference, ours)
    input_ids = torch.randint(0, config["vocab_size"], (2, SEQ_LEN), generator=torch.Generator().manual_seed(1))
    return reference, ours, input_ids


def _reference_logits(reference, ours, input_ids, cache=None):
    with torch.no_grad():
        hidden = reference(input_ids=input_ids, past_key_values=cache, use_cache=cache is not None).last_hidden_state
        return hidden @ ours.lm_head.weight.T


def _ours(ours, input_ids, cache=None):
    with torch.no_grad():
        return ours(input_ids, cache=cache) if cache is not None else ours(input_ids)


def test_one_forward_matches(pair):
    reference, ours, input_ids = pair
    assert torch.allclose(_ours(ours, input_ids), _reference_logits(reference, ours, input_ids), atol=TOLERANCE)


def test_token_by_token_through_the_cache_matches(pair):
    from transformers import DynamicCache

    reference, ours, input_ids = pair
    theirs_cache, our_cache = DynamicCache(config=reference.config), ours.new_cache(batch=2, max_len=SEQ_LEN)
    for position in range(SEQ_LEN):
        token = input_ids[:, position:position + 1]
        assert torch.allclose(_ours(ours, token, our_cache), _reference_logits(reference, ours, token, theirs_cache),
                              atol=TOLERANCE), position


@pytest.mark.parametrize("prefill", [1, PREFILL])
def test_prefill_then_decode_matches(pair, prefill):
    from transformers import DynamicCache

    reference, ours, input_ids = pair
    theirs_cache, our_cache = DynamicCache(config=reference.config), ours.new_cache(batch=2, max_len=SEQ_LEN)
    prompt = input_ids[:, :prefill]
    assert torch.allclose(_ours(ours, prompt, our_cache), _reference_logits(reference, ours, prompt, theirs_cache),
                          atol=TOLERANCE)
    for position in range(prefill, SEQ_LEN):
        token = input_ids[:, position:position + 1]
        assert torch.allclose(_ours(ours, token, our_cache), _reference_logits(reference, ours, token, theirs_cache),
                              atol=TOLERANCE), position


def test_the_spec_has_the_configs_heads_layer_by_layer(pair):
    from app.spec.analysis import analyze

    reference, ours, _ = pair
    assert [layer.mixer.num_heads for layer in ours.spec.layers] == [
        layer.self_attn.num_heads for layer in reference.layers]
    assert [layer.mixer.gate_projection_width for layer in ours.spec.layers] == [
        layer.self_attn.g_proj.out_features for layer in reference.layers]
    total = sum(p.numel() for p in reference.parameters()) + ours.lm_head.weight.numel() * (
        not ours.spec.tie_embeddings)
    assert analyze(ours.spec).total_params == total


def test_the_cache_holds_what_the_analysis_counts(pair):
    from .reference import assert_cache_holds_what_the_analysis_counts

    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def _drift(pair, edit) -> float:
    import copy

    reference, ours, input_ids = pair
    edited = copy.deepcopy(ours)
    edit(edited)
    return (_ours(edited, input_ids) - _reference_logits(reference, ours, input_ids)).abs().max().item()


def test_a_softplus_gate_in_place_of_the_sigmoid_leaves_the_tolerance(pair):
    from dataclasses import replace

    def softplus(model):
        for block in model.layers:
            block.mixer.spec = replace(block.mixer.spec, sigmoid_gate="", softplus_gate="head")

    assert _drift(pair, softplus) > 20 * TOLERANCE


def test_the_sliding_layers_rope_on_the_global_ones_leaves_the_tolerance(pair):
    """Which RoPE each layer has matters: the sliding layers' full-head rotation on the global
    layers moves the logits."""
    from dataclasses import replace

    def same_rope(model):
        rope = next(block.mixer.spec.rope for block in model.layers if block.mixer.spec.sliding_window)
        for block in model.layers:
            block.mixer.spec = replace(block.mixer.spec, rope=rope)

    assert _drift(pair, same_rope) > 20 * TOLERANCE
