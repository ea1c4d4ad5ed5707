"""The palette's components and what dropping one on a slot of a block makes.

Pure data on top of `app.spec` (no Qt): `apply_drop` answers either the new layer or
the reason the drop is refused. Sizes of a new component are derived from the widths
the model already has (GQA -> MLA keeps the heads; a latent of 4 x head_dim, as
DeepSeek V3's 512 for 128-wide heads).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..spec import ArchSpec
from ..spec.components import Layer
from ..spec.ffn import MLP, MoE
from ..spec.mixers import MIXER_KINDS, Attention
from ..spec.parts import Norm, Rope
from ..spec.validation import new_problems

MIME_TYPE = "application/x-archscope-component"

# The slots of a drawn block that accept drops.
SLOT_MIXER, SLOT_FFN, SLOT_NORM = "mixer", "ffn", "norm"


@dataclass(frozen=True)
class PaletteItem:
    key: str
    title: str
    category: str  # "attention", "linear", "ffn", "norm", "position"
    slot: str  # which slot it drops on
    tooltip: str


PALETTE: tuple[PaletteItem, ...] = (
    PaletteItem("mha", "MHA", "attention", SLOT_MIXER,
                "Multi-head attention: one K/V head per query head (GPT-2, OLMo 2)"),
    PaletteItem("gqa", "GQA", "attention", SLOT_MIXER,
                "Grouped-query attention: query heads share K/V groups (Llama 3, Qwen3)"),
    PaletteItem("mqa", "MQA", "attention", SLOT_MIXER,
                "Multi-query attention: one K/V head for all queries (Gemma 3 270M)"),
    PaletteItem("mla", "MLA", "attention", SLOT_MIXER,
                "Multi-head latent attention: caches a compressed latent (DeepSeek V3)"),
    PaletteItem("sliding", "Sliding window", "attention", SLOT_MIXER,
                "Local attention over the last tokens only (Gemma 3: 1024)"),
    PaletteItem("gated", "Gated attention", "attention", SLOT_MIXER,
                "Attention with a sigmoid output gate (Qwen3-Next)"),
    PaletteItem("cca", "CCA", "attention", SLOT_MIXER,
                "Compressed convolutional attention: GQA in half the width, queries and keys convolved "
                "over the last tokens (ZAYA1)"),
    PaletteItem("compressed_attention", "CSA / HCA", "attention", SLOT_MIXER,
                "Compressed attention: a 128-token window on one shared key-value head beside entries pooled "
                "every few tokens and picked by an indexer (CSA) or every 128 (HCA) (DeepSeek V4)"),
    PaletteItem("gated_deltanet", "Gated DeltaNet", "linear", SLOT_MIXER,
                "Linear attention with a delta-rule state (Qwen3-Next)"),
    PaletteItem("kimi_delta", "Kimi Delta Attention", "linear", SLOT_MIXER,
                "Gated DeltaNet with channel-wise decay (Kimi Linear)"),
    PaletteItem("mamba2", "Mamba-2", "linear", SLOT_MIXER, "Selective state-space mixer (Nemotron 3)"),
    PaletteItem("lightning", "Lightning attention", "linear", SLOT_MIXER,
                "Linear attention with per-head decay (MiniMax-M1)"),
    PaletteItem("gated_short_conv", "Gated short conv", "linear", SLOT_MIXER,
                "Double-gated short convolution, a 3-token window as its only state (LFM2)"),
    PaletteItem("mlstm", "mLSTM", "linear", SLOT_MIXER,
                "Matrix-memory LSTM with exponential, soft-capped gates (xLSTM 7B)"),
    PaletteItem("no_mixer", "No mixer", "linear", SLOT_MIXER, "Feed-forward-only block (Nemotron-H)"),
    PaletteItem("swiglu", "SwiGLU", "ffn", SLOT_FFN, "Gated feed-forward with SiLU (Llama, Qwen)"),
    PaletteItem("geglu", "GeGLU", "ffn", SLOT_FFN, "Gated feed-forward with GELU (Gemma)"),
    PaletteItem("gelu_mlp", "GELU MLP", "ffn", SLOT_FFN, "Plain two-matrix MLP (GPT-2)"),
    PaletteItem("moe", "MoE", "ffn", SLOT_FFN, "Mixture of experts, top-k routing (Qwen3 MoE)"),
    PaletteItem("moe_shared", "MoE + shared expert", "ffn", SLOT_FFN,
                "Routed experts plus one every token uses (DeepSeek V3)"),
    PaletteItem("no_ffn", "No feed-forward", "ffn", SLOT_FFN, "Mixer-only block (Nemotron-H)"),
    PaletteItem("pre", "Pre-Norm", "norm", SLOT_NORM, "Normalize each sublayer's input (GPT-2, Llama)"),
    PaletteItem("post", "Post-Norm", "norm", SLOT_NORM,
                "Normalize each sublayer's output inside the residual (OLMo 2)"),
    PaletteItem("sandwich", "Pre+Post (sandwich)", "norm", SLOT_NORM, "Both, around each sublayer (Gemma 3)"),
    PaletteItem("rmsnorm", "RMSNorm", "norm", SLOT_NORM, "Root-mean-square norm, no centring (Llama)"),
    PaletteItem("layernorm", "LayerNorm", "norm", SLOT_NORM, "Mean and variance norm with bias (GPT-2)"),
    PaletteItem("rope", "RoPE", "position", SLOT_MIXER, "Rotary positions on every head channel"),
    PaletteItem("partial_rope", "Partial RoPE", "position", SLOT_MIXER, "Rotary positions on half the channels"),
    PaletteItem("nope", "NoPE", "position", SLOT_MIXER, "No positional signal in this layer (SmolLM3, Llama 4)"),
    PaletteItem("qk_norm", "QK-norm", "position", SLOT_MIXER, "RMSNorm of queries and keys per head (Qwen3, OLMo 2)"),
)
ITEMS = {item.key: item for item in PALETTE}
SLOT_NAMES = {SLOT_MIXER: "attention / mixer box", SLOT_FFN: "feed-forward box", SLOT_NORM: "norm"}


class Refused(ValueError):
    """A drop that cannot be made, with the reason shown to the user."""


def _round(value: float, step: int = 64) -> int:
    return max(step, int(round(value / step)) * step)


def _reference_attention(spec: ArchSpec, layer: Layer) -> Attention:
    """The model's own attention sizes, or a standard one for its width."""
    if layer.mixer_kind == "attention":
        return layer.mixer
    for other in spec.layers:
        if other.mixer_kind == "attention":
            return other.mixer
    mixer = layer.mixer
    if layer.mixer_kind == "mla":
        heads, head_dim, theta = mixer.attention_heads()
    elif layer.mixer_kind == "cca":  # ZAYA1: its heads, grouping and rotation, without the convolutions
        return Attention(num_heads=mixer.num_heads, num_kv_heads=mixer.num_kv_heads, head_dim=mixer.head_dim,
                         rope=mixer.rope)
    else:
        head_dim = 128 if spec.d_model >= 2048 else 64
        heads = max(1, spec.d_model // head_dim)
        theta = 10_000.0
    return Attention(num_heads=heads, num_kv_heads=heads, head_dim=head_dim, rope=Rope(theta, head_dim))


def _kv_groups(heads: int) -> int:
    for ratio in (4, 2):
        if heads % ratio == 0 and heads // ratio >= 1:
            return heads // ratio
    return 1


def _mixer_for(key: str, spec: ArchSpec, layer: Layer):
    base = _reference_attention(spec, layer)
    plain = dataclasses.replace(base, sliding_window=0, chunk_size=0, output_gate=False)
    heads = base.num_heads
    if key == "mha":
        return dataclasses.replace(plain, num_kv_heads=heads)
    if key == "gqa":
        kv = base.num_kv_heads if 1 < base.num_kv_heads < heads else _kv_groups(heads)
        return dataclasses.replace(plain, num_kv_heads=kv)
    if key == "mqa":
        return dataclasses.replace(plain, num_kv_heads=1)
    if key == "sliding":
        window = next((other.mixer.sliding_window for other in spec.layers
                       if other.mixer_kind == "attention" and other.mixer.sliding_window), 4096)
        return dataclasses.replace(base, sliding_window=window, chunk_size=0)
    if key == "gated":
        return dataclasses.replace(base, output_gate=True)
    if key in MIXER_KINDS:  # a kind of its own: its module knows its published proportions
        theta = base.rope.theta if base.rope is not None else None
        return MIXER_KINDS[key].palette_default(spec.d_model, base.num_heads, base.head_dim, theta)
    if key == "no_mixer":
        return None
    raise KeyError(key)


def _dense_width(spec: ArchSpec, layer: Layer) -> int:
    if layer.ffn_kind == "mlp":
        return layer.ffn.intermediate_size
    for other in spec.layers:
        if other.ffn_kind == "mlp":
            return other.ffn.intermediate_size
    return _round(8 * spec.d_model / 3, 256)


def _ffn_for(key: str, spec: ArchSpec, layer: Layer):
    width = _dense_width(spec, layer)
    if key == "swiglu":
        return MLP(width, activation="silu", gated=True)
    if key == "geglu":
        return MLP(width, activation="gelu_tanh", gated=True)
    if key == "gelu_mlp":
        return MLP(4 * spec.d_model, activation="gelu", gated=False, bias=True)
    if key in ("moe", "moe_shared"):
        current = layer.ffn if layer.ffn_kind == "moe" else None
        if current is None:  # Qwen3-30B-A3B's ratios: 128 experts, 8 active, narrow experts
            current = MoE(num_experts=128, top_k=8, expert=MLP(_round(width / 8)))
        if key == "moe_shared" and current.shared is None:
            current = dataclasses.replace(current, shared=MLP(current.expert.intermediate_size))
        if key == "moe" and layer.ffn is current and current.shared is not None:
            current = dataclasses.replace(current, shared=None, shared_gate=False)
        return current
    if key == "no_ffn":
        return None
    raise KeyError(key)


def _positions(key: str, layer: Layer) -> Layer:
    mixer = layer.mixer
    if not layer.attends_to_context:
        name = "this block" if mixer is None else type(mixer).__name__
        raise Refused(f"{ITEMS[key].title} applies to softmax attention; {name} has no positions or query/key")
    try:
        return dataclasses.replace(layer, mixer=mixer.with_position(key, layer.norm.eps))
    except ValueError as refusal:
        raise Refused(f"{ITEMS[key].title} {refusal}") from None


def apply_drop(key: str, slot: str, spec: ArchSpec, layer: Layer) -> Layer:
    """The layer that results from dropping palette item `key` on `slot` of `layer`;
    raises Refused with the reason when that is not a valid edit."""
    item = ITEMS.get(key)
    if item is None:
        raise Refused(f"unknown component {key!r}")
    if item.slot != slot:
        raise Refused(f"{item.title} belongs on a {SLOT_NAMES[item.slot]}, not on a {SLOT_NAMES[slot]}")
    if item.category == "position":
        return _positions(key, layer)
    if slot == SLOT_MIXER:
        return dataclasses.replace(layer, mixer=_mixer_for(key, spec, layer))
    if slot == SLOT_FFN:
        return dataclasses.replace(layer, ffn=_ffn_for(key, spec, layer))
    if key in ("pre", "post", "sandwich"):
        return dataclasses.replace(layer, norm_placement=key)
    norm = Norm(key, layer.norm.eps, unit_offset=False, bias=key == "layernorm")
    return dataclasses.replace(layer, norm=norm)


def drop_edit(key: str, slot: str, spec: ArchSpec, indices: list[int]) -> tuple[ArchSpec, str]:
    """The spec after the drop on the block standing for `indices`, and the undo text;
    Refused if the drop is a mismatch or the result fails validation."""
    layer = spec.layers[indices[0]]
    new_layer = apply_drop(key, slot, spec, layer)
    if new_layer == layer:
        raise Refused(f"{ITEMS[key].title}: the block already is that")
    layers = list(spec.layers)
    for index in indices:
        layers[index] = new_layer if spec.layers[index] == layer else apply_drop(key, slot, spec, spec.layers[index])
    after = spec.with_layers(layers)
    problems = new_problems(spec, after)
    if problems:
        raise Refused(f"{ITEMS[key].title} would make the spec invalid: {problems[0]}")
    return after, _edit_text(key, slot, layer)


def _edit_text(key: str, slot: str, layer: Layer) -> str:
    from .grouping import ffn_label, mixer_label

    title = ITEMS[key].title
    if slot == SLOT_MIXER and ITEMS[key].category != "position":
        return f"Replace {mixer_label(layer.mixer)} with {title}"
    if slot == SLOT_FFN:
        return f"Replace {ffn_label(layer.ffn)} feed-forward with {title}"
    return f"Apply {title}"
