"""Catalog entries whose model_type another entry's parity file covers (mimo_v2_flash, nemotron_h,
llama, minimax_m2): the settings that set them apart from that entry are read from their published
keys into the spec, and come back in the config the converter writes."""

from app.spec import catalog
from app.spec.ffn import MLP, MoE
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.mixers import Attention, Mamba2


def test_mimo_v2_5_reads_its_rope_and_norm_scalars():
    spec = catalog.get("mimo-v2.5")
    full = [layer.mixer for layer in spec.layers if not layer.mixer.sliding_window]
    sliding = [layer.mixer for layer in spec.layers if layer.mixer.sliding_window]
    assert (len(full), len(sliding)) == (9, 39)
    assert {(m.rope.theta, m.rope.rotary_dim, m.num_kv_heads) for m in full} == {(10_000_000, 96, 4)}
    assert {(m.rope.theta, m.rope.rotary_dim, m.num_kv_heads, m.sinks) for m in sliding} == {(10_000, 96, 8, True)}
    assert spec.final_norm.eps == 1e-6 and spec.max_context == 1_048_576
    written = hf_config_from_spec(spec)
    assert written["rope_parameters"]["full_attention"]["rope_theta"] == 10_000_000
    assert written["rope_parameters"]["sliding_attention"]["partial_rotary_factor"] == 0.5
    assert spec_from_hf_config(written) == spec


def test_nemotron_nano_4b_is_a_dense_hybrid_with_mamba_wider_than_twice_the_model():
    spec = catalog.get("nemotron-3-nano-4b")
    mambas = [layer.mixer for layer in spec.layers if isinstance(layer.mixer, Mamba2)]
    mlps = [layer.ffn for layer in spec.layers if layer.mixer is None]
    assert len(mambas) == 21 and len(mlps) == 17 and not any(isinstance(ffn, MoE) for ffn in mlps)
    assert {(m.num_heads, m.head_dim, m.num_groups) for m in mambas} == {(96, 80, 8)}
    assert 96 * 80 != 2 * spec.d_model  # the inner width is the heads', not expand x hidden
    assert {(f.intermediate_size, f.activation, f.gated) for f in mlps} == {(12544, "relu2", False)}
    written = hf_config_from_spec(spec)
    assert written["hybrid_override_pattern"] == catalog.entry("nemotron-3-nano-4b").config["hybrid_override_pattern"]
    assert "n_routed_experts" not in written  # no MoE keys for a model without one
    assert spec_from_hf_config(written) == spec


def test_nanbeige_and_minimax_m2_7_keep_their_context_and_rope():
    nanbeige = catalog.get("nanbeige-4.1-3b")
    attention = {layer.mixer for layer in nanbeige.layers}
    assert len(attention) == 1
    (mixer,) = attention
    assert isinstance(mixer, Attention) and (mixer.num_heads, mixer.num_kv_heads, mixer.head_dim) == (20, 4, 128)
    assert mixer.rope.theta == 70_000_000 and nanbeige.max_context == 262_144 and not nanbeige.tie_embeddings
    assert {type(layer.ffn) for layer in nanbeige.layers} == {MLP}
    m27, m2 = catalog.get("minimax-m2.7"), catalog.get("minimax-m2")
    assert m27.max_context == 204_800 and m2.max_context == 196_608
    assert m27.layers == m2.layers
    assert hf_config_from_spec(m27)["max_position_embeddings"] == 204_800
