"""Multi-head latent attention (DeepSeek V2/V3, Kimi K2, Mistral Large 3) and DeepSeek
V3.2's sparse indexer (GLM-5's too), with everything the rest of ArchScope asks of them.

Its torch module is `app/model/mla.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker, at
from ..cost import Cost, MixerSite, Step
from ..parts import Rope, theta_text

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class SparseIndexer:
    """DeepSeek sparse attention's lightning indexer: cheap ReLU scores pick the top-k
    cached tokens each query attends to (DeepSeek V3.2, GLM-5). Its queries come from the
    MLA query latent, its single key head is LayerNorm-ed, and RoPE turns the first
    qk_rope_head_dim channels of each indexer head, with MLA's angles."""

    num_heads: int
    head_dim: int
    top_k: int
    # How the indexer lays out its rope pairs: DeepSeek V3.2 splits halves (i, i + D/2) even
    # though its MLA interleaves; GLM-5 (glm_moe_dsa) interleaves (2i, 2i+1), as its MLA does.
    rope_interleaved: bool = False


@dataclass(frozen=True)
class MultiHeadLatentAttention:
    """MLA (DeepSeek V2/V3): keys and values come from a compressed latent of
    kv_lora_rank values plus one shared rope key, which is all the cache holds."""

    kind: ClassVar[str] = "mla"
    attends_to_context: ClassVar[bool] = True
    recurrent: ClassVar[bool] = False
    cache_window: ClassVar[int] = 0  # its latent cache keeps every token
    is_local: ClassVar[bool] = False
    canvas_style: ClassVar[str] = "mla"
    title: ClassVar[str] = "Latent attention (MLA)"
    num_heads: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int = 0  # 0: queries are not compressed
    rope: Rope | None = None  # None: NoPE (Kimi Linear), the rope channels stay unrotated
    qkv_bias: bool = False
    indexer: SparseIndexer | None = None
    # Mistral Large 3 ("llama_4_scaling" in its params.json) scales queries by
    # 1 + query_position_scale * log(1 + floor(pos / query_position_floor)); 0: off
    query_position_scale: float = 0.0
    query_position_floor: int = 8192
    # LongCat-Flash (mla_scale_q_lora, mla_scale_kv_lora): queries times sqrt(d_model /
    # q_lora_rank) and the normed KV latent times sqrt(d_model / kv_lora_rank), so the
    # low-rank paths keep a width-independent scale. The latent is cached scaled.
    latent_scale: bool = False

    # --- derived facts ---

    @property
    def num_kv_heads(self) -> int:
        """Each head gets keys and values of its own from the latent."""
        return self.num_heads

    @property
    def query_key_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def position_kind(self) -> str:
        return "NoPE" if self.rope is None else "RoPE"

    # --- the analysis ---

    def params(self, d: int) -> int:
        h, rope = self.num_heads, self.qk_rope_head_dim
        q_out = h * (self.qk_nope_head_dim + rope)
        if self.q_lora_rank:
            query = d * self.q_lora_rank + self.q_lora_rank + self.q_lora_rank * q_out
        else:
            query = d * q_out
        latent = d * (self.kv_lora_rank + rope) + self.kv_lora_rank
        expand = self.kv_lora_rank * h * (self.qk_nope_head_dim + self.v_head_dim)
        total = query + latent + expand + h * self.v_head_dim * d
        if self.qkv_bias:  # on the down-projections and the output; an uncompressed q_proj has none
            total += self.q_lora_rank + self.kv_lora_rank + rope + d
        if self.indexer is not None:
            index = self.indexer
            query_in = self.q_lora_rank or d
            total += query_in * index.num_heads * index.head_dim  # indexer queries
            total += d * index.head_dim + 2 * index.head_dim  # its single key head, LayerNorm
            total += d * index.num_heads  # per-head weights of the index scores
        return total

    def vector_params(self, d: int) -> int:
        """The latents' norms (and the indexer key's), and biases."""
        norms = (self.q_lora_rank + self.kv_lora_rank
                 + (2 * self.indexer.head_dim if self.indexer is not None else 0))
        biases = (self.q_lora_rank + self.kv_lora_rank + self.qk_rope_head_dim + d) if self.qkv_bias else 0
        return norms + biases

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        index_key = self.indexer.head_dim if self.indexer is not None else 0
        return self.kv_lora_rank + self.qk_rope_head_dim + index_key

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        return 0

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        head = self.qk_nope_head_dim + self.qk_rope_head_dim + self.v_head_dim
        if self.indexer is not None:
            index = self.indexer
            return (2 * self.num_heads * head * min(context_len, index.top_k)
                    + 2 * index.num_heads * index.head_dim * context_len)
        return 2 * self.num_heads * head * context_len

    # --- the roofline ---

    @property
    def point_kind(self) -> str:
        return "sparse MLA" if self.indexer is not None else "MLA"

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """A decode step attends over the cached latents themselves (the key and value
        up-projections folded into the query and the output, costed as the projections
        they are); a prefill expands every key's latent into per-head keys and values."""
        keys = step.context + step.tokens
        latent = self.kv_lora_rank + self.qk_rope_head_dim
        index_key = self.indexer.head_dim if self.indexer is not None else 0
        per_token = step.batch * step.dtype_bytes
        cache = per_token * ((latent + index_key) * step.tokens + index_key * keys)  # written; index keys read
        heads = self.num_heads
        flops = 0
        activations = 0
        attended = keys
        if self.indexer is not None:
            index = self.indexer
            # every past token is scored: one key head dotted with each indexer head, then weighed
            flops += 2 * step.rows * index.num_heads * (index.head_dim + 1) * keys
            attended = min(keys, index.top_k) if step.tokens == 1 else keys
        if step.tokens == 1:
            cache += per_token * latent * attended
            flops += 2 * step.rows * heads * (2 * self.kv_lora_rank + self.qk_rope_head_dim) * attended
        else:
            cache += per_token * latent * keys
            expand = self.kv_lora_rank * heads * (self.qk_nope_head_dim + self.v_head_dim)
            # the up-projection runs over every key, not once per query row as costed already
            flops += 2 * step.batch * (keys - step.tokens) * expand
            head_qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            flops += 2 * step.rows * heads * (head_qk + self.v_head_dim) * attended
            activations += step.batch * keys * heads * (head_qk + self.v_head_dim) * step.dtype_bytes
        return step.projections(self, site.d_model) + Cost(cache_bytes=cache, flops=flops,
                                                           activation_bytes=activations)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "kv_lora_rank", "qk_nope_head_dim",
                       "qk_rope_head_dim", "v_head_dim")
        check.non_negative(self, path, "q_lora_rank", "query_position_scale")
        check.positive(self, path, "query_position_floor")
        if self.rope is not None:
            check.rope(self.rope, at(path, "rope"), self.qk_rope_head_dim)
        if self.latent_scale and not self.q_lora_rank:  # sqrt(d / q_lora_rank) needs a query latent
            check.add(at(path, "latent_scale"), "scales by sqrt(d_model / q_lora_rank): needs q_lora_rank > 0")
        if self.indexer is not None:
            index_path = at(path, "indexer")
            check.positive(self.indexer, index_path, "num_heads", "head_dim", "top_k")
            if not self.q_lora_rank:  # the indexer's queries are read from the query latent
                check.add(at(path, "q_lora_rank"), "the sparse indexer needs a query latent (q_lora_rank > 0)")
            if self.indexer.head_dim < self.qk_rope_head_dim:  # it rotates its first rope channels
                check.add(at(index_path, "head_dim"), f"{self.indexer.head_dim} is smaller than "
                          f"qk_rope_head_dim {self.qk_rope_head_dim}")
            if self.indexer.rope_interleaved and self.rope is not None and not self.rope.interleaved:
                # (GLM-5's indexer interleaves as its MLA does; no model pairs the two the other way)
                check.add(at(index_path, "rope_interleaved"), "an interleaved indexer needs MLA's rope "
                          "interleaved too")

    def explored(self, shrink: Shrinker) -> MultiHeadLatentAttention:
        rope_dim = max(8, self.qk_rope_head_dim // 4)
        indexer = self.indexer
        if indexer is not None:
            indexer = replace(indexer, num_heads=min(indexer.num_heads, 8), head_dim=shrink.head_dim(indexer.head_dim),
                              top_k=shrink.window(indexer.top_k))
        return replace(
            self, num_heads=min(self.num_heads, shrink.max_heads),
            kv_lora_rank=shrink.multiple(self.kv_lora_rank / 8),
            q_lora_rank=self.q_lora_rank and shrink.multiple(self.q_lora_rank / 8),
            qk_nope_head_dim=shrink.head_dim(self.qk_nope_head_dim), qk_rope_head_dim=rope_dim,
            v_head_dim=shrink.head_dim(self.v_head_dim),
            rope=shrink.rope(self.rope, self.qk_rope_head_dim, rope_dim), indexer=indexer,
        )

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> MultiHeadLatentAttention:
        """What the palette's MLA item drops: latent and rope widths in DeepSeek V3's
        proportions to the model's own heads."""
        rope_dim = max(16, head_dim // 2 // 2 * 2)
        latent = 4 * head_dim
        return cls(num_heads=heads, kv_lora_rank=latent, qk_nope_head_dim=head_dim, qk_rope_head_dim=rope_dim,
                   v_head_dim=head_dim, q_lora_rank=3 * latent if d_model >= 4096 else 0,
                   rope=Rope(rope_theta, rope_dim) if rope_theta is not None else None)

    def attention_heads(self) -> tuple[int, int, float]:
        """(heads, head dim, rope theta) of the softmax attention that stands in for this
        one when a palette drop needs plain heads: its query heads at its value width."""
        return self.num_heads, self.v_head_dim, self.rope.theta if self.rope else 10_000.0

    def with_position(self, key: str, eps: float) -> MultiHeadLatentAttention:
        """This MLA with the palette's position item applied: RoPE or NoPE on its rope
        channels; ValueError for the items that do not apply to it."""
        if key == "nope":
            return replace(self, rope=None)
        if key == "rope":
            return replace(self, rope=self.rope or Rope(10_000.0, self.qk_rope_head_dim))
        raise ValueError("does not apply to MLA: its rotary channels are qk_rope_head_dim")

    # --- words ---

    def box_lines(self) -> list[str]:
        lines = [f"{self.num_heads} heads · KV latent {self.kv_lora_rank}+{self.qk_rope_head_dim}"]
        query = f"q latent {self.q_lora_rank}" if self.q_lora_rank else "full-rank queries"
        lines.append(f"{query} · v dim {self.v_head_dim}")
        extras = ["NoPE" if self.rope is None else f"RoPE θ {theta_text(self.rope.theta)}"]
        if self.indexer is not None:
            extras.append(f"sparse top-{self.indexer.top_k}")
        if self.latent_scale:
            extras.append("latents scaled")
        lines.append(" · ".join(extras))
        return lines

    def label(self, say_global: bool = False) -> str:
        return "MLA" + (" + sparse indexer" if self.indexer else "") + (" (NoPE)" if self.rope is None else "")

    def describe(self) -> str:
        text = f"MLA {self.num_heads}h latent {self.kv_lora_rank}+{self.qk_rope_head_dim}"
        if self.indexer is not None:
            text += f" DSA top-{self.indexer.top_k}"
        if self.rope is None:
            text += " NoPE"
        return text

    headline = describe
    pattern_label: ClassVar[str] = "MLA"
