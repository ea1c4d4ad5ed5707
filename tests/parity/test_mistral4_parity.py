"""Mistral Small 4 (mistral4) against transformers: MLA and DeepSeek's MoE with a softmax
router (no score-correction bias; group-limited top-k here, one group in the release) and
queries scaled by position past the YaRN original length (Llama 4's 1 + beta log(1 +
floor(p / original))). Tiny random checkpoints, saved by transformers with its experts fused,
load through load_pretrained and give the same logits in one forward, token by token through
the latent cache, and prefill then decode."""

from dataclasses import replace

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    perturb,
    reference_logits,
    reference_pair,
    torch,
    transformers,
)

from app.spec.hf import hf_config_from_spec, spec_from_hf_config  # noqa: E402

SEQ_LEN = 13  # past the original length below three times: the query scale steps up at 4, 8 and 12
PREFILL = 6

YARN = dict(type="yarn", rope_theta=10000.0, factor=8.0, original_max_position_embeddings=4, beta_fast=8.0,
            beta_slow=1.0, mscale=0.9, mscale_all_dim=0.7, llama_4_scaling_beta=0.5)
BASE = dict(model_type="mistral4", vocab_size=61, hidden_size=40, intermediate_size=56, moe_intermediate_size=24,
            num_hidden_layers=3, num_attention_heads=3, num_key_value_heads=3, kv_lora_rank=20, q_lora_rank=28,
            qk_rope_head_dim=8, qk_nope_head_dim=12, v_head_dim=10, n_routed_experts=8, num_experts_per_tok=3,
            n_shared_experts=1, n_group=4, topk_group=2, routed_scaling_factor=2.5, first_k_dense_replace=1,
            max_position_embeddings=32, rope_parameters=YARN)
TINY = {
    # a query latent, YaRN with mscale_all_dim, interleaved rope, softmax routing in 4 groups (keep 2)
    "mistral4": BASE,
    # uncompressed queries, half-split rope, another YaRN and scale, one group, two shared experts,
    # every layer an MoE. (Not a plain rope: transformers' mistral4 then turns the whole query head,
    # not its qk_rope_head_dim channels, and fails on its own shapes.)
    "mistral4-plain-query": dict(BASE, q_lora_rank=None, rope_interleave=False, n_group=1, topk_group=1,
                                 n_shared_experts=2, first_k_dense_replace=0, routed_scaling_factor=1.0,
                                 rope_parameters=dict(YARN, rope_theta=500.0, factor=4.0, mscale=1.0,
                                                      mscale_all_dim=1.0, original_max_position_embeddings=3,
                                                      llama_4_scaling_beta=0.8)),
}


def save_mistral4(config: dict, directory):
    """transformers' Mistral4ForCausalLM (no Auto class builds it), perturbed and saved."""
    torch.manual_seed(0)
    hf_config = transformers.Mistral4Config(**{key: value for key, value in config.items() if key != "model_type"})
    hf_config._attn_implementation = "eager"
    hf_config._experts_implementation = "eager"
    model = transformers.Mistral4ForCausalLM(hf_config)
    perturb(model)
    model.save_pretrained(directory, safe_serialization=True)
    return model.eval()


@pytest.fixture(scope="module", params=sorted(TINY))
def checkpoint(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    return save_mistral4(TINY[request.param], directory), directory, TINY[request.param]


@pytest.fixture(scope="module")
def pair(checkpoint):
    reference, directory, config = checkpoint
    return reference_pair(reference, directory, config["vocab_size"], SEQ_LEN)


def test_every_checkpoint_tensor_is_read(checkpoint):
    """The name map, with the experts read from the fused tensors transformers saves, consumes
    the whole checkpoint: nothing dropped, nothing missing."""
    from safetensors import safe_open

    from app.model.build import construct
    from app.weights.name_maps import NAME_MAPS
    from app.weights.published_names import with_published_names

    reference, directory, _ = checkpoint
    spec = spec_from_hf_config(reference.config.to_dict())
    with safe_open(directory / "model.safetensors", "pt") as file:
        stored = set(file.keys())
    assert any(name.endswith("experts.gate_up_proj") for name in stored)  # fused, as 5.18 saves mistral4
    ours = [name for name, _ in construct(spec, "meta").named_parameters()]
    used = set()
    for theirs, _ in with_published_names(NAME_MAPS["mistral4"](spec, ours), stored.__contains__).values():
        used.update(theirs if isinstance(theirs, tuple) else (theirs,))
    assert stored - used == set() and used - stored == set()


def test_the_saved_config_reads_as_softmax_routing_with_the_position_scale(checkpoint):
    reference, directory, config = checkpoint
    spec = spec_from_hf_config(reference.config.to_dict())
    router = next(layer.ffn.router for layer in spec.layers if hasattr(layer.ffn, "router"))
    assert router.scoring == "softmax" and not router.score_correction_bias
    assert (router.num_groups, router.top_k_groups) == (config["n_group"], config["topk_group"])
    mla = spec.layers[0].mixer
    params = config["rope_parameters"]
    assert mla.query_position_scale == params["llama_4_scaling_beta"]
    assert mla.query_position_floor == params["original_max_position_embeddings"]
    assert mla.rope.rotary_dim == config["qk_rope_head_dim"]  # not partial_rotary_factor x qk_rope_head_dim
    # written back: a config transformers builds the same model from
    written = hf_config_from_spec(spec)
    assert spec_from_hf_config(written) == spec
    rebuilt = transformers.Mistral4Config(**{key: value for key, value in written.items() if key != "model_type"})
    assert rebuilt.rope_parameters["llama_4_scaling_beta"] == params["llama_4_scaling_beta"]
    assert rebuilt.rope_parameters["original_max_position_embeddings"] == params["original_max_position_embeddings"]
    assert rebuilt.rope_parameters["partial_rotary_factor"] == reference.config.rope_parameters["partial_rotary_factor"]


def _with_mixers(model, change):
    for block in model.layers:
        block.mixer.spec = change(block.mixer.spec)


def test_the_position_scale_changes_the_output(pair):
    """Without Llama 4's query scale the logits past the original length differ: the parity
    above exercised it (and the positions before it are untouched)."""
    reference, ours, input_ids = pair
    beta = ours.layers[0].mixer.spec.query_position_scale
    with torch.no_grad():
        _with_mixers(ours, lambda spec: replace(spec, query_position_scale=0.0))
        try:
            unscaled = ours(input_ids)
        finally:
            _with_mixers(ours, lambda spec: replace(spec, query_position_scale=beta))
        expected = reference_logits(reference, input_ids)
    floor = ours.layers[0].mixer.spec.query_position_floor
    torch.testing.assert_close(unscaled[:, :floor], expected[:, :floor], atol=TOLERANCE, rtol=0)
    assert (unscaled - expected).abs().max() > 100 * TOLERANCE


def test_the_softmax_router_is_what_routes(pair):
    """Sigmoid scores (DeepSeek V3's) pick and weigh other experts: the parity above
    exercised the softmax."""
    reference, ours, input_ids = pair
    routers = [block.ffn.router for block in ours.layers if hasattr(block.ffn, "router")]
    with torch.no_grad():
        for router in routers:
            router.spec = replace(router.spec, scoring="sigmoid")
        try:
            sigmoid = ours(input_ids)
        finally:
            for router in routers:
                router.spec = replace(router.spec, scoring="softmax")
    assert (sigmoid - reference_logits(reference, input_ids)).abs().max() > 100 * TOLERANCE


def test_a_release_nesting_the_decoder_as_language_model_loads(checkpoint, tmp_path):
    """Mistral Small 4's release (a mistral3 wrapper) keeps the decoder as language_model.model.*
    and its head as language_model.lm_head, with the config under text_config: the same tensors
    under those names, beside a vision tower left unread, give the same logits."""
    import json

    from safetensors.torch import load_file, save_file

    from app.weights import load_pretrained

    reference, directory, config = checkpoint
    tensors = {"language_model." + name: tensor for name, tensor in
               load_file(directory / "model.safetensors").items()}
    tensors["vision_tower.patch_conv.weight"] = torch.zeros(4, 3, 2, 2)
    save_file(tensors, tmp_path / "model.safetensors")
    release = {"model_type": "mistral3", "architectures": ["Mistral3ForConditionalGeneration"],
               "text_config": reference.config.to_dict(), "vision_config": {"model_type": "pixtral"}}
    (tmp_path / "config.json").write_text(json.dumps(release))
    ours = load_pretrained(tmp_path).model
    input_ids = torch.randint(0, config["vocab_size"], (2, SEQ_LEN), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids), reference_logits(reference, input_ids), atol=TOLERANCE, rtol=0)
