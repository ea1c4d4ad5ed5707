"""Softmax attention over the sequence's own keys and values: MHA, GQA, MQA, with the
article's variants (sliding window, chunked local, NoPE, QK-norm, sinks, output gates,
softcap) and everything the rest of ArchScope asks of it. The query-head count is the
layer's own: a family whose layers differ there (Laguna: 48 on its global layers, 64 on its
sliding ones) lists them layer by layer like any other field.

Its torch module is `app/model/attention.py`; its canvas colours are `theme.KIND_COLOURS`
under `canvas_style`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker, at
from ..cost import Cost, MixerSite, Step
from ..parts import Norm, QKNorm, Rope, norm_params, theta_text

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class Attention:
    """Softmax attention: MHA when num_kv_heads == num_heads, MQA when 1, GQA between.
    A sliding window or a chunk limits what a query sees; rope None means NoPE."""

    kind: ClassVar[str] = "attention"
    attends_to_context: ClassVar[bool] = True
    recurrent: ClassVar[bool] = False
    num_heads: int
    num_kv_heads: int
    head_dim: int
    value_head_dim: int = 0  # 0: same as head_dim (MiMo-V2-Flash differs)
    rope: Rope | None = None
    sliding_window: int = 0  # 0: global
    chunk_size: int = 0  # Llama 4 chunked local attention; 0: none
    qkv_bias: bool = False
    out_bias: bool = False
    qk_norm: QKNorm | None = None
    sinks: bool = False  # gpt-oss: a learned logit per head that absorbs attention mass
    output_gate: bool = False  # Qwen3-Next: sigmoid gate from the query projection
    # Laguna: softplus(x W_g) scales the attention output before o_proj, from a projection of
    # its own (g_proj, no bias): one gate per query head ("head") or per output channel
    # ("element"); "": none
    softplus_gate: str = ""
    # AFMoE (Trinity) and Step 3.5: sigmoid(x W_g) in the same place, from a projection of its
    # own (gate_proj / g_proj, no bias): per channel (Trinity) or per head (Step); "": none.
    # Qwen3-Next's output_gate is the same sigmoid per channel, its W_g interleaved into q_proj.
    sigmoid_gate: str = ""
    logit_softcap: float = 0.0  # Gemma 2 / Grok: cap * tanh(scores / cap); 0: none
    query_pre_attn_scalar: float = 0.0  # Gemma: scale = scalar ** -0.5; 0: head_dim
    # Granite: the softmax scale itself, its config's attention_multiplier (1/128 where
    # 1/sqrt(head_dim) would be 1/11.3); 0: from query_pre_attn_scalar. One of the two, never both.
    query_scale: float = 0.0
    temperature_tuning: bool = False  # Llama 4 NoPE layers scale queries with position
    # Llama 4's query scale 1 + temperature_scale * log1p(floor((pos + 1) / temperature_floor)),
    # its config's attn_scale and floor_scale; used only when temperature_tuning is set
    temperature_floor: int = 8192
    temperature_scale: float = 0.1
    value_scale: float = 1.0  # MiMo-V2-Flash multiplies the values by attention_value_scale (0.707)
    value_norm: Norm | None = None  # Gemma 3n: each value head RMS-normalized (kind "l2": no learned scale)
    # Gemma 3n's last layers: reuse the keys and values of the last earlier layer of the same
    # kind that computes its own (app/spec/on_device.kv_sources); no k/v projections, no cache
    shared_kv: bool = False
    # Gemma 4's global layers (attention_k_eq_v): no value projection; the values are the key
    # projection's output before the key norm and RoPE, value-normed. The cache still keeps
    # both (keys rotated, values not), so its bytes are those of keys and values.
    keys_as_values: bool = False

    # --- derived facts ---

    @property
    def v_dim(self) -> int:
        return self.value_head_dim or self.head_dim

    @property
    def cache_window(self) -> int:
        """The most recent tokens a query can see, so all the layer's cache must keep; 0:
        every token. With both a window and a chunk a query sees the keys inside both, and
        those all lie within the last min(window, chunk) positions."""
        limits = [limit for limit in (self.sliding_window, self.chunk_size) if limit]
        return min(limits, default=0)

    @property
    def is_local(self) -> bool:
        """Sees only the last tokens (a sliding window or a chunk)."""
        return bool(self.sliding_window or self.chunk_size)

    @property
    def grouping(self) -> str:
        """How query heads share key/value heads: "MHA", "GQA" or "MQA"."""
        kv, heads = self.num_kv_heads, self.num_heads
        return "MHA" if kv == heads else "MQA" if kv == 1 else "GQA"

    @property
    def projected_gate(self) -> str:
        """The granularity of the gate that has a projection of its own (softplus or
        sigmoid): "head", "element", or "" when there is none."""
        return self.softplus_gate or self.sigmoid_gate

    @property
    def gate_projection_width(self) -> int:
        """The gate projection's outputs: one per head, one per channel, or none."""
        return {"": 0, "head": self.num_heads, "element": self.num_heads * self.v_dim}.get(self.projected_gate, 0)

    @property
    def gates_output(self) -> bool:
        """An output gate (Qwen3-Next's sigmoid from the query projection, Laguna's softplus or
        Trinity's and Step's sigmoid from a projection of its own) scales what o_proj reads."""
        return self.output_gate or bool(self.projected_gate)

    @property
    def query_key_dim(self) -> int:
        return self.head_dim

    @property
    def position_kind(self) -> str:
        if self.rope is None:
            return "NoPE"
        return "partial RoPE" if self.rope.rotary_dim < self.head_dim else "RoPE"

    # --- the analysis ---

    def params(self, d: int) -> int:
        q_width = self.num_heads * self.head_dim * (2 if self.output_gate else 1)
        # a layer that shares another's keys and values has no projections (or norms) for them
        k_width = 0 if self.shared_kv else self.num_kv_heads * self.head_dim
        v_width = 0 if self.shared_kv or self.keys_as_values else self.num_kv_heads * self.v_dim
        out_width = self.num_heads * self.v_dim
        total = d * (q_width + k_width + v_width + self.gate_projection_width) + out_width * d
        if self.qkv_bias:
            total += q_width + k_width + v_width
        if self.out_bias:
            total += d
        if self.qk_norm is not None:
            norm = self.qk_norm.norm
            if self.qk_norm.scope == "head":
                total += (1 if self.shared_kv else 2) * norm_params(norm, self.head_dim)
            else:
                total += norm_params(norm, self.num_heads * self.head_dim) + norm_params(norm, k_width)
        if self.value_norm is not None and not self.shared_kv:
            total += norm_params(self.value_norm, self.v_dim)
        if self.sinks:
            total += self.num_heads
        return total

    def vector_params(self, d: int) -> int:
        """Parameters that scale or shift rather than project a token: biases, norms, sinks."""
        q_width = self.num_heads * self.head_dim * (2 if self.output_gate else 1)
        kv_width = 0 if self.shared_kv else self.num_kv_heads * (self.head_dim + self.v_dim)
        if self.keys_as_values and not self.shared_kv:
            kv_width -= self.num_kv_heads * self.v_dim
        return (self.params(d) - d * (q_width + kv_width + self.gate_projection_width)
                - self.num_heads * self.v_dim * d)

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 0 if self.shared_kv else self.num_kv_heads * (self.head_dim + self.v_dim)

    def kv_values_per_image(self, vision) -> int:
        return 0  # an image's tokens sit in its cache as tokens, counted per token

    def state_values(self) -> int:
        return 0

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        seen = min(context_len, self.cache_window) if self.cache_window else context_len
        return 2 * self.num_heads * (self.head_dim + self.v_dim) * seen

    # --- the roofline ---

    @property
    def point_kind(self) -> str:
        return "sliding window" if self.cache_window else "attention"

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """The cache as the caches lay tokens out: a full cache stores the new tokens, then
        attention reads all of them back; a window's ring is read as far as it is filled,
        beside the new tokens, and keeps the last `window`."""
        window = self.cache_window
        per_token = step.batch * self.num_kv_heads * (self.head_dim + self.v_dim) * step.dtype_bytes
        new = step.tokens
        if self.shared_kv:
            # It reads its source layer's keys and values: a full cache's tokens, or the window
            # the source has already gathered (an activation, not the cache).
            source_window = site.source_window
            keys = step.context + new if not source_window else min(step.context, source_window) + new
            cache = per_token * keys if not source_window else 0
        elif window:
            keys = min(step.context, window) + new
            cache = per_token * (min(step.context, window) + min(new, window))
        else:
            keys = step.context + new
            cache = per_token * (keys + new)
        flops = 2 * step.rows * self.num_heads * (self.head_dim + self.v_dim) * keys
        return step.projections(self, site.d_model) + Cost(cache_bytes=cache, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "num_kv_heads", "head_dim")
        check.non_negative(self, path, "value_head_dim", "sliding_window", "chunk_size",
                           "logit_softcap", "query_pre_attn_scalar", "query_scale")
        if self.query_scale and self.query_pre_attn_scalar:
            check.add(at(path, "query_scale"), f"the softmax scale is given twice: query_scale "
                      f"{self.query_scale!r} and query_pre_attn_scalar {self.query_pre_attn_scalar!r}; set one")
        if self.temperature_tuning:
            check.positive(self, path, "temperature_floor", "temperature_scale")
        check.positive(self, path, "value_scale")
        check.divides(path, "num_kv_heads", self.num_kv_heads, "num_heads", self.num_heads)
        for field in ("softplus_gate", "sigmoid_gate"):
            if getattr(self, field) not in ("", "head", "element"):
                check.add(at(path, field), f"expected \"head\", \"element\" or \"\" (none), "
                          f"found {getattr(self, field)!r}")
        if self.softplus_gate and self.sigmoid_gate:
            check.add(at(path, "sigmoid_gate"), f"one projected gate at most: softplus_gate is "
                      f"{self.softplus_gate!r} already")
        if self.rope is not None:
            check.rope(self.rope, at(path, "rope"), self.head_dim)
        if self.qk_norm is not None:
            check.norm(self.qk_norm.norm, at(path, "qk_norm.norm"))
        if self.value_norm is not None:
            check.norm(self.value_norm, at(path, "value_norm"))
        if self.keys_as_values and self.v_dim != self.head_dim:
            check.add(at(path, "keys_as_values"), f"values taken from the keys have the keys' width "
                      f"{self.head_dim}, found value_head_dim {self.v_dim}")

    def explored(self, shrink: Shrinker) -> Attention:
        heads, kv = shrink.heads(self.num_heads, self.num_kv_heads)
        head_dim = shrink.head_dim(self.head_dim)
        if self.num_heads * self.head_dim == shrink.d_model:  # keep heads x head_dim == width
            head_dim = shrink.width // heads // 2 * 2  # even, for RoPE's pairs
        return replace(
            self, num_heads=heads, num_kv_heads=kv, head_dim=head_dim,
            value_head_dim=shrink.head_dim(self.value_head_dim) if self.value_head_dim else 0,
            rope=shrink.rope(self.rope, self.head_dim, head_dim),
            sliding_window=shrink.window(self.sliding_window), chunk_size=shrink.window(self.chunk_size),
            # a scalar of 1 (Gemma 3n: unit scaling, its QK-norm bounds the logits) is no width
            query_pre_attn_scalar=head_dim if self.query_pre_attn_scalar not in (0.0, 1.0)
            else self.query_pre_attn_scalar,
            # Granite's multiplier is 1 / head_dim (muP): it keeps that proportion to the head
            query_scale=self.query_scale * self.head_dim / head_dim,
        )

    def with_position(self, key: str, eps: float) -> Attention:
        """This attention with the palette's position item `key` applied ("rope",
        "partial_rope", "nope", "qk_norm"); ValueError, its reason following the item's
        name, when it already has it."""
        theta = self.rope.theta if self.rope else 10_000.0
        scaling = self.rope.scaling if self.rope else None
        if key == "rope":
            return replace(self, rope=Rope(theta, self.head_dim, scaling))
        if key == "partial_rope":
            return replace(self, rope=Rope(theta, self.head_dim // 2 // 2 * 2, scaling))
        if key == "nope":
            return replace(self, rope=None)
        if self.qk_norm is not None:
            raise ValueError("does not apply: this attention already normalizes its queries and keys")
        return replace(self, qk_norm=QKNorm("head", Norm("rmsnorm", eps)))

    # --- words ---

    @property
    def canvas_style(self) -> str:
        return "sliding" if self.is_local else "attention"

    @property
    def title(self) -> str:
        """The box's title: "Grouped-query attention", "Sliding-window GQA"."""
        grouping = self.grouping
        name = {"MHA": "Multi-head attention", "MQA": "Multi-query attention"}.get(grouping, "Grouped-query attention")
        if self.sliding_window:
            name = "Sliding-window " + grouping
        elif self.chunk_size:
            name = "Chunked " + grouping
        return ("Gated " + name[0].lower() + name[1:]) if self.gates_output else name

    def box_lines(self) -> list[str]:
        heads = f"{self.num_heads} heads · {self.num_kv_heads} KV · dim {self.head_dim}"
        if self.rope is None:
            positions = "NoPE"
        elif self.rope.frequency_dim:
            positions = f"proportional RoPE {self.rope.rotary_dim}/{self.head_dim}"
        elif self.rope.rotary_dim < self.head_dim:
            positions = f"partial RoPE {self.rope.rotary_dim}/{self.head_dim}"
        else:
            positions = f"RoPE θ {theta_text(self.rope.theta)}"
        if self.rope is not None and self.rope.scaling is not None:
            positions += f" {self.rope.scaling.type}"
        extras = []
        if self.sliding_window:
            extras.append(f"window {self.sliding_window}")
        if self.chunk_size:
            extras.append(f"chunk {self.chunk_size}")
        if self.qk_norm is not None:
            extras.append("QK-norm" + (" (all heads)" if self.qk_norm.scope == "all_heads" else ""))
        if self.sinks:
            extras.append("sinks")
        if self.output_gate:
            extras.append("output gate")
        if self.projected_gate:
            function = "softplus" if self.softplus_gate else "sigmoid"
            extras.append(f"{function} gate per " + ("head" if self.projected_gate == "head" else "channel"))
        if self.logit_softcap:
            extras.append(f"softcap {self.logit_softcap:g}")
        if self.query_scale:
            extras.append(f"scale 1/{1 / self.query_scale:g}" if (1 / self.query_scale).is_integer()
                          else f"scale {self.query_scale:g}")
        if self.qkv_bias:
            extras.append("QKV bias")
        if self.shared_kv:
            extras.append("KV shared (no cache)")
        if self.keys_as_values:
            extras.append("K = V")
        return [heads, positions, " · ".join(extras)] if extras else [heads, positions]

    def label(self, say_global: bool = False) -> str:
        """A few words for a group header: "sliding-window GQA", "global MHA (NoPE)"."""
        name = self.grouping
        if self.gates_output:
            name = f"gated {name}"
        if self.sliding_window:
            return f"sliding-window {name}"
        if self.chunk_size:
            return f"chunked {name}"
        if self.rope is None and not say_global:
            return f"NoPE {name}"
        return (f"global {name}" if say_global else name) + (" (NoPE)" if self.rope is None and say_global else "")

    def headline(self) -> str:
        """What the catalog's attention column starts with: heads and widths, and the
        variants shared by every layer ("GQA 16/2x256 gated") unless the first layer is
        local or NoPE, whose pattern the column spells out after it."""
        if self.is_local or self.rope is None:
            return self._sizes()
        return self.describe()

    def _sizes(self) -> str:
        return f"{self.grouping} {self.num_heads}/{self.num_kv_heads}x{self.head_dim}"

    def describe(self) -> str:
        """One line for the layer table: "GQA 32/8x128 sliding 4096 gated"."""
        text = self._sizes()
        if self.sliding_window:
            text += f" sliding {self.sliding_window}"
        if self.chunk_size:
            text += f" chunked {self.chunk_size}"
        if self.rope is None:
            text += " NoPE"
        if self.gates_output:
            text += " gated"
        if self.sinks:
            text += " sinks"
        if self.shared_kv:
            text += " shared KV"
        if self.keys_as_values:
            text += " K=V"
        return text

    @property
    def pattern_label(self) -> str:
        """Its kind without its sizes, for the catalog's pattern: "sliding 1024", "global"."""
        if self.sliding_window:
            return f"sliding {self.sliding_window}"
        if self.chunk_size:
            return f"chunked {self.chunk_size}"
        return "global"
