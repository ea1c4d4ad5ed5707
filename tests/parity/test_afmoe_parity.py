"""AFMoE (Arcee's Trinity) against transformers: tiny random checkpoints written here load
through load_pretrained and give the same logits in one forward, token by token through the
cache, and prefill then decode -- with sliding-window layers under RoPE beside global layers
without it (NoPE), per-head QK-norm, a sigmoid output gate per channel from a projection of
its own, RMSNorms before and after both sublayers, dense first layers, then a sigmoid router
with a selection-only expert bias (the chosen scores normalized, times route_scale) beside a
shared MLP, and the embeddings times sqrt(hidden_size) (mup_enabled).

The configs cover the published form (3:1 from global_attn_every_n_layers, dense first layers,
one shared expert, route_scale 2.826, muP) and the other settings the format holds (an
explicit layer_types list, two shared experts, attention biases, no muP, a tied head); the
sequences run past the window, so the sliding layers drop keys.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    assert_every_checkpoint_tensor_is_used,
    assert_cache_holds_what_the_analysis_counts,
    assert_prefill_then_decode_matches,
    reference_logits,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 6
_S, _F = "sliding_attention", "full_attention"

TINY = {
    "published_form": dict(
        model_type="afmoe", vocab_size=97, hidden_size=48, intermediate_size=72, moe_intermediate_size=16,
        num_hidden_layers=5, num_dense_layers=2, num_attention_heads=6, num_key_value_heads=2, head_dim=16,
        global_attn_every_n_layers=4, sliding_window=4, num_experts=8, num_experts_per_tok=3, num_shared_experts=1,
        route_scale=2.826, mup_enabled=True, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        rms_norm_eps=1e-5, tie_word_embeddings=False, max_position_embeddings=64),
    "listed_layers_two_shared": dict(
        model_type="afmoe", vocab_size=83, hidden_size=32, intermediate_size=40, moe_intermediate_size=12,
        num_hidden_layers=4, num_dense_layers=1, num_attention_heads=4, num_key_value_heads=1, head_dim=8,
        layer_types=[_F, _S, _F, _S], sliding_window=3, attention_bias=True, num_experts=6, num_experts_per_tok=2,
        num_shared_experts=2, route_scale=1.0, mup_enabled=False,
        rope_parameters={"rope_type": "default", "rope_theta": 20000.0},
        rms_norm_eps=1e-6, tie_word_embeddings=True, max_position_embeddings=64),
}


def _sharpen(reference, name):
    """transformers starts the router at zero and the expert bias at zero: draw both large
    enough that the bias changes which experts win."""
    import torch

    for layer in reference.model.layers:
        if hasattr(layer.mlp, "expert_bias"):
            layer.mlp.router.gate.weight.copy_(torch.randn_like(layer.mlp.router.gate.weight) * 0.5)
            layer.mlp.expert_bias.copy_(torch.randn_like(layer.mlp.expert_bias) * 0.5)


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen=_sharpen)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_the_spec_follows_the_config(pair, checkpoint):
    """Global layers have no RoPE, sliding ones do; the dense layers come first; every layer
    sandwiched and gated; the analysis counts each layer as built."""
    from app.spec.analysis import analyze

    reference, ours, _ = pair
    _, _, config = checkpoint
    spec = ours.spec
    assert [layer.mixer.rope is None for layer in spec.layers] == [
        kind == _F for kind in reference.config.layer_types]
    assert [layer.ffn_kind for layer in spec.layers] == [
        "mlp" if i < config["num_dense_layers"] else "moe" for i in range(config["num_hidden_layers"])]
    assert {(layer.norm_placement, layer.mixer.sigmoid_gate) for layer in spec.layers} == {("sandwich", "element")}
    for row, block in zip(analyze(spec).layers, ours.layers):
        assert row.params == sum(p.numel() for p in block.parameters())


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint: the gate projections, the four norms of a
    layer, the per-expert tensors, the shared MLP, the router and its expert bias."""
    from app.weights.names_moe import router_bias_buffers

    _, directory, _ = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(directory, router_bias_buffers)
    assert any(".self_attn.gate_proj." in name for name in stored)
    assert any(".post_mlp_layernorm." in name for name in stored)


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Sliding layers stop at their window, global ones keep every token."""
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def _drift(pair, edit) -> float:
    import copy

    import torch

    reference, ours, input_ids = pair
    edited = copy.deepcopy(ours)
    edit(edited)
    with torch.no_grad():
        return (edited(input_ids) - reference_logits(reference, input_ids)).abs().max().item()


def test_without_the_sigmoid_gate_the_logits_leave_the_tolerance(pair):
    def ungate(model):
        for block in model.layers:
            block.mixer.g_proj = None

    assert _drift(pair, ungate) > 20 * TOLERANCE


def test_with_rope_on_the_global_layers_the_logits_leave_the_tolerance(pair):
    """NoPE on the global layers matters: the sliding layers' rope given to them moves the
    logits."""
    from dataclasses import replace

    def rotate_globals(model):
        rope = next(block.mixer.spec.rope for block in model.layers if block.mixer.spec.rope is not None)
        for block in model.layers:
            if block.mixer.spec.rope is None:
                block.mixer.spec = replace(block.mixer.spec, rope=rope)

    assert _drift(pair, rotate_globals) > 20 * TOLERANCE


def test_without_the_norms_after_the_sublayers_the_logits_leave_the_tolerance(pair):
    import torch

    def unsandwich(model):
        for block in model.layers:
            block.post_mixer_norm, block.post_ffn_norm = torch.nn.Identity(), torch.nn.Identity()

    assert _drift(pair, unsandwich) > 20 * TOLERANCE


@pytest.mark.parametrize("name", ["trinity-large"])
def test_the_published_config_converts_both_ways(name):
    """spec from the catalog's config.json, and back: every published field the format holds
    comes back as published, and transformers builds the published config with the
    parameters the analysis counts (its frozen expert biases aside)."""
    import torch
    import transformers

    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.spec.hf import hf_config_from_spec, spec_from_hf_config

    published = catalog.entry(name).config
    spec = catalog.get(name)
    written = hf_config_from_spec(spec)
    for key in ("vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size", "num_hidden_layers",
                "num_dense_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps",
                "max_position_embeddings", "tie_word_embeddings", "sliding_window", "global_attn_every_n_layers",
                "num_experts", "num_experts_per_tok", "num_shared_experts", "route_scale", "mup_enabled",
                "score_func", "route_norm", "hidden_act"):
        assert written[key] == published[key], key
    assert written["rope_parameters"]["rope_theta"] == published["rope_theta"]
    assert spec_from_hf_config(written) == spec
    config = transformers.AutoConfig.for_model(**published)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert analyze(spec).total_params == trained
    assert [layer.self_attn.is_local_attention for layer in model.model.layers] == [
        layer.mixer.is_local for layer in spec.layers]
