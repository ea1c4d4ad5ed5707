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

from dataclasses import asdict, dataclass, replace

from .arch import ArchSpec
from .cost import Cost, MixerSite, Step
from .ffn import known_ffn
from .mixers import known_mixer
from .on_device import kv_sources
from .parts import norm_params


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


def predict_ms(row: Cost, roofs: Roofs) -> float:
    """The least time the device needs for this row: bound by memory or by arithmetic. A
    layer's mixer and feed-forward run one after the other, each bound by its own roof, so
    a layer's least time is the sum of its two parts' (what the probe times them as)."""
    if isinstance(row, CostRow) and row.layer is not None:
        return _roof_ms(row.mixer, roofs) + _roof_ms(row.ffn, roofs)
    return _roof_ms(row, roofs)


def _roof_ms(cost: Cost, roofs: Roofs) -> float:
    return max(cost.bytes / roofs.bandwidth_bytes_per_s, cost.flops / roofs.flops_per_s) * 1e3


@dataclass(frozen=True)
class MatrixBytes:
    """Bytes per weight of the projections a model really holds, where they are not the
    run's dtype (a GGUF file's matrices kept low-bit): each layer's mixer and feed-forward
    parts, the output head and the embedding table."""

    mixer: tuple[float, ...]
    ffn: tuple[float, ...]
    head: float
    embedding: float

    def to_dict(self) -> dict:
        return {"mixer": list(self.mixer), "ffn": list(self.ffn), "head": self.head, "embedding": self.embedding}

    @staticmethod
    def from_dict(document: dict) -> MatrixBytes:
        return MatrixBytes(tuple(document["mixer"]), tuple(document["ffn"]), document["head"], document["embedding"])


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
    return "" if mixer is None else known_mixer(mixer).point_kind


def ffn_point_kind(ffn) -> str:
    return "" if ffn is None else known_ffn(ffn).point_kind


def _on_device_costs(spec: ArchSpec, layer, step: Step) -> tuple[Cost, Cost]:
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


def _mixer_cost(spec: ArchSpec, index: int, step: Step, sources: list, base: Cost) -> Cost:
    """base: what the mixer's part reads besides the mixer itself (its norms, Gemma 3n's parts)."""
    mixer = known_mixer(spec.layers[index].mixer)
    source = sources[index]
    source_window = spec.layers[source].mixer.cache_window if source is not None and source >= 0 else None
    return base + mixer.step_cost(step, MixerSite(spec.d_model, source_window, spec.vision))


def _ffn_cost(spec: ArchSpec, index: int, step: Step, routing: dict | None, base: Cost) -> Cost:
    """base: what the feed-forward's part reads besides the feed-forward itself."""
    routed = routing.get(str(index)) if routing else None
    return base + known_ffn(spec.layers[index].ffn).step_cost(step, spec.d_model, routed)


def step_cost(spec: ArchSpec, phase: str = "decode", tokens: int = 1, context: int = 0, batch: int = 1,
              dtype_bytes: int = 2, routing: dict | None = None, matrices: MatrixBytes | None = None) -> list[CostRow]:
    """What one forward step costs, row by row: each layer (index order), then the
    embedding lookup, the output head and sampling.

    phase "prefill": `tokens` prompt tokens after `context` cached ones (0 for a fresh
    prompt); "decode": one new token (tokens=1) at `context` cached tokens. routing: a
    snapshot step's {"<layer index>": [tokens per expert]} -- the experts an MoE layer
    really read; without it, the expected number under uniform routing. matrices: the
    projections' real bytes per weight, where some are low-bit.
    """
    if phase not in ("prefill", "decode"):
        raise ValueError(f"phase: expected 'prefill' or 'decode', found {phase!r}")
    if phase == "decode" and tokens != 1:
        raise ValueError(f"tokens: a decode step computes 1 token, found {tokens}")
    if tokens < 1 or context < 0 or batch < 1 or dtype_bytes < 1:
        raise ValueError(f"tokens, batch and dtype_bytes must be positive and context not negative; found "
                         f"tokens={tokens}, context={context}, batch={batch}, dtype_bytes={dtype_bytes}")
    step = Step(phase, tokens, context, batch, dtype_bytes)
    sources = kv_sources(spec)
    rows = []
    for index, layer in enumerate(spec.layers):
        # each sublayer's norms (two when sandwiched), and Gemma 3n's parts as the probe splits them
        norms = Cost(weight_bytes=(2 if layer.norm_placement == "sandwich" else 1)
                     * norm_params(layer.norm, spec.d_model) * step.dtype_bytes)
        on_device = _on_device_costs(spec, layer, step)
        mixer_step = step if matrices is None else replace(step, matrix_bytes=matrices.mixer[index])
        ffn_step = step if matrices is None else replace(step, matrix_bytes=matrices.ffn[index])
        mixer = (_mixer_cost(spec, index, mixer_step, sources, norms + on_device[0]) if layer.mixer is not None
                 else Cost())
        # a parallel block's feed-forward reads the mixer's normed input: its one norm is the mixer's
        ffn_norms = Cost() if layer.parallel else norms
        ffn = _ffn_cost(spec, index, ffn_step, routing, ffn_norms + on_device[1]) if layer.ffn is not None else Cost()
        # Gemma 4's block-output scalar: one value (a buffer) read as the block ends
        scalar = Cost(weight_bytes=step.dtype_bytes) if layer.scaled_output else Cost()
        if layer.ffn is not None:
            ffn = ffn + scalar
        else:
            mixer = mixer + scalar
        if layer.learned_residual:  # ZAYA1: each sublayer's residual sum reads its four vectors
            vectors = Cost(weight_bytes=4 * spec.d_model * step.dtype_bytes)
            mixer = mixer + vectors if layer.mixer is not None else mixer
            ffn = ffn + vectors if layer.ffn is not None else ffn
        total = mixer + ffn
        rows.append(CostRow(total.weight_bytes, total.cache_bytes, total.activation_bytes, total.flops,
                            name=f"layer {index}", layer=index, kind="layer",
                            mixer_kind=mixer_point_kind(layer.mixer), mixer=mixer,
                            ffn_kind=ffn_point_kind(layer.ffn), ffn=ffn))
    rows.append(_embedding_row(spec, step, matrices.embedding if matrices is not None else step.dtype_bytes))
    rows.append(_head_row(spec, step if matrices is None else replace(step, matrix_bytes=matrices.head)))
    rows.append(_sampling_row(spec, step))
    return rows


def _embedding_row(spec: ArchSpec, step: Step, table_bytes: float) -> CostRow:
    """The lookup reads one table row per token (and a learned position's row); Gemma 3n
    also looks up each token's per-layer embeddings, projects the token's embedding into
    them and spreads it into AltUp's extra streams."""
    d = spec.d_model
    looked_up = d * (2 if spec.learned_positions else 1)
    cost = Cost(weight_bytes=round(step.rows * looked_up * table_bytes),
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


def _head_row(spec: ArchSpec, step: Step) -> CostRow:
    """The final norm and the output projection, for the last position of each row only
    (a prefill needs no more); Gemma 3n first merges its AltUp streams."""
    d = spec.d_model
    last = replace(step, tokens=1)
    cost = Cost(weight_bytes=norm_params(spec.final_norm, d) * step.dtype_bytes)
    cost = cost + last.matmul(spec.vocab_size * d, d, spec.vocab_size)
    if spec.altup is not None:
        cost = cost + last.matmul((spec.altup.num_inputs - 1) * d * d, d, d)
    return CostRow(cost.weight_bytes, cost.cache_bytes, cost.activation_bytes, cost.flops, name="head", kind="head")


def _sampling_row(spec: ArchSpec, step: Step) -> CostRow:
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
                 dtype_bytes: int, routing: dict | None = None, matrices: MatrixBytes | None = None) -> StepPrediction:
    rows = step_cost(spec, phase, tokens, context, batch, dtype_bytes, routing, matrices)
    by_name = {row.name: predict_ms(row, roofs) for row in rows[spec.num_layers:]}
    return StepPrediction([predict_ms(row, roofs) for row in rows[:spec.num_layers]], by_name["embedding"],
                          by_name["head"], by_name["sampling"])
