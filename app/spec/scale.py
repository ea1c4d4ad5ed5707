"""The two smaller scales of a catalog entry.

`explore`: a few tens of millions of parameters with the same structure -- the layer
pattern (a shortened run of it), head grouping, expert sharing, dense-first layers and
windows shrunk in proportion -- so any architecture runs with random weights on a laptop.
`slice`: the published widths, one layer of each distinct kind, to measure true
per-layer cost and extrapolate.
"""

from __future__ import annotations

from dataclasses import replace

from . import on_device
from .arch import ArchSpec
from .components import (
    MLP,
    Attention,
    CrossAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    Layer,
    LightningAttention,
    Mamba2,
    MoE,
    MultiHeadLatentAttention,
    Rope,
)
from .vision import explore_vision

EXPLORE_D_MODEL = 256
EXPLORE_VOCAB = 8192
EXPLORE_MAX_HEADS = 8
EXPLORE_MAX_EXPERTS = 16
EXPLORE_MAX_LAYERS = 12


def _multiple(value: float, step: int = 8, minimum: int = 8) -> int:
    return max(minimum, int(round(value / step)) * step)


def _head_dim(value: int) -> int:
    return max(16, value // 4)


def _window(value: int) -> int:
    return min(max(16, value // 16), 256) if value else 0


class _Shrinker:
    def __init__(self, spec: ArchSpec):
        self.d_model = spec.d_model
        self.ratio = EXPLORE_D_MODEL / spec.d_model
        kv_counts = {layer.mixer.num_kv_heads for layer in spec.layers if isinstance(layer.mixer, Attention)}
        # Set only where layers differ in kv heads (MiMo-V2-Flash's sliding layers have twice
        # its global layers'), so that explore keeps every layer's grouping and their ratio.
        self.fewest_kv_heads = min(kv_counts) if len(kv_counts) > 1 else 0

    def heads(self, heads: int, kv_heads: int) -> tuple[int, int]:
        new_heads = min(heads, EXPLORE_MAX_HEADS)
        fewest = self.fewest_kv_heads
        if fewest and heads % fewest == 0:  # one whole query group of the layers with the fewest kv heads
            new_heads = min(heads, max(new_heads, heads // fewest), 4 * EXPLORE_MAX_HEADS)
        group = heads // kv_heads
        if group > 1 and heads % kv_heads == 0:
            # Whole query groups (or one smaller group) whose head count divides the width, as
            # configs require: Llama 4's 40/8 (groups of 5) -> 4/1, Qwen3's 32/4 -> 8/1.
            new_heads = next(h for h in range(new_heads, 0, -1)
                             if EXPLORE_D_MODEL % h == 0 and (h % group == 0 or h < group))
        new_kv = max(1, round(new_heads * kv_heads / heads))
        while new_heads % new_kv:
            new_kv -= 1
        return new_heads, new_kv

    def rope(self, rope: Rope | None, old_dim: int, new_dim: int) -> Rope | None:
        if rope is None:
            return None
        rotary = new_dim if rope.rotary_dim == old_dim else max(2, (rope.rotary_dim * new_dim // old_dim) // 2 * 2)
        return replace(rope, rotary_dim=rotary)

    def mixer(self, mixer):
        if isinstance(mixer, Attention):
            heads, kv = self.heads(mixer.num_heads, mixer.num_kv_heads)
            head_dim = _head_dim(mixer.head_dim)
            if mixer.num_heads * mixer.head_dim == self.d_model:  # keep heads x head_dim == width
                head_dim = EXPLORE_D_MODEL // heads // 2 * 2  # even, for RoPE's pairs
            return replace(
                mixer, num_heads=heads, num_kv_heads=kv, head_dim=head_dim,
                value_head_dim=_head_dim(mixer.value_head_dim) if mixer.value_head_dim else 0,
                rope=self.rope(mixer.rope, mixer.head_dim, head_dim),
                sliding_window=_window(mixer.sliding_window), chunk_size=_window(mixer.chunk_size),
                # a scalar of 1 (Gemma 3n: unit scaling, its QK-norm bounds the logits) is no width
                query_pre_attn_scalar=head_dim if mixer.query_pre_attn_scalar not in (0.0, 1.0)
                else mixer.query_pre_attn_scalar,
            )
        if isinstance(mixer, CrossAttention):
            heads, kv = self.heads(mixer.num_heads, mixer.num_kv_heads)
            head_dim = _head_dim(mixer.head_dim)
            if mixer.num_heads * mixer.head_dim == self.d_model:  # keep heads x head_dim == width
                head_dim = EXPLORE_D_MODEL // heads
            return replace(mixer, num_heads=heads, num_kv_heads=kv, head_dim=head_dim)
        if isinstance(mixer, MultiHeadLatentAttention):
            rope_dim = max(8, mixer.qk_rope_head_dim // 4)
            indexer = mixer.indexer
            if indexer is not None:
                indexer = replace(indexer, num_heads=min(indexer.num_heads, 8), head_dim=_head_dim(indexer.head_dim),
                                  top_k=_window(indexer.top_k))
            return replace(
                mixer, num_heads=min(mixer.num_heads, EXPLORE_MAX_HEADS),
                kv_lora_rank=_multiple(mixer.kv_lora_rank / 8), q_lora_rank=mixer.q_lora_rank and _multiple(
                    mixer.q_lora_rank / 8),
                qk_nope_head_dim=_head_dim(mixer.qk_nope_head_dim), qk_rope_head_dim=rope_dim,
                v_head_dim=_head_dim(mixer.v_head_dim),
                rope=self.rope(mixer.rope, mixer.qk_rope_head_dim, rope_dim), indexer=indexer,
            )
        if isinstance(mixer, GatedDeltaNet):
            key_heads = min(mixer.num_key_heads, 4)
            return replace(mixer, num_key_heads=key_heads,
                           num_value_heads=key_heads * (mixer.num_value_heads // mixer.num_key_heads),
                           key_head_dim=_head_dim(mixer.key_head_dim), value_head_dim=_head_dim(mixer.value_head_dim))
        if isinstance(mixer, (KimiDeltaAttention, LightningAttention)):
            return replace(mixer, num_heads=min(mixer.num_heads, EXPLORE_MAX_HEADS), head_dim=_head_dim(mixer.head_dim))
        if isinstance(mixer, Mamba2):
            heads = min(mixer.num_heads, EXPLORE_MAX_HEADS)
            groups = max(1, min(mixer.num_groups, heads))
            while heads % groups:
                groups -= 1
            return replace(mixer, num_heads=heads, head_dim=_head_dim(mixer.head_dim),
                           state_size=_head_dim(mixer.state_size), num_groups=groups)
        if mixer is None:  # a feed-forward-only layer
            return None
        raise TypeError(f"explore scale: unknown mixer {type(mixer).__name__}")  # not kept at full width unsaid

    def mlp(self, mlp: MLP) -> MLP:
        return replace(mlp, intermediate_size=_multiple(mlp.intermediate_size * self.ratio))

    def ffn(self, ffn):
        if isinstance(ffn, MLP):
            return self.mlp(ffn)
        if isinstance(ffn, MoE):
            experts = min(ffn.num_experts, EXPLORE_MAX_EXPERTS)
            top_k = ffn.top_k if ffn.num_experts == experts else min(ffn.top_k, max(1, experts // 4))
            router = ffn.router
            groups = min(router.num_groups, experts // 2) or 1
            while experts % groups:
                groups -= 1
            top_groups = max(1, min(groups, round(router.top_k_groups * groups / router.num_groups)))
            while top_groups * experts // groups < top_k:
                top_groups += 1
            return replace(
                ffn, num_experts=experts, top_k=top_k, expert=self.mlp(ffn.expert),
                shared=self.mlp(ffn.shared) if ffn.shared is not None else None,
                router=replace(router, num_groups=groups, top_k_groups=top_groups),
            )
        if ffn is None:  # a mixer-only layer
            return None
        raise TypeError(f"explore scale: unknown feed-forward {type(ffn).__name__}")

    def layer(self, layer: Layer) -> Layer:
        return replace(layer, mixer=self.mixer(layer.mixer), ffn=self.ffn(layer.ffn))


def shortened_pattern(layers: tuple[Layer, ...], max_layers: int = EXPLORE_MAX_LAYERS) -> list[Layer]:
    """A short run of the layer sequence with the same pattern: an irregular prefix (dense
    first layers) kept as is, then whole periods of the repeating body -- two where
    they fit, so the boundary between periods is exercised too."""
    n = len(layers)
    for cost in range(1, n + 1):
        for offset in range(0, min(cost, 4)):
            period = cost - offset
            if period > max(1, (n - offset) // 2):
                continue
            body = layers[offset:]
            if all(body[i] == body[i % period] for i in range(len(body))):
                repeats = 2 if offset + 2 * period <= max_layers else 1
                repeats = max(repeats, -(-4 // period)) if offset + 4 <= max_layers else repeats
                return list(layers[:offset]) + list(body[:period]) * repeats
    # No short period (Nemotron-H's hand-placed pattern): keep a prefix that shows every
    # kind of layer, then any kind the prefix missed.
    chosen = list(layers[:max_layers])
    for layer in layers:
        if layer not in chosen:
            chosen.append(layer)
    return chosen


def explore(spec: ArchSpec) -> ArchSpec:
    shrink = _Shrinker(spec)
    layers = shortened_pattern(tuple(shrink.layer(layer) for layer in spec.layers))
    small = replace(
        spec, name=f"{spec.name} (explore)", d_model=EXPLORE_D_MODEL, vocab_size=min(spec.vocab_size, EXPLORE_VOCAB),
        layers=tuple(layers), learned_positions=min(spec.learned_positions, 1024),
        mtp_layers=min(spec.mtp_layers, 1),
        vision=explore_vision(spec.vision, spec.vocab_size, min(spec.vocab_size, EXPLORE_VOCAB))
        if spec.vision is not None else None,
    )
    return replace(small, **on_device.shrunk(small, shrink.ratio, _multiple))


def explore_counterparts(spec: ArchSpec) -> list[list[int]]:
    """For each layer of `spec`, the layers of explore(spec) built from the same layer (its
    shrunk twin): how a profile of the explore model maps back onto the full diagram."""
    shrink = _Shrinker(spec)
    small = explore(spec).layers
    twins: dict = {}  # per distinct layer: a model has few, repeated many times
    for layer in spec.layers:
        if layer not in twins:
            shrunk = shrink.layer(layer)
            twins[layer] = [j for j, candidate in enumerate(small) if candidate == shrunk]
    return [twins[layer] for layer in spec.layers]


def slice_(spec: ArchSpec) -> ArchSpec:
    distinct: list[Layer] = []
    for layer in spec.layers:
        if layer not in distinct:
            distinct.append(layer)
    return replace(spec, name=f"{spec.name} (slice)", layers=tuple(distinct))
