"""The DeepSeek lineage against transformers: MLA (with and without a query latent, YaRN
mscale, interleaved and half-split rope), DeepSeek sparse attention, GLM-4.5's partial-rope
GQA and MiMo-V2-Flash's sliding layers with sinks, each with dense and MoE layers. Tiny
random checkpoints load through load_pretrained and give the same logits in one forward,
token by token through the latent cache, and prefill then decode."""

import json
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
    save_reference,
    torch,
    transformers,
)

from app.model.latent_cache import LatentCache  # noqa: E402

SEQ_LEN = 13  # longer than the sliding window and the indexer's top-k below
PREFILL = 8

# transformers warns when factor differs from max_position / original; keep them consistent.
YARN = dict(rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=8, beta_fast=8.0,
            beta_slow=1.0, mscale=0.9, mscale_all_dim=0.7)
MLA = dict(vocab_size=61, hidden_size=40, intermediate_size=56, moe_intermediate_size=24, num_hidden_layers=2,
           num_attention_heads=3, num_key_value_heads=3, kv_lora_rank=20, q_lora_rank=28, qk_rope_head_dim=8,
           qk_nope_head_dim=12, v_head_dim=10, n_routed_experts=8, num_experts_per_tok=3, n_shared_experts=1,
           n_group=4, topk_group=2, routed_scaling_factor=2.5, max_position_embeddings=32, rope_parameters=YARN)
MOE = dict(vocab_size=67, hidden_size=36, intermediate_size=52, moe_intermediate_size=20, num_hidden_layers=2,
           n_routed_experts=6, num_experts_per_tok=2)

TINY = {
    # a query latent, YaRN with mscale_all_dim (softmax scale), interleaved rope, 4 expert groups
    "deepseek_v3": dict(MLA, model_type="deepseek_v3", first_k_dense_replace=1),
    # uncompressed queries, biases, half-split rope, odd head counts and widths
    "deepseek_v3-plain-query": dict(MLA, model_type="deepseek_v3", num_attention_heads=5, num_key_value_heads=5,
                                    kv_lora_rank=14, q_lora_rank=None, qk_rope_head_dim=6, qk_nope_head_dim=10,
                                    v_head_dim=12, attention_bias=True, rope_interleave=False,
                                    first_k_dense_replace=1, rope_parameters=dict(rope_type="default",
                                                                                  rope_theta=500.0)),
    # 8 indexer heads: ReLU scores of fewer heads tie exactly in a tiny random model
    "deepseek_v32": dict(MLA, model_type="deepseek_v32", mlp_layer_types=["dense", "sparse"], index_n_heads=8,
                         index_head_dim=16, index_topk=5),
    "glm4_moe": dict(MOE, model_type="glm4_moe", num_attention_heads=4, num_key_value_heads=2, head_dim=12,
                     n_shared_experts=1, first_k_dense_replace=1, use_qk_norm=True, attention_bias=True),
    # Sarvam 30B's shape (catalog sarvam-30b): QK-norm and RoPE over the whole head, no bias, groups
    "glm4_moe-full-rope": dict(MOE, model_type="glm4_moe", num_attention_heads=4, num_key_value_heads=1,
                               head_dim=10, partial_rotary_factor=1.0, n_shared_experts=1, first_k_dense_replace=1,
                               use_qk_norm=True, attention_bias=False, n_group=3, topk_group=2,
                               routed_scaling_factor=2.5),
    "mimo_v2_flash": dict(MOE, model_type="mimo_v2_flash", num_hidden_layers=3, num_attention_heads=4,
                          num_key_value_heads=1, head_dim=12, v_head_dim=8, sliding_window=4,
                          layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                          mlp_layer_types=["sparse", "dense", "sparse"]),
}

# Mistral Large 3's query scale by position ("llama_4_scaling"), which our converter reads
# from a DeepSeek-V3 config: transformers computes it in its mistral4 model.
POSITION_SCALE = dict(beta=0.5, original_max_position_embeddings=4)
# Dense layers only: transformers saves mistral4's experts fused, not in the published layout.
MISTRAL_REFERENCE = dict(MLA, model_type="mistral4", n_group=1, topk_group=1, first_k_dense_replace=2,
                         rope_parameters=dict(YARN, llama_4_scaling_beta=POSITION_SCALE["beta"],
                                              original_max_position_embeddings=4, factor=8.0))
MISTRAL_AS_DEEPSEEK = dict(MLA, model_type="deepseek_v3", n_group=1, topk_group=1, first_k_dense_replace=2,
                           llama_4_scaling=POSITION_SCALE,
                           rope_parameters=dict(YARN, original_max_position_embeddings=4, factor=8.0))
CASES = sorted(TINY) + ["mistral_large_3"]


def save_mistral4_reference(directory):
    """save_reference for transformers' mistral4, which no Auto class builds; then the
    same checkpoint described as the DeepSeek-V3 config our converter reads."""
    torch.manual_seed(0)
    hf_config = transformers.Mistral4Config(**{k: v for k, v in MISTRAL_REFERENCE.items() if k != "model_type"})
    hf_config._attn_implementation = "eager"
    model = transformers.Mistral4ForCausalLM(hf_config)
    perturb(model)
    model.save_pretrained(directory, safe_serialization=True)
    (directory / "config.json").write_text(json.dumps(MISTRAL_AS_DEEPSEEK))
    return model.eval()


@pytest.fixture(scope="module", params=CASES)
def pair(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    if request.param == "mistral_large_3":
        config = MISTRAL_REFERENCE
        reference = save_mistral4_reference(directory)
    else:
        config = TINY[request.param]
        reference = save_reference(config, directory)
    return reference_pair(reference, directory, config["vocab_size"], SEQ_LEN)



def test_mla_layers_cache_only_the_latent(pair):
    _, ours, _ = pair
    cache = ours.new_cache(batch=2, max_len=SEQ_LEN)
    for block, layer_cache in zip(ours.layers, cache.layers):
        spec = block.layer.mixer
        if hasattr(spec, "kv_lora_rank"):
            assert isinstance(layer_cache, LatentCache)
            assert layer_cache.latents.shape[-1] == spec.kv_lora_rank
            assert layer_cache.rope_keys.shape[-1] == spec.qk_rope_head_dim


def test_the_loaded_correction_bias_is_the_checkpoints(pair):
    reference, ours, _ = pair
    theirs = {name: buffer for name, buffer in reference.named_buffers() if name.endswith("e_score_correction_bias")}
    for name, buffer in theirs.items():
        index = int(name.split(".")[2])
        torch.testing.assert_close(ours.layers[index].ffn.router.score_correction_bias, buffer, atol=0, rtol=0)


@pytest.mark.parametrize("pair", ["deepseek_v32"], indirect=True)
def test_the_indexer_selection_changes_the_output(pair):
    """With the sequence longer than index_topk, attending to every token instead of the
    selected ones gives other logits: the parity above exercised the selection."""
    reference, ours, input_ids = pair
    indexers = [block.mixer.indexer for block in ours.layers]
    with torch.no_grad():
        for indexer in indexers:
            indexer.spec = replace(indexer.spec, top_k=SEQ_LEN)
        try:
            dense = ours(input_ids)
        finally:
            for indexer in indexers:
                indexer.spec = replace(indexer.spec, top_k=TINY["deepseek_v32"]["index_topk"])
    assert (dense - reference_logits(reference, input_ids)).abs().max() > 100 * TOLERANCE


def test_a_kimi_k25_release_loads_through_its_text_config(tmp_path):
    """Kimi K2.5 / K2.6 publish a kimi_k25 wrapper: the DeepSeek V3 decoder's keys under
    text_config (model_type kimi_k2), its tensors as language_model.model.* and
    language_model.lm_head, beside a vision tower and projector left unread."""
    from safetensors.torch import load_file, save_file

    from app.weights import load_pretrained

    saved = tmp_path / "saved"
    reference = save_reference(TINY["deepseek_v3"], saved)
    tensors = {"language_model." + name: tensor for name, tensor in load_file(saved / "model.safetensors").items()}
    tensors["vision_tower.patch_embed.proj.weight"] = torch.zeros(4, 3, 2, 2)
    tensors["mm_projector.proj.0.weight"] = torch.zeros(4, 4)
    release = tmp_path / "release"
    release.mkdir()
    save_file(tensors, release / "model.safetensors")
    text_config = dict(TINY["deepseek_v3"], model_type="kimi_k2")
    (release / "config.json").write_text(json.dumps({
        "model_type": "kimi_k25", "architectures": ["KimiK25ForConditionalGeneration"],
        "tie_word_embeddings": False, "text_config": text_config, "vision_config": {"patch_size": 14}}))
    ours = load_pretrained(release).model
    input_ids = torch.randint(0, TINY["deepseek_v3"]["vocab_size"], (2, SEQ_LEN),
                              generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids), reference_logits(reference, input_ids), atol=TOLERANCE, rtol=0)
