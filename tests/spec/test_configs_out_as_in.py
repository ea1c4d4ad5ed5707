"""Configs out as they came in: `hf_config_from_spec` of a catalog entry gives back every field
of the entry's published config.json, with its value.

Three kinds of field are not written back as they were published, each for a reason the test
keeps checking:
- RoPE fields of the transformers 4 layout (`rope_theta`, `rope_scaling`, a per-layer-type
  theta, a rotary fraction) are written inside transformers 5's `rope_parameters`; the test
  finds each published value there.
- NOT_THE_NETWORK: token ids, training settings and kernel choices. A spec describes the
  network, so it holds none of them and none is written.
- UNWRITTEN: per family, a field whose published value the spec cannot hold or transformers
  cannot read, with the reason. Each note must still describe a difference (the test fails
  when the field comes back equal, so a stale note is dropped).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.spec import catalog
from app.spec.hf import hf_config_from_spec

ABSENT = object()

# A spec describes the network; these describe the tokenizer, training, or which kernels ran.
NOT_THE_NETWORK = frozenset({
    "architectures", "auto_map", "transformers_version", "torch_dtype", "dtype", "use_cache",
    "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range", "attention_dropout",
    "hidden_dropout", "embedding_dropout", "router_aux_loss_coef", "aux_loss_alpha", "output_router_logits",
    "router_jitter_noise", "seq_aux", "quantization_config",
    "image_token_index", "boi_token_index", "eoi_token_index",
    # Gemma 3n clamps its AltUp coefficients to this range while training only
    "altup_coef_clip",
    # xLSTM's kernel and initialisation choices (transformers' xlstm: which Triton/native kernel
    # runs the chunked and step passes, padding for it, the input gate's initial bias range)
    "forward_backend_name", "step_backend_name", "add_forward_backend_padding", "igate_bias_init_range",
    "return_last_states", "norm_reduction_force_float32", "force_bos_token_insert", "add_embedding_dropout",
    # Mamba-2's time-step initialisation range (the trained dt_bias replaces it)
    "time_step_min", "time_step_max", "time_step_floor", "time_step_limit",
    # Nemotron 3: how the shared expert is scheduled beside the routed ones on a GPU
    "moe_shared_expert_overlap",
    # AFMoE (Trinity): whether the experts run as one grouped matmul
    "use_grouped_mm",
})

# model_type (or slug) -> {field: why the published value is not written back}
_UNUSED_DENSE_WIDTH = ("the width of a dense MLP, and no layer of this model is a dense MLP: the spec has no such "
                      "layer to hold it")
_REMOTE_CODE = ("the published config is the release's own modeling code's; transformers' port reads the same "
                "values under its own names (layer types per layer, per-layer-type rope_parameters), and those are "
                "written")
_MTP_LAYERS = "the MTP block's layers; like every catalog entry, the spec leaves MTP modules out of the network"
UNWRITTEN: dict[str, dict[str, str]] = {
    "step3p5": {"num_nextn_predict_layers": "the count of " + _MTP_LAYERS},
    "llama4_text": {
        "attn_temperature_tuning": "published as 4; transformers 5 accepts only a bool and the value acts as "
                                   "on/off, so it is written as true",
    },
    "llama4-scout": {"intermediate_size_mlp": _UNUSED_DENSE_WIDTH + " (Scout's every layer is MoE)"},
    "qwen3_moe": {"intermediate_size": _UNUSED_DENSE_WIDTH},
    "qwen3_next": {"intermediate_size": _UNUSED_DENSE_WIDTH},
    "mistral-small-4": {"intermediate_size": _UNUSED_DENSE_WIDTH + " (first_k_dense_replace 0)"},
    "qwen2.5-0.5b": {"sliding_window": "published 32768 with use_sliding_window false: no layer slides, so the "
                                       "spec holds no window and null is written"},
    "nemotron_h": {
        "expand": "Mamba-2's width is mamba_num_heads x mamba_head_dim, which are written; transformers' "
                  "nemotron_h does not read the expansion factor when they are given",
        "mtp_hybrid_override_pattern": _MTP_LAYERS,
        "mtp_layers_block_type": _MTP_LAYERS,
    },
    "nemotron-3-nano-30b-a3b": {"intermediate_size": _UNUSED_DENSE_WIDTH},
    "nemotron-3-super-120b-a12b": {"intermediate_size": _UNUSED_DENSE_WIDTH},
    "nemotron-3-ultra-550b-a55b": {
        "intermediate_size": _UNUSED_DENSE_WIDTH,
        "layers_block_type": "no config.json is published; the entry's is assembled from NVIDIA's serving code, "
                             "whose block names (mamba, attention) transformers reads as linear_attention and "
                             "full_attention, the names written",
    },
    "mimo_v2_flash": dict.fromkeys(
        ("swa_num_attention_heads", "swa_num_key_value_heads", "swa_head_dim", "swa_v_head_dim",
         "add_swa_attention_sink_bias", "add_full_attention_sink_bias", "hybrid_layer_pattern", "moe_layer_freq",
         "layernorm_epsilon", "n_shared_experts", "routed_scaling_factor"), _REMOTE_CODE),
    "minimax_m1": dict.fromkeys(
        ("model_type", "attn_type_list", "shared_intermediate_size", "postnorm", "layernorm_full_attention_alpha",
         "layernorm_full_attention_beta", "layernorm_linear_attention_alpha", "layernorm_linear_attention_beta",
         "layernorm_mlp_alpha", "layernorm_mlp_beta"), _REMOTE_CODE),
    "lfm2": dict.fromkeys(
        ("block_ff_dim", "block_multiple_of", "block_ffn_dim_multiplier", "block_auto_adjust_ff_dim"),
        "published as a width before LFM2's adjustment (2/3 of it, times the multiplier, rounded up to the "
        "multiple); several widths adjust to one (6656 and 6912 both give 4608), so the spec keeps the width the "
        "layers have and writes it as intermediate_size with the adjustment off"),
    "xlstm": dict.fromkeys(
        ("add_post_blocks_norm", "add_post_norm", "add_qk_norm", "cell_norm_eps", "head_dim",
         "mlstm_round_up_to_multiple_of"),
        "a field of NX-AI's own xlstm package that transformers' xlstm does not read: there the block's norms "
        "are fixed, and the head width is the qk/v factor's") | {
        "ffn_proj_factor": "published 2.667, whose product with the width rounds up to 10944; the spec keeps "
                           "10944 and writes its exact factor 2.671875, which rounds to the same width",
    },
}

# Fields written in transformers 5's rope_parameters instead, where the test looks them up.
ROPE_FIELDS = frozenset({"rope_theta", "rope_scaling", "rope_local_base_freq", "partial_rotary_factor",
                         "rotary_dim", "swa_rope_theta", "rope_parameters"})

HF_ENTRIES = [name for name in catalog.names() if catalog.entry(name).config is not None]


def same(published: Any, written: Any) -> bool:
    """Equal as a reader sees it: numbers by value (an int published as 4.0 or 4), lists and
    dicts item by item."""
    if isinstance(published, bool) or isinstance(written, bool):
        return published is written
    if isinstance(published, (int, float)) and isinstance(written, (int, float)):
        return math.isclose(published, written, rel_tol=1e-12, abs_tol=0.0)
    if isinstance(published, dict) and isinstance(written, dict):  # every published key comes back
        return all(same(v, written.get(k, ABSENT)) for k, v in published.items())
    if isinstance(published, (list, tuple)) and isinstance(written, (list, tuple)):
        return len(published) == len(written) and all(same(a, b) for a, b in zip(published, written))
    return published == written


def unwritten_notes(config: dict, slug: str) -> dict[str, str]:
    return UNWRITTEN.get(config.get("model_type", ""), {}) | UNWRITTEN.get(slug, {})


def rope_dicts(written: dict) -> list[dict]:
    parameters = written.get("rope_parameters") or {}
    nested = [value for value in parameters.values() if isinstance(value, dict)]
    return nested or [parameters]


def rope_mismatches(published: dict, written: dict) -> list[str]:
    """Each published RoPE value, found in the written rope_parameters."""
    problems = []
    ropes = rope_dicts(written)
    thetas = {rope.get("rope_theta") for rope in ropes}
    for field in ("rope_theta", "rope_local_base_freq", "swa_rope_theta"):
        # found in rope_parameters, or written back in the published layout (Step 3.5's lists)
        if field in published and not same(published[field], written.get(field, ABSENT)) and not any(
                same(published[field], theta) for theta in thetas):
            problems.append(f"{field} {published[field]} not among the written thetas {sorted(thetas)}")
    scaling = published.get("rope_scaling")
    if isinstance(scaling, dict):
        expected = {("rope_type" if key == "type" else key): value for key, value in scaling.items()}
        if not any(all(same(value, rope.get(key, ABSENT)) for key, value in expected.items()) for rope in ropes):
            problems.append(f"rope_scaling {scaling} not in the written rope_parameters {ropes}")
    nested = published.get("rope_parameters")
    if isinstance(nested, dict):  # transformers 5's own form, per layer type or one for all
        kinds = {kind: value for kind, value in nested.items() if isinstance(value, dict)} or {"": nested}
        written_ropes = written.get("rope_parameters") or {}
        for kind, rope in kinds.items():
            ours = written_ropes.get(kind, {}) if kind else written_ropes
            for key, value in rope.items():
                key = "rope_type" if key == "type" else key  # the older name
                default = 1.0 if key == "partial_rotary_factor" else ABSENT
                if not same(value, ours.get(key, default)):
                    problems.append(f"rope_parameters {kind}.{key}: {value!r} published, {ours.get(key)!r} written")
    fraction = published.get("partial_rotary_factor")
    head_dim = written.get("head_dim") or written.get("hidden_size", 0) // written.get("num_attention_heads", 1)
    if "rotary_dim" in published:
        fraction = published["rotary_dim"] / head_dim
    if fraction is not None:
        # a published fraction may be rounded (MiMo's 0.334 of 192 is 64 dimensions)
        rotary = int(fraction * head_dim)
        written_dims = {int(rope.get("partial_rotary_factor", 1.0) * head_dim + 1e-9) for rope in ropes}
        if rotary not in written_dims:
            problems.append(f"{rotary} rotary dimensions published, {sorted(written_dims)} written")
    return problems


def differences(slug: str) -> dict[str, str]:
    """Field -> how the written config differs from the published one."""
    published = catalog.entry(slug).config
    written = hf_config_from_spec(catalog.get(slug))
    found = {}
    for field, value in published.items():
        if field in NOT_THE_NETWORK or field in ROPE_FIELDS:
            continue
        if field == "text_config" and isinstance(value, dict):
            inner = {key: item for key, item in value.items() if key not in NOT_THE_NETWORK and key not in ROPE_FIELDS}
            for key, item in inner.items():
                if not same(item, written[field].get(key, ABSENT)):
                    found[f"{field}.{key}"] = f"{item!r} published, {written[field].get(key, 'nothing')!r} written"
            continue
        back = written.get(field, ABSENT)
        if not same(value, back):
            found[field] = f"{value!r} published, {'nothing' if back is ABSENT else repr(back)} written"
    return found


@pytest.mark.parametrize("slug", HF_ENTRIES)
def test_published_fields_come_back(slug):
    notes = unwritten_notes(catalog.entry(slug).config, slug)
    found = {field: how for field, how in differences(slug).items() if field not in notes}
    assert not found, f"{slug}: " + "; ".join(f"{field}: {how}" for field, how in found.items())


@pytest.mark.parametrize("slug", HF_ENTRIES)
def test_rope_values_come_back_in_rope_parameters(slug):
    config = catalog.entry(slug).config
    published = config.get("text_config", config)
    written = hf_config_from_spec(catalog.get(slug))
    written = written.get("text_config", written)
    assert not rope_mismatches(published, written), f"{slug}: {rope_mismatches(published, written)}"


def test_each_unwritten_note_still_describes_a_difference():
    stale = []
    for slug in HF_ENTRIES:
        notes = unwritten_notes(catalog.entry(slug).config, slug)
        found = differences(slug)
        stale += [f"{slug}.{field}" for field in notes if field in catalog.entry(slug).config and field not in found]
    assert not stale, f"these fields now come back as published; drop their notes: {stale}"
