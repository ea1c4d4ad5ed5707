"""The building blocks of a decoder layer, as plain frozen data.

Every class here describes one box of the architecture diagrams in the "Big LLM
Architecture Comparison": what it is and its published sizes, nothing about how it
runs. `app/model` turns each into a torch module; `app/spec/analysis` counts it.
Union members carry a `kind` tag so that the JSON form says which box it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

# --- normalization and positions -------------------------------------------------------


@dataclass(frozen=True)
class Norm:
    """LayerNorm or RMSNorm. `unit_offset` scales by (1 + w) with w initialised at zero:
    Gemma's RMSNorm and the "zero-centered" RMSNorm of Qwen3-Next are this formula.
    kind "l2" is a weightless L2 normalization (Llama 4's QK-norm)."""

    kind: Literal["rmsnorm", "layernorm", "l2"] = "rmsnorm"
    eps: float = 1e-6
    unit_offset: bool = False
    bias: bool = False  # LayerNorm's additive term


def norm_params(norm: Norm, width: int) -> int:
    if norm.kind == "l2":
        return 0
    return width * (2 if norm.bias else 1)


@dataclass(frozen=True)
class RopeScaling:
    """Context extension of RoPE. `type` follows the Hugging Face `rope_type` names."""

    type: Literal["linear", "llama3", "yarn"]
    factor: float
    original_max_position: int = 0  # llama3, yarn
    low_freq_factor: float = 1.0  # llama3
    high_freq_factor: float = 4.0  # llama3
    beta_fast: float = 32.0  # yarn
    beta_slow: float = 1.0  # yarn
    mscale: float = 1.0  # yarn (DeepSeek)
    mscale_all_dim: float = 0.0  # yarn (DeepSeek): also rescales the softmax
    truncate: bool = True  # yarn (gpt-oss sets False)
    # yarn: the cos/sin scale when a config states it (Olmo 3 does); 0: derived from
    # factor and mscale as transformers does
    attention_factor: float = 0.0


@dataclass(frozen=True)
class Rope:
    """Rotary positions on the first `rotary_dim` channels of each head (partial RoPE
    when that is less than the head dimension)."""

    theta: float
    rotary_dim: int
    scaling: RopeScaling | None = None
    interleaved: bool = False  # pairs (2i, 2i+1) instead of halves (GLM, GPT-J style)


@dataclass(frozen=True)
class QKNorm:
    """Normalization of queries and keys before the dot product: per head over head_dim
    (Qwen3, Gemma 3), or over all heads of the layer at once (OLMo 2, MiniMax-M2)."""

    scope: Literal["head", "all_heads"]
    norm: Norm


# --- token mixers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attention:
    """Softmax attention: MHA when num_kv_heads == num_heads, MQA when 1, GQA between.
    A sliding window or a chunk limits what a query sees; rope None means NoPE."""

    kind: ClassVar[str] = "attention"
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
    logit_softcap: float = 0.0  # Gemma 2 / Grok: cap * tanh(scores / cap); 0: none
    query_pre_attn_scalar: float = 0.0  # Gemma: scale = scalar ** -0.5; 0: head_dim
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

    # --- its answers (see MIXER_ANSWERS) ---

    def params(self, d: int) -> int:
        q_width = self.num_heads * self.head_dim * (2 if self.output_gate else 1)
        # a layer that shares another's keys and values has no projections (or norms) for them
        k_width = 0 if self.shared_kv else self.num_kv_heads * self.head_dim
        v_width = 0 if self.shared_kv else self.num_kv_heads * self.v_dim
        out_width = self.num_heads * self.v_dim
        total = d * (q_width + k_width + v_width) + out_width * d
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

    def kv_values_per_token(self) -> int:
        return 0 if self.shared_kv else self.num_kv_heads * (self.head_dim + self.v_dim)

    def state_values(self) -> int:
        return 0

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        seen = min(context_len, self.cache_window) if self.cache_window else context_len
        return 2 * self.num_heads * (self.head_dim + self.v_dim) * seen


@dataclass(frozen=True)
class SparseIndexer:
    """DeepSeek sparse attention's lightning indexer: cheap ReLU scores pick the top-k
    cached tokens each query attends to (DeepSeek V3.2). Its queries come from the MLA
    query latent, its single key head is LayerNorm-ed, and RoPE (half-split, never
    interleaved) turns the first qk_rope_head_dim channels of each indexer head."""

    num_heads: int
    head_dim: int
    top_k: int


@dataclass(frozen=True)
class MultiHeadLatentAttention:
    """MLA (DeepSeek V2/V3): keys and values come from a compressed latent of
    kv_lora_rank values plus one shared rope key, which is all the cache holds."""

    kind: ClassVar[str] = "mla"
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

    cache_window: ClassVar[int] = 0  # its latent cache keeps every token

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

    def kv_values_per_token(self) -> int:
        index_key = self.indexer.head_dim if self.indexer is not None else 0
        return self.kv_lora_rank + self.qk_rope_head_dim + index_key

    def state_values(self) -> int:
        return 0

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        head = self.qk_nope_head_dim + self.qk_rope_head_dim + self.v_head_dim
        if self.indexer is not None:
            index = self.indexer
            return (2 * self.num_heads * head * min(context_len, index.top_k)
                    + 2 * index.num_heads * index.head_dim * context_len)
        return 2 * self.num_heads * head * context_len


@dataclass(frozen=True)
class GatedDeltaNet:
    """Gated DeltaNet linear attention (Qwen3-Next): a constant-size state per head,
    updated by the delta rule with a scalar decay gate, after a short causal conv."""

    kind: ClassVar[str] = "gated_deltanet"
    num_key_heads: int
    num_value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int = 4
    norm_eps: float = 1e-6  # the gated RMSNorm on each head's output (Qwen3-Next: rms_norm_eps)

    cache_window: ClassVar[int] = 0

    def params(self, d: int) -> int:
        key_width = self.num_key_heads * self.key_head_dim
        value_width = self.num_value_heads * self.value_head_dim
        conv_width = 2 * key_width + value_width
        return (
            d * (2 * key_width + 2 * value_width)  # q, k, v and the output gate z
            + d * 2 * self.num_value_heads  # beta and the decay's input
            + conv_width * self.conv_kernel
            + 2 * self.num_value_heads  # dt bias, A
            + self.value_head_dim  # gated RMSNorm over each head's output
            + value_width * d
        )

    def kv_values_per_token(self) -> int:
        return 0

    def state_values(self) -> int:
        conv_width = 2 * self.num_key_heads * self.key_head_dim + self.num_value_heads * self.value_head_dim
        return self.num_value_heads * self.key_head_dim * self.value_head_dim + self.conv_kernel * conv_width

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_value_heads * self.key_head_dim * self.value_head_dim


@dataclass(frozen=True)
class KimiDeltaAttention:
    """Kimi Delta Attention (Kimi Linear): Gated DeltaNet with a channel-wise decay gate.
    The decay gate and the sigmoid output gate are low-rank (d -> head_dim -> width)."""

    kind: ClassVar[str] = "kimi_delta"
    num_heads: int
    head_dim: int
    conv_kernel: int = 4
    norm_eps: float = 1e-5  # the sigmoid-gated output RMSNorm (Kimi Linear: rms_norm_eps)

    cache_window: ClassVar[int] = 0

    def params(self, d: int) -> int:
        width = self.num_heads * self.head_dim
        low_rank = self.head_dim
        return (
            3 * d * width  # q, k, v
            + 3 * width * self.conv_kernel  # a short conv on each
            + 2 * (d * low_rank + low_rank * width)  # channel-wise decay and output gate, low rank
            + d * self.num_heads  # beta
            + self.num_heads + width  # A, dt bias
            + self.head_dim  # output norm
            + width * d
        )

    def kv_values_per_token(self) -> int:
        return 0

    def state_values(self) -> int:
        width = self.num_heads * self.head_dim
        return self.num_heads * self.head_dim**2 + 3 * self.conv_kernel * width

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_heads * self.head_dim**2


@dataclass(frozen=True)
class Mamba2:
    """Mamba-2 selective state-space mixer (Nemotron-H). Its output norm is a gated
    RMSNorm taken over num_groups groups of the inner width."""

    kind: ClassVar[str] = "mamba2"
    num_heads: int
    head_dim: int
    state_size: int
    num_groups: int = 1
    conv_kernel: int = 4
    conv_bias: bool = True
    proj_bias: bool = False
    chunk_size: int = 128
    # softplus(dt + dt_bias) is clamped below at this; transformers' Nemotron-H uses its
    # config's time_step_min (0.001) as the floor and no ceiling
    dt_min: float = 0.0
    norm_eps: float = 1e-5  # the gated output RMSNorm (Nemotron-H: layer_norm_epsilon)

    cache_window: ClassVar[int] = 0

    def params(self, d: int) -> int:
        inner = self.num_heads * self.head_dim
        group_width = 2 * self.num_groups * self.state_size
        in_width = 2 * inner + group_width + self.num_heads
        conv_width = inner + group_width
        total = d * in_width + conv_width * self.conv_kernel + 3 * self.num_heads + inner + inner * d
        if self.conv_bias:
            total += conv_width
        if self.proj_bias:
            total += in_width + d
        return total

    def kv_values_per_token(self) -> int:
        return 0

    def state_values(self) -> int:
        inner = self.num_heads * self.head_dim
        conv_width = inner + 2 * self.num_groups * self.state_size
        return inner * self.state_size + self.conv_kernel * conv_width

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_heads * self.head_dim * self.state_size


@dataclass(frozen=True)
class LightningAttention:
    """Lightning attention (MiniMax-01 / M1): linear attention with a per-head decay,
    computed blockwise; constant-size state. The decay of head h in layer l of L is
    2 ** (-8 (h + 1) / num_heads) * (1 - l / (L - 1)): ALiBi slopes fading with depth."""

    kind: ClassVar[str] = "lightning"
    num_heads: int
    head_dim: int
    block_size: int = 256  # tokens per block of the blockwise prefill (MiniMax config block_size)
    norm_eps: float = 1e-6  # RMSNorm over all heads' output, before the sigmoid gate

    cache_window: ClassVar[int] = 0

    def params(self, d: int) -> int:
        width = self.num_heads * self.head_dim
        return d * 3 * width + d * width + width + width * d  # qkv, output gate, norm, out

    def kv_values_per_token(self) -> int:
        return 0

    def state_values(self) -> int:
        return self.num_heads * self.head_dim**2

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_heads * self.head_dim**2


@dataclass(frozen=True)
class CrossAttention:
    """Attention from the text to an image (Llama 3.2 Vision, method B of joining a vision
    encoder): queries from the text, keys and values from the projected image features,
    per-head QK-norm, and -- when gated -- tanh gates learned from zero on the attention
    and feed-forward outputs, so the layer starts as an identity. Keys and values are
    computed once per image; the text's tokens add nothing to its cache."""

    kind: ClassVar[str] = "cross_attention"
    num_heads: int
    num_kv_heads: int
    head_dim: int
    qk_norm: QKNorm | None = None
    gated: bool = True

    cache_window: ClassVar[int] = 0

    def params(self, d: int) -> int:
        q_width, kv_width = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        total = d * (q_width + 2 * kv_width) + q_width * d
        if self.qk_norm is not None:
            total += 2 * norm_params(self.qk_norm.norm, self.head_dim)
        return total + (2 if self.gated else 0)  # the attention and feed-forward gates

    def kv_values_per_token(self) -> int:
        return 0  # its keys and values are the image's, once per image (vision_analysis)

    def state_values(self) -> int:
        return 0

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 2 * self.num_heads * 2 * self.head_dim * image_features  # its query attends to the image


Mixer = (
    Attention
    | MultiHeadLatentAttention
    | GatedDeltaNet
    | KimiDeltaAttention
    | Mamba2
    | LightningAttention
    | CrossAttention
)
MIXER_TYPES: tuple[type, ...] = (
    Attention,
    MultiHeadLatentAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    Mamba2,
    LightningAttention,
    CrossAttention,
)
# What every mixer kind answers for itself, each in its own class: the analysis and the
# roofline ask the mixer, so a kind that lacks an answer fails at once (tests/spec/
# test_mixer_answers.py) instead of counting as 0.
MIXER_ANSWERS = ("params", "kv_values_per_token", "state_values", "score_flops_per_token", "cache_window")

# --- feed-forward -----------------------------------------------------------------------

# "gelu_tanh" is GPT-2's gelu_new and Gemma's gelu_pytorch_tanh; "relu2" is squared ReLU
# (Nemotron-H); "swiglu_oss" is gpt-oss's clamped SwiGLU with (up + 1).
Activation = Literal["silu", "gelu", "gelu_tanh", "relu2", "swiglu_oss"]


@dataclass(frozen=True)
class MLP:
    """Feed-forward network. Gated: down(act(gate(x)) * up(x)) -- SwiGLU with silu,
    GeGLU with gelu; plain: down(act(up(x))), GPT-2's GELU MLP."""

    kind: ClassVar[str] = "mlp"
    intermediate_size: int
    activation: Activation = "silu"
    gated: bool = True
    bias: bool = False
    # Gemma 3n's first layers: gate values below mean + std * Phi^-1(sparsity) (over each
    # token's gate) are cut to zero before the activation -- a Gaussian top-k; 0: off
    activation_sparsity: float = 0.0


@dataclass(frozen=True)
class Router:
    """How a token picks its experts. DeepSeek V3: sigmoid scores, a correction bias
    that only affects selection (aux-loss-free balancing), group-limited top-k,
    normalized weights times routed_scaling."""

    scoring: Literal["softmax", "sigmoid"] = "softmax"
    normalize_top_k: bool = True
    num_groups: int = 1
    top_k_groups: int = 1
    score_correction_bias: bool = False
    routed_scaling: float = 1.0
    bias: bool = False  # gpt-oss's router has a bias term
    weight_inputs: bool = False  # Llama 4 scales the expert's input, not its output
    logit_softcap: float = 0.0  # Grok 2.5: cap * tanh(logits / cap) before the softmax; 0: none


@dataclass(frozen=True)
class MoE:
    """Mixture of experts: top_k of num_experts routed experts per token, plus shared
    experts every token passes through (their widths summed into one `shared` MLP)."""

    kind: ClassVar[str] = "moe"
    num_experts: int
    top_k: int
    expert: MLP
    router: Router = Router()
    shared: MLP | None = None
    shared_gate: bool = False  # Qwen3-Next: sigmoid(x . w) scales the shared expert
    output_scale: float = 1.0  # Grok 2.5: (shared + routed) / sqrt(2), its "residual MoE"


FeedForward = MLP | MoE
FEED_FORWARD_TYPES: tuple[type, ...] = (MLP, MoE)

# --- a layer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResidualScale:
    """Weights of a residual sum, alpha * residual + beta * sublayer output (MiniMax-M1:
    alpha = 3.5566, beta = 1, from its layernorm_*_alpha / _beta config keys)."""

    alpha: float = 1.0
    beta: float = 1.0


@dataclass(frozen=True)
class Layer:
    """One residual block: a token mixer then a feed-forward network, either may be
    absent (Nemotron-H alternates mixer-only and MoE-only blocks).

    norm_placement: "pre" normalizes each sublayer's input (Llama); "post" normalizes its
    output inside the residual (OLMo 2/3); "sandwich" does both (Gemma 3)."""

    mixer: Mixer | None
    ffn: FeedForward | None
    norm: Norm = Norm()
    norm_placement: Literal["pre", "post", "sandwich"] = "pre"
    # MiniMax-01 / M1 ("postnorm"): the residual carries the normalized input, and both
    # terms are weighted: x = alpha * norm(x) + beta * sublayer(norm(x)), per sublayer
    residual_from_norm: bool = False
    mixer_residual: ResidualScale | None = None  # None: alpha = beta = 1
    ffn_residual: ResidualScale | None = None
    # LAuReL (Gemma 3n): a rank-r learned residual, norm(right(left(x))) + x on the mixer's
    # normalized input, averaged with the mixer's residual sum (both / sqrt 2); 0: none
    laurel_rank: int = 0

    @property
    def mixer_kind(self) -> str:
        return self.mixer.kind if self.mixer is not None else "none"

    @property
    def ffn_kind(self) -> str:
        return self.ffn.kind if self.ffn is not None else "none"
