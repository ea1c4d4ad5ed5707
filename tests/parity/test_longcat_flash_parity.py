"""LongCat-Flash (transformers' longcat_flash) against transformers: tiny random checkpoints
written here load through load_pretrained and give the same logits in one forward, token by
token through the cache, and prefill then decode. They exercise what LongCat adds to
DeepSeek's MLA and MoE: zero (identity) experts scored with the real ones, the
shortcut-connected MoE whose routed sum joins one ArchScope layer later (after the second
MLA and MLP of the published layer), and the query and KV latents scaled by sqrt(d / rank).

LongCat-Flash-Lite (longcat_flash_ngram) is this model with an N-gram embedding, which
transformers does not have: its trunk is checked here (and its published size against
transformers' meta count), the N-gram embedding in tests/model/test_ngram_embedding.py.
"""

import copy

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

torch = pytest.importorskip("torch")

SEQ_LEN = 11
PREFILL = 6

TINY = {
    # the published form: softmax over real and zero experts, no router bias, untied head
    "published_form": dict(
        model_type="longcat_flash", vocab_size=89, hidden_size=48, num_layers=2, num_attention_heads=3,
        kv_lora_rank=16, q_lora_rank=24, qk_nope_head_dim=8, qk_rope_head_dim=4, head_dim=4, v_head_dim=6,
        ffn_hidden_size=40, expert_ffn_hidden_size=12, n_routed_experts=6, zero_expert_num=3, moe_topk=3,
        routed_scaling_factor=2.5, rope_theta=10000.0, max_position_embeddings=64, rms_norm_eps=1e-5,
        tie_word_embeddings=False),
    # as many zero slots as real experts, a tied head, three published layers (no router_bias:
    # Meituan's and transformers' routers ignore the classifier's bias, and the converter
    # refuses a config that has one)
    "tied_three_layers": dict(
        model_type="longcat_flash", vocab_size=71, hidden_size=40, num_layers=3, num_attention_heads=2,
        kv_lora_rank=12, q_lora_rank=20, qk_nope_head_dim=6, qk_rope_head_dim=4, head_dim=4, v_head_dim=8,
        ffn_hidden_size=36, expert_ffn_hidden_size=10, n_routed_experts=4, zero_expert_num=4, moe_topk=2,
        routed_scaling_factor=6.0, rope_theta=50000.0, max_position_embeddings=64,
        rms_norm_eps=1e-6, tie_word_embeddings=True),
}

checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def _drift(model, reference, input_ids) -> float:
    with torch.no_grad():
        return (model(input_ids) - reference_logits(reference, input_ids)).abs().max().item()


def _moe_blocks(model):
    return [block for block in model.layers if block.ffn_shortcut]


def test_the_zero_experts_are_routed_to_and_are_identities(pair):
    """The tokens of this sequence choose zero slots (the check would be idle otherwise), and
    running those slots as real experts instead (each index folded onto a real one) leaves
    the tolerance: the identity is what matches."""
    reference, ours, input_ids = pair
    chosen = []

    def record(module, inputs, output):
        chosen.append(output[0])

    hooks = [block.ffn.router.register_forward_hook(record) for block in _moe_blocks(ours)]
    with torch.no_grad():
        ours(input_ids)
    for hook in hooks:
        hook.remove()
    experts = _moe_blocks(ours)[0].ffn.spec.num_experts
    assert any((indices >= experts).any() for indices in chosen)

    as_real = copy.deepcopy(ours)
    for block in _moe_blocks(as_real):
        router = block.ffn.router
        real = block.ffn.spec.num_experts
        router.register_forward_hook(lambda module, inputs, output, real=real: (output[0] % real, output[1]))
    assert _drift(as_real, reference, input_ids) > 20 * TOLERANCE


def test_the_shortcut_joins_one_layer_later(pair):
    """The routed sum added in its own layer, as an ordinary MoE's, leaves the tolerance."""
    reference, ours, input_ids = pair
    immediate = copy.deepcopy(ours)
    for block in _moe_blocks(immediate):
        block.ffn_shortcut = False
    assert _drift(immediate, reference, input_ids) > 20 * TOLERANCE


def test_the_latent_scaling_is_applied(pair):
    reference, ours, input_ids = pair
    unscaled = copy.deepcopy(ours)
    for block in unscaled.layers:
        block.mixer.query_scale = block.mixer.latent_scale = 1.0
    assert _drift(unscaled, reference, input_ids) > 20 * TOLERANCE


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint: both MLAs and MLPs of each published layer,
    the per-expert tensors, the router's classifier and its correction bias -- and the
    gate/up tensors transformers writes for the zero experts, which no forward reads."""
    from app.weights.names_longcat import transformers_zero_expert_names
    from app.weights.names_moe import router_bias_buffers

    _, directory, config = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(
        directory, lambda spec: router_bias_buffers(spec) + transformers_zero_expert_names(spec))
    dead = config["n_routed_experts"]
    assert f"model.layers.0.mlp.experts.{dead}.gate_proj.weight" in stored
    assert f"model.layers.0.mlp.experts.{dead}.down_proj.weight" not in stored


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Two MLA latent caches per published layer, as transformers numbers them (2i, 2i+1)."""
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def transformers_dead_zero_expert_params(config: dict) -> int:
    """transformers 5.18 allocates its fused gate_up_proj for the real and the zero experts
    (down_proj for the real ones only): num_layers x zero x 2 x I x d parameters that no
    forward reads and ArchScope does not count."""
    return (config["num_layers"] * (config.get("zero_expert_num") or 0) * 2 * config["expert_ffn_hidden_size"]
            * config["hidden_size"])


def _meta_count(config: dict) -> int:
    import transformers

    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**config))
    return sum(parameter.numel() for parameter in model.parameters())


@pytest.mark.parametrize("name", sorted(TINY))
def test_the_analysis_counts_transformers_parameters_but_the_dead_zero_experts(name):
    from app.spec.analysis import analyze
    from app.spec.hf import spec_from_hf_config

    config = TINY[name]
    assert analyze(spec_from_hf_config(config)).total_params == \
        _meta_count(config) - transformers_dead_zero_expert_params(config)


def test_the_lite_trunk_equals_transformers_at_the_published_size():
    """LongCat-Flash-Lite as published, less its N-gram embedding (transformers has none):
    the analysis of the trunk equals transformers' longcat_flash meta count of the same
    config, the dead zero-expert tensors aside; the N-gram part is what the analysis adds."""
    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.spec.catalog.deepseek import LONGCAT_FLASH_LITE
    from app.spec.hf import hf_config_from_spec, spec_from_hf_config

    trunk = {key: value for key, value in LONGCAT_FLASH_LITE.items()
             if key not in ("emb_neighbor_num", "emb_split_num", "ngram_vocab_size_ratio")}
    trunk["model_type"] = "longcat_flash"
    config = hf_config_from_spec(spec_from_hf_config(trunk))
    lite = analyze(spec_from_hf_config(LONGCAT_FLASH_LITE))
    trunk_analysis = analyze(spec_from_hf_config(trunk))
    assert trunk_analysis.total_params == _meta_count(config) - transformers_dead_zero_expert_params(config)
    assert lite.total_params - trunk_analysis.total_params == \
        lite.ngram_table_params + lite.ngram_projection_params
    assert "longcat-flash-lite" not in catalog.names() or \
        analyze(catalog.get("longcat-flash-lite")).total_params == lite.total_params
