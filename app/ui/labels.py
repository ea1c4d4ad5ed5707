"""Text of the drawn boxes and the summary: what each component is and its key
numbers, in the words of the article. Pure functions of spec data."""

from __future__ import annotations

from ..spec.components import (
    MLP,
    Attention,
    CrossAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    LightningAttention,
    Mamba2,
    MoE,
    MultiHeadLatentAttention,
    Norm,
)
from ..units import human_count


def _theta(theta: float) -> str:
    return human_count(theta).replace("K", "k")


def norm_title(norm: Norm) -> str:
    if norm.kind == "layernorm":
        return "LayerNorm"
    if norm.kind == "l2":
        return "L2 norm"
    return "RMSNorm"


def attention_title(mixer: Attention) -> str:
    kv, heads = mixer.num_kv_heads, mixer.num_heads
    name = ("Multi-head attention" if kv == heads else "Multi-query attention" if kv == 1
            else "Grouped-query attention")
    if mixer.sliding_window:
        name = "Sliding-window " + ("MHA" if kv == heads else "MQA" if kv == 1 else "GQA")
    elif mixer.chunk_size:
        name = "Chunked " + ("MHA" if kv == heads else "MQA" if kv == 1 else "GQA")
    return ("Gated " + name[0].lower() + name[1:]) if mixer.output_gate else name


def mixer_text(mixer) -> tuple[str, list[str]]:
    """(title, detail lines) of a token-mixer box."""
    if mixer is None:
        return "No mixer", ["feed-forward-only block"]
    if isinstance(mixer, Attention):
        heads = f"{mixer.num_heads} heads · {mixer.num_kv_heads} KV · dim {mixer.head_dim}"
        if mixer.rope is None:
            positions = "NoPE"
        elif mixer.rope.rotary_dim < mixer.head_dim:
            positions = f"partial RoPE {mixer.rope.rotary_dim}/{mixer.head_dim}"
        else:
            positions = f"RoPE θ {_theta(mixer.rope.theta)}"
        if mixer.rope is not None and mixer.rope.scaling is not None:
            positions += f" {mixer.rope.scaling.type}"
        extras = []
        if mixer.sliding_window:
            extras.append(f"window {mixer.sliding_window}")
        if mixer.chunk_size:
            extras.append(f"chunk {mixer.chunk_size}")
        if mixer.qk_norm is not None:
            extras.append("QK-norm" + (" (all heads)" if mixer.qk_norm.scope == "all_heads" else ""))
        if mixer.sinks:
            extras.append("sinks")
        if mixer.output_gate:
            extras.append("output gate")
        if mixer.logit_softcap:
            extras.append(f"softcap {mixer.logit_softcap:g}")
        if mixer.qkv_bias:
            extras.append("QKV bias")
        if mixer.shared_kv:
            extras.append("KV shared (no cache)")
        return attention_title(mixer), [heads, positions, " · ".join(extras)] if extras else [heads, positions]
    if isinstance(mixer, MultiHeadLatentAttention):
        lines = [f"{mixer.num_heads} heads · KV latent {mixer.kv_lora_rank}+{mixer.qk_rope_head_dim}"]
        query = f"q latent {mixer.q_lora_rank}" if mixer.q_lora_rank else "full-rank queries"
        lines.append(f"{query} · v dim {mixer.v_head_dim}")
        extras = ["NoPE" if mixer.rope is None else f"RoPE θ {_theta(mixer.rope.theta)}"]
        if mixer.indexer is not None:
            extras.append(f"sparse top-{mixer.indexer.top_k}")
        lines.append(" · ".join(extras))
        return "Latent attention (MLA)", lines
    if isinstance(mixer, GatedDeltaNet):
        return "Gated DeltaNet", [f"{mixer.num_key_heads} K / {mixer.num_value_heads} V heads",
                                  f"dims {mixer.key_head_dim}/{mixer.value_head_dim} · conv {mixer.conv_kernel}",
                                  "linear · constant state"]
    if isinstance(mixer, KimiDeltaAttention):
        return "Kimi Delta Attention", [f"{mixer.num_heads} heads · dim {mixer.head_dim}",
                                        f"channel-wise gate · conv {mixer.conv_kernel}", "linear · constant state"]
    if isinstance(mixer, Mamba2):
        return "Mamba-2", [f"{mixer.num_heads} heads · dim {mixer.head_dim}",
                           f"state {mixer.state_size} · {mixer.num_groups} groups", "state-space · constant state"]
    if isinstance(mixer, LightningAttention):
        return "Lightning attention", [f"{mixer.num_heads} heads · dim {mixer.head_dim}",
                                       f"block {mixer.block_size} · decay per head", "linear · constant state"]
    if isinstance(mixer, CrossAttention):
        return "Cross-attention to the image", [f"{mixer.num_heads} heads · {mixer.num_kv_heads} KV · dim {mixer.head_dim}",
                                                "keys, values: image features",
                                                "tanh-gated · QK-norm" if mixer.gated else "QK-norm"]
    return type(mixer).__name__, []


def mlp_title(mlp: MLP) -> str:
    if not mlp.gated:
        return {"gelu": "GELU", "gelu_tanh": "GELU", "relu2": "ReLU²"}.get(mlp.activation, mlp.activation) + " MLP"
    return {"silu": "SwiGLU", "gelu": "GeGLU", "gelu_tanh": "GeGLU", "swiglu_oss": "SwiGLU (clamped)"}.get(
        mlp.activation, f"{mlp.activation} GLU")


def percent(fraction: float) -> str:
    """0.12 -> "12%"; below 1% one significant digit ("0.4%") rather than a bare "0%"."""
    return f"{fraction:.0%}" if fraction >= 0.01 else f"{100 * fraction:.1g}%"


def ffn_text(ffn) -> tuple[str, list[str]]:
    if ffn is None:
        return "No feed-forward", ["mixer-only block"]
    if isinstance(ffn, MLP):
        lines = [f"hidden {ffn.intermediate_size}"]
        if ffn.activation_sparsity:
            lines.append(f"{ffn.activation_sparsity:.0%} of activations zeroed")
        return f"{mlp_title(ffn)} feed-forward", lines
    assert isinstance(ffn, MoE)
    lines = [f"{ffn.num_experts} experts · {ffn.top_k} active",
             f"{mlp_title(ffn.expert)} hidden {ffn.expert.intermediate_size}"]
    if ffn.shared is not None:
        lines.append(f"+ shared expert {ffn.shared.intermediate_size}" + (" (gated)" if ffn.shared_gate else ""))
    else:
        lines.append(f"{ffn.router.scoring} router" + (f" · {ffn.router.num_groups} groups"
                                                        if ffn.router.num_groups > 1 else ""))
    return "Mixture of experts", lines
