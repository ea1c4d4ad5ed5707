"""The roofline: what one step of a model must move and compute, and the fastest a device
could do it.

A step (a prefill of T tokens, or a decode step at context C, at batch B) costs each
layer the bytes it must read or write -- its weights (for an MoE layer only the experts the
batch's tokens reach), its KV cache or recurrent state, and its activations -- and the
FLOPs it must perform. A device has two roofs, measured by `archscope calibrate`: the
bandwidth at which it streams memory and the rate at which it multiplies. The step can go no
faster than the slower of bytes / bandwidth and FLOPs / rate; how close a measured time
comes to that is the fraction of roofline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .analysis import (
    attention_flops_per_token,
    cache_window,
    mixer_params,
    mlp_params,
    norm_params,
    state_values,
)
from .arch import ArchSpec
from .components import (
    MLP,
    Attention,
    CrossAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    LightningAttention,
    Mamba2,
    MoE,
    MultiHeadLatentAttention,
)
from .on_device import kv_sources
from .vision_analysis import cross_kv_projection_params, cross_kv_values_per_image


@dataclass(frozen=True)
class Roofs:
    """One device's measured limits for one dtype (see app/runtime/calibrate.py)."""

    device: str  # what was measured: the GPU's name, or the CPU's model
    dtype: str  # "float32" | "bfloat16" | "float16": the matmuls' element type
    bandwidth_bytes_per_s: float  # streaming reads from memory
    flops_per_s: float  # dense matmul throughput in this dtype
    threads: int = 0  # CPU threads the measurement used (0 on a GPU)
    measured: str = ""  # ISO-8601 time of the calibration

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(document: dict) -> Roofs:
        return Roofs(**{name: document[name] for name in Roofs.__dataclass_fields__ if name in document})

    @property
    def ridge_intensity(self) -> float:
        """FLOPs per byte where the two roofs meet: below it a step is bound by memory."""
        return self.flops_per_s / self.bandwidth_bytes_per_s


@dataclass(frozen=True)
class Cost:
    """What a piece of a step moves and computes."""

    weight_bytes: int = 0
    cache_bytes: int = 0  # KV cache or recurrent state, read and written
    activation_bytes: int = 0
    flops: int = 0

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.cache_bytes + self.activation_bytes

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.weight_bytes + other.weight_bytes, self.cache_bytes + other.cache_bytes,
                    self.activation_bytes + other.activation_bytes, self.flops + other.flops)


def predict_ms(row: Cost, roofs: Roofs) -> float:
    """The least time the device needs for this row: bound by memory or by arithmetic. A
    layer's mixer and feed-forward run one after the other, each bound by its own roof, so
    a layer's least time is the sum of its two parts' (what the probe times them as)."""
    if isinstance(row, CostRow) and row.layer is not None:
        return _roof_ms(row.mixer, roofs) + _roof_ms(row.ffn, roofs)
    return _roof_ms(row, roofs)


def _roof_ms(cost: Cost, roofs: Roofs) -> float:
    return max(cost.bytes / roofs.bandwidth_bytes_per_s, cost.flops / roofs.flops_per_s) * 1e3


# The kinds a roofline chart draws one point for: a layer's mixer and feed-forward parts,
# and the model-level rows.
MIXER_POINT_KINDS = ("attention", "sliding window", "MLA", "sparse MLA", "linear mixer", "cross-attention")
FFN_POINT_KINDS = ("dense MLP", "MoE")
MODEL_POINT_KINDS = ("embedding", "head", "sampling")


@dataclass(frozen=True)
class CostRow(Cost):
    """One row of a step: a layer (its totals, and its mixer and feed-forward parts as the
    probe times them), or the embedding lookup, the output head or sampling."""

    name: str = ""  # "layer 3" | "embedding" | "head" | "sampling"
    layer: int | None = None  # the layer's index; None for the model-level rows
    kind: str = ""  # a model-level row's point kind; "layer" for a layer
    mixer_kind: str = ""  # one of MIXER_POINT_KINDS, "" when the layer has no mixer
    mixer: Cost = Cost()
    ffn_kind: str = ""  # one of FFN_POINT_KINDS, "" when the layer has no feed-forward
    ffn: Cost = Cost()


# --- what each part of a layer moves and computes ----------------------------------------


def mixer_point_kind(mixer) -> str:
    """The roofline chart's point kind of a token mixer ("" for none)."""
    if mixer is None:
        return ""
    if isinstance(mixer, Attention):
        return "sliding window" if cache_window(mixer) else "attention"
    if isinstance(mixer, MultiHeadLatentAttention):
        return "sparse MLA" if mixer.indexer is not None else "MLA"
    if isinstance(mixer, CrossAttention):
        return "cross-attention"
    if isinstance(mixer, RECURRENT_MIXERS):
        return "linear mixer"
    raise TypeError(f"unknown mixer {type(mixer).__name__}")


def ffn_point_kind(ffn) -> str:
    if ffn is None:
        return ""
    if isinstance(ffn, MoE):
        return "MoE"
    if isinstance(ffn, MLP):
        return "dense MLP"
    raise TypeError(f"unknown feed-forward {type(ffn).__name__}")


RECURRENT_MIXERS = (GatedDeltaNet, KimiDeltaAttention, Mamba2, LightningAttention)


@dataclass(frozen=True)
class _Step:
    """The shape of the step being costed."""

    phase: str
    tokens: int  # new tokens per batch row
    context: int  # tokens already cached before the step
    batch: int
    dtype_bytes: int

    @property
    def rows(self) -> int:
        """Token rows every projection multiplies."""
        return self.batch * self.tokens

    def matmul(self, params: int, width_in: int = 0, width_out: int = 0) -> Cost:
        """A projection (or several) of `params` weights applied to every token row: the
        weights read once, 2 FLOPs per weight per row, the row's input and output moved."""
        return Cost(weight_bytes=params * self.dtype_bytes, flops=2 * self.rows * params,
                    activation_bytes=self.rows * (width_in + width_out) * self.dtype_bytes)


def expected_experts_reached(num_experts: int, top_k: int, assignments_rows: int) -> float:
    """Experts that at least one of `rows` tokens picks, each token choosing top_k of
    num_experts uniformly: an expert is missed by one token with probability 1 - k/E."""
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** assignments_rows)


def _attention_cost(mixer: Attention, step: _Step, shared_source_window: int | None) -> tuple[int, int]:
    """(cache bytes, attention FLOPs) of softmax attention, as the caches lay tokens out: a
    full cache stores the new tokens, then attention reads all of them back; a window's ring
    is read as far as it is filled, beside the new tokens, and keeps the last `window`."""
    window = cache_window(mixer)
    per_token = step.batch * mixer.num_kv_heads * (mixer.head_dim + mixer.v_dim) * step.dtype_bytes
    new = step.tokens
    if mixer.shared_kv:
        # It reads its source layer's keys and values: a full cache's tokens, or the window
        # the source has already gathered (an activation, not the cache).
        keys = step.context + new if not shared_source_window else min(step.context, shared_source_window) + new
        cache = per_token * keys if not shared_source_window else 0
    elif window:
        keys = min(step.context, window) + new
        cache = per_token * (min(step.context, window) + min(new, window))
    else:
        keys = step.context + new
        cache = per_token * (keys + new)
    flops = 2 * step.rows * mixer.num_heads * (mixer.head_dim + mixer.v_dim) * keys
    return cache, flops


def _mla_cost(mixer: MultiHeadLatentAttention, step: _Step) -> tuple[int, int, int]:
    """(cache bytes, FLOPs beyond the projections, activation bytes) of MLA. A decode step
    attends over the cached latents themselves (the key and value up-projections folded
    into the query and the output, costed as the projections they are); a prefill expands
    every key's latent into per-head keys and values."""
    keys = step.context + step.tokens
    latent = mixer.kv_lora_rank + mixer.qk_rope_head_dim
    index_key = mixer.indexer.head_dim if mixer.indexer is not None else 0
    per_token = step.batch * step.dtype_bytes
    cache = per_token * ((latent + index_key) * step.tokens + index_key * keys)  # written; index keys read
    heads = mixer.num_heads
    flops = 0
    activations = 0
    attended = keys
    if mixer.indexer is not None:
        index = mixer.indexer
        # every past token is scored: one key head dotted with each indexer head, then weighed
        flops += 2 * step.rows * index.num_heads * (index.head_dim + 1) * keys
        attended = min(keys, index.top_k) if step.tokens == 1 else keys
    if step.tokens == 1:
        cache += per_token * latent * attended
        flops += 2 * step.rows * heads * (2 * mixer.kv_lora_rank + mixer.qk_rope_head_dim) * attended
    else:
        cache += per_token * latent * keys
        expand = mixer.kv_lora_rank * heads * (mixer.qk_nope_head_dim + mixer.v_head_dim)
        # the up-projection runs over every key, not once per query row as costed already
        flops += 2 * step.batch * (keys - step.tokens) * expand
        head_qk = mixer.qk_nope_head_dim + mixer.qk_rope_head_dim
        flops += 2 * step.rows * heads * (head_qk + mixer.v_head_dim) * attended
        activations += step.batch * keys * heads * (head_qk + mixer.v_head_dim) * step.dtype_bytes
    return cache, flops, activations


def _recurrent_flops(mixer, step: _Step) -> int:
    """A linear mixer's work on its state matrix per token row, 2 FLOPs per state value per
    product: the delta rules (Gated DeltaNet, Kimi Delta Attention) read it against the key,
    write a rank-one correction and read it against the query; Mamba-2 and lightning
    attention write a rank-one update and read it once. (Decaying the state is one multiply
    per value, not a product.)"""
    if isinstance(mixer, GatedDeltaNet):
        return step.rows * 2 * 3 * mixer.num_value_heads * mixer.key_head_dim * mixer.value_head_dim
    if isinstance(mixer, KimiDeltaAttention):
        return step.rows * 2 * 3 * mixer.num_heads * mixer.head_dim**2
    if isinstance(mixer, Mamba2):
        return step.rows * 2 * 2 * mixer.num_heads * mixer.head_dim * mixer.state_size
    return step.rows * 2 * 2 * mixer.num_heads * mixer.head_dim**2  # lightning


def _on_device_costs(spec: ArchSpec, layer, step: _Step) -> tuple[Cost, Cost]:
    """Gemma 3n's per-layer parts, split as the probe times them: LAuReL and AltUp's
    prediction run with the mixer; AltUp's correction and the per-layer input's gate after
    the feed-forward. The router is read once (its second pass finds it in cache) but
    computes twice; AltUp mixes its N streams with an N x N product per value."""
    d = spec.d_model
    norm = norm_params(layer.norm, d)
    mixer, ffn = Cost(), Cost()
    if layer.laurel_rank:
        mixer = mixer + Cost(weight_bytes=norm * step.dtype_bytes) + step.matmul(2 * d * layer.laurel_rank)
    if spec.altup is not None:
        n = spec.altup.num_inputs
        router = Cost(weight_bytes=norm * step.dtype_bytes) + step.matmul(d * n)
        mixer = mixer + router + step.matmul(n * n * n) + Cost(flops=2 * step.rows * d * n * n)
        ffn = ffn + Cost(flops=router.flops) + step.matmul(n * n) + Cost(weight_bytes=d * step.dtype_bytes)
    if spec.per_layer_embedding is not None:
        ffn = ffn + Cost(weight_bytes=norm * step.dtype_bytes) + step.matmul(2 * d * spec.per_layer_embedding.width)
    return mixer, ffn


def _vector_params(mixer, d: int) -> int:
    """A mixer's parameters that scale, shift or convolve rather than project a token --
    norms, biases, convolution taps, decay rates: read, but no part of a product."""
    if isinstance(mixer, Attention):
        q_width = mixer.num_heads * mixer.head_dim * (2 if mixer.output_gate else 1)
        kv_width = 0 if mixer.shared_kv else mixer.num_kv_heads * (mixer.head_dim + mixer.v_dim)
        return mixer_params(mixer, d) - d * (q_width + kv_width) - mixer.num_heads * mixer.v_dim * d
    if isinstance(mixer, MultiHeadLatentAttention):
        norms = (mixer.q_lora_rank + mixer.kv_lora_rank
                 + (2 * mixer.indexer.head_dim if mixer.indexer is not None else 0))
        biases = (mixer.q_lora_rank + mixer.kv_lora_rank + mixer.qk_rope_head_dim + d) if mixer.qkv_bias else 0
        return norms + biases
    if isinstance(mixer, GatedDeltaNet):
        conv_width = 2 * mixer.num_key_heads * mixer.key_head_dim + mixer.num_value_heads * mixer.value_head_dim
        return conv_width * mixer.conv_kernel + 2 * mixer.num_value_heads + mixer.value_head_dim
    if isinstance(mixer, KimiDeltaAttention):
        width = mixer.num_heads * mixer.head_dim
        return 3 * width * mixer.conv_kernel + mixer.num_heads + width + mixer.head_dim
    if isinstance(mixer, Mamba2):
        inner = mixer.num_heads * mixer.head_dim
        conv_width = inner + 2 * mixer.num_groups * mixer.state_size
        in_width = 2 * inner + 2 * mixer.num_groups * mixer.state_size + mixer.num_heads
        return (conv_width * mixer.conv_kernel + (conv_width if mixer.conv_bias else 0) + 3 * mixer.num_heads
                + inner + ((in_width + d) if mixer.proj_bias else 0))
    if isinstance(mixer, LightningAttention):
        return mixer.num_heads * mixer.head_dim
    if isinstance(mixer, CrossAttention):
        return (2 * norm_params(mixer.qk_norm.norm, mixer.head_dim) if mixer.qk_norm is not None else 0) + \
            (2 if mixer.gated else 0)
    raise TypeError(f"unknown mixer {type(mixer).__name__}")


def _mixer_cost(spec: ArchSpec, index: int, step: _Step, sources: list, base: Cost) -> Cost:
    """base: what the mixer's part reads besides the mixer itself (its norms, Gemma 3n's parts)."""
    mixer = spec.layers[index].mixer
    d = spec.d_model
    vectors = _vector_params(mixer, d)
    cost = base + Cost(weight_bytes=vectors * step.dtype_bytes) + step.matmul(mixer_params(mixer, d) - vectors, d, d)
    if isinstance(mixer, Attention):
        source = sources[index]
        source_window = cache_window(spec.layers[source].mixer) if source is not None and source >= 0 else None
        cache, flops = _attention_cost(mixer, step, source_window)
        return cost + Cost(cache_bytes=cache, flops=flops)
    if isinstance(mixer, MultiHeadLatentAttention):
        cache, flops, activations = _mla_cost(mixer, step)
        return cost + Cost(cache_bytes=cache, flops=flops, activation_bytes=activations)
    if isinstance(mixer, CrossAttention):
        features = spec.vision.encoder.features_per_image if spec.vision is not None else 0
        # its keys and values were computed from the image at the prefill; each step reads them
        cache = step.batch * cross_kv_values_per_image(mixer, spec.vision) * step.dtype_bytes if features else 0
        kv_params = cross_kv_projection_params(mixer, d)
        cost = Cost(cost.weight_bytes - kv_params * step.dtype_bytes * (step.phase == "decode"), cost.cache_bytes,
                    cost.activation_bytes, cost.flops - 2 * step.rows * kv_params)
        return cost + Cost(cache_bytes=cache, flops=step.rows * attention_flops_per_token(mixer, 0, features))
    if isinstance(mixer, RECURRENT_MIXERS):
        state = step.batch * state_values(mixer) * step.dtype_bytes
        return cost + Cost(cache_bytes=2 * state, flops=_recurrent_flops(mixer, step))
    raise TypeError(f"unknown mixer {type(mixer).__name__}")


def _ffn_cost(spec: ArchSpec, index: int, step: _Step, routing: dict | None, base: Cost) -> Cost:
    """base: what the feed-forward's part reads besides the feed-forward itself."""
    ffn = spec.layers[index].ffn
    d = spec.d_model
    if isinstance(ffn, MLP):
        return base + step.matmul(mlp_params(ffn, d), d, d + ffn.intermediate_size)
    if not isinstance(ffn, MoE):
        raise TypeError(f"unknown feed-forward {type(ffn).__name__}")
    router = d * ffn.num_experts + (ffn.num_experts if ffn.router.bias else 0)
    cost = base + step.matmul(router, d, ffn.num_experts)
    if ffn.router.score_correction_bias:  # a buffer, not a parameter, but read all the same
        cost = cost + Cost(weight_bytes=ffn.num_experts * step.dtype_bytes)
    if ffn.shared is not None:
        cost = cost + step.matmul(mlp_params(ffn.shared, d) + (d if ffn.shared_gate else 0), d, d)
    counts = routing.get(str(index)) if routing else None
    reached = (sum(1 for count in counts if count) if counts is not None
               else expected_experts_reached(ffn.num_experts, ffn.top_k, step.rows))
    expert = mlp_params(ffn.expert, d)
    assignments = step.rows * ffn.top_k
    return cost + Cost(weight_bytes=round(reached * expert * step.dtype_bytes), flops=2 * assignments * expert,
                       activation_bytes=assignments * (2 * d + ffn.expert.intermediate_size) * step.dtype_bytes)


def step_cost(spec: ArchSpec, phase: str = "decode", tokens: int = 1, context: int = 0, batch: int = 1,
              dtype_bytes: int = 2, routing: dict | None = None) -> list[CostRow]:
    """What one forward step costs, row by row: each layer (index order), then the
    embedding lookup, the output head and sampling.

    phase "prefill": `tokens` prompt tokens after `context` cached ones (0 for a fresh
    prompt); "decode": one new token (tokens=1) at `context` cached tokens. routing: a
    snapshot step's {"<layer index>": [tokens per expert]} -- the experts an MoE layer
    really read; without it, the expected number under uniform routing.
    """
    if phase not in ("prefill", "decode"):
        raise ValueError(f"phase: expected 'prefill' or 'decode', found {phase!r}")
    if phase == "decode" and tokens != 1:
        raise ValueError(f"tokens: a decode step computes 1 token, found {tokens}")
    if tokens < 1 or context < 0 or batch < 1 or dtype_bytes < 1:
        raise ValueError(f"tokens, batch and dtype_bytes must be positive and context not negative; found "
                         f"tokens={tokens}, context={context}, batch={batch}, dtype_bytes={dtype_bytes}")
    step = _Step(phase, tokens, context, batch, dtype_bytes)
    sources = kv_sources(spec)
    rows = []
    for index, layer in enumerate(spec.layers):
        # each sublayer's norms (two when sandwiched), and Gemma 3n's parts as the probe splits them
        norms = Cost(weight_bytes=(2 if layer.norm_placement == "sandwich" else 1)
                     * norm_params(layer.norm, spec.d_model) * step.dtype_bytes)
        on_device = _on_device_costs(spec, layer, step)
        mixer = (_mixer_cost(spec, index, step, sources, norms + on_device[0]) if layer.mixer is not None
                 else Cost())
        ffn = _ffn_cost(spec, index, step, routing, norms + on_device[1]) if layer.ffn is not None else Cost()
        total = mixer + ffn
        rows.append(CostRow(total.weight_bytes, total.cache_bytes, total.activation_bytes, total.flops,
                            name=f"layer {index}", layer=index, kind="layer",
                            mixer_kind=mixer_point_kind(layer.mixer), mixer=mixer,
                            ffn_kind=ffn_point_kind(layer.ffn), ffn=ffn))
    rows.append(_embedding_row(spec, step))
    rows.append(_head_row(spec, step))
    rows.append(_sampling_row(spec, step))
    return rows


def _embedding_row(spec: ArchSpec, step: _Step) -> CostRow:
    """The lookup reads one table row per token (and a learned position's row); Gemma 3n
    also looks up each token's per-layer embeddings, projects the token's embedding into
    them and spreads it into AltUp's extra streams."""
    d = spec.d_model
    looked_up = d * (2 if spec.learned_positions else 1)
    cost = Cost(weight_bytes=step.rows * looked_up * step.dtype_bytes,
                activation_bytes=step.rows * d * step.dtype_bytes)
    ple = spec.per_layer_embedding
    if ple is not None:
        width = spec.num_layers * ple.width
        cost = cost + Cost(weight_bytes=step.rows * width * step.dtype_bytes)
        cost = cost + step.matmul(d * width, d, width) + Cost(weight_bytes=norm_params(spec.final_norm, ple.width)
                                                            * step.dtype_bytes)
    if spec.altup is not None:
        cost = cost + step.matmul((spec.altup.num_inputs - 1) * d * d, d, d)
    return CostRow(cost.weight_bytes, cost.cache_bytes, cost.activation_bytes, cost.flops, name="embedding",
                   kind="embedding")


def _head_row(spec: ArchSpec, step: _Step) -> CostRow:
    """The final norm and the output projection, for the last position of each row only
    (a prefill needs no more); Gemma 3n first merges its AltUp streams."""
    d = spec.d_model
    last = _Step(step.phase, 1, step.context, step.batch, step.dtype_bytes)
    cost = Cost(weight_bytes=norm_params(spec.final_norm, d) * step.dtype_bytes)
    cost = cost + last.matmul(spec.vocab_size * d, d, spec.vocab_size)
    if spec.altup is not None:
        cost = cost + last.matmul((spec.altup.num_inputs - 1) * d * d, d, d)
    return CostRow(cost.weight_bytes, cost.cache_bytes, cost.activation_bytes, cost.flops, name="head", kind="head")


def _sampling_row(spec: ArchSpec, step: _Step) -> CostRow:
    """Picking the next token reads each row's logits once (greedy; sampling filters
    read them a few times more); it multiplies nothing."""
    return CostRow(activation_bytes=step.batch * spec.vocab_size * step.dtype_bytes, name="sampling",
                   kind="sampling")


@dataclass(frozen=True)
class StepPrediction:
    """The roofline's least time for each part of one step, in milliseconds."""

    layer_ms: list[float]
    embedding_ms: float
    head_ms: float
    sample_ms: float

    @property
    def total_ms(self) -> float:
        return sum(self.layer_ms) + self.embedding_ms + self.head_ms + self.sample_ms


def predict_step(spec: ArchSpec, roofs: Roofs, phase: str, tokens: int, context: int, batch: int,
                 dtype_bytes: int, routing: dict | None = None) -> StepPrediction:
    rows = step_cost(spec, phase, tokens, context, batch, dtype_bytes, routing)
    by_name = {row.name: predict_ms(row, roofs) for row in rows[spec.num_layers:]}
    return StepPrediction([predict_ms(row, roofs) for row in rows[:spec.num_layers]], by_name["embedding"],
                          by_name["head"], by_name["sampling"])
