"""Analytic figures of an ArchSpec: parameters (total and active per token), KV-cache
and recurrent-state bytes, and FLOPs per token. Reads only the spec.

The parameter counts follow the reference implementation's module layout exactly, so
tests can compare them with transformers' own count of a meta-device model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arch import ArchSpec
from .components import Layer
from .ffn import known_ffn
from .mixers import known_mixer
from .parts import norm_params
from .vision_analysis import VisionAnalysis, analyze_vision, tokens_held

# --- parameters of each component ------------------------------------------------------


def mixer_params(mixer, d: int) -> int:
    return known_mixer(mixer).params(d)


def ffn_params(ffn, d: int) -> tuple[int, int]:
    """(total, active per token)."""
    known_ffn(ffn)
    return ffn.params(d), ffn.active_params(d)


def hyper_connection_layer_params(spec: ArchSpec) -> int:
    """A layer's two maps of DeepSeek V4's hyper-connections (0 without them)."""
    return spec.hyper_connections.layer_params(spec.d_model) if spec.hyper_connections is not None else 0


def on_device_layer_params(spec: ArchSpec, layer: Layer) -> int:
    """A layer's share of Gemma 3n's parts: LAuReL, the AltUp predict/correct
    coefficients and router, and the gate that mixes in its per-layer embedding; and
    ZAYA1's learned residual scales and biases."""
    d = spec.d_model
    total = layer.learned_residual_params_per_width * d
    if layer.laurel_rank:
        total += 2 * d * layer.laurel_rank + norm_params(layer.norm, d)
    if spec.altup is not None:
        n = spec.altup.num_inputs
        # correct and predict coefficients, the router and its norm, the output scale
        total += n * n + n * n * n + d * n + norm_params(layer.norm, d) + d
    if spec.per_layer_embedding is not None:
        total += 2 * d * spec.per_layer_embedding.width + norm_params(layer.norm, d)
    return total


def stream_params(spec: ArchSpec) -> int:
    """Model-level parts of Gemma 3n besides the tables: the projection of the token
    embedding into per-layer inputs (and its norm), and AltUp's projections into and out
    of the extra streams; ZAYA1's learned scale and bias of the embedding."""
    d = spec.d_model
    total = 2 * d if spec.embedding_affine else 0
    if spec.per_layer_embedding is not None:
        width = spec.per_layer_embedding.width
        total += d * spec.num_layers * width + norm_params(spec.final_norm, width)
    if spec.altup is not None:
        total += 2 * (spec.altup.num_inputs - 1) * d * d
    if spec.hyper_connections is not None:  # the final collapse of the streams
        total += spec.hyper_connections.head_params(d)
    return total


def layer_norm_count(layer: Layer) -> int:
    return layer.norm_count


# --- cache and state --------------------------------------------------------------------


TOKEN_ID_BYTES = 8  # an int64 token id, as torch and the reference keep them


def kv_values_per_token(mixer) -> int:
    """Values a layer appends to its cache for each token (none when it reuses another's,
    none without a mixer)."""
    return 0 if mixer is None else known_mixer(mixer).kv_values_per_token()


def cache_window(mixer) -> int:
    """Tokens a layer keeps at most; 0 when it keeps them all."""
    return 0 if mixer is None else known_mixer(mixer).cache_window


POOLING_FIELDS = ("entry_values", "entry_tokens", "pending_values", "carried_values")


def pooling(mixer) -> dict:
    """A layer that pools its past into entries (DeepSeek V4's CSA/HCA): values per entry,
    tokens per entry, values kept per token of the window not yet pooled, and values carried
    from the last closed window into the next entry; {} for every other layer."""
    if mixer is None or not hasattr(known_mixer(mixer), "compressed_entry"):
        return {}
    values, rate = mixer.compressed_entry()
    return dict(zip(POOLING_FIELDS, (values, rate, mixer.pending_values(), mixer.overlap_values())))


def state_values(mixer) -> int:
    """Values of a recurrent layer's constant-size state: the recurrence plus the conv
    window, which the caches of transformers (and of mamba_ssm and fla) keep at the full
    conv_kernel inputs per channel."""
    return 0 if mixer is None else known_mixer(mixer).state_values()


def attention_flops_per_token(mixer, context_len: int, image_features: int = 0) -> int:
    """Multiply-adds x2 of the score and value products (or the recurrence) for one query
    at this context (a cross-attention layer's query attends to the image's features)."""
    return 0 if mixer is None else known_mixer(mixer).score_flops_per_token(context_len, image_features)


# --- the analysis -----------------------------------------------------------------------


@dataclass(frozen=True)
class LayerRow:
    index: int
    mixer: str
    ffn: str
    params: int
    active_params: int
    kv_values_per_token: int  # appended per token, until `window` tokens are held
    window: int  # 0: unbounded
    state_values: int  # constant, whatever the context
    # DeepSeek V4's pooled entries: `entry_values` cached per `entry_tokens` tokens, without
    # bound, beside the window; and, per token of the window not yet pooled, `pending_values`
    entry_values: int = 0
    entry_tokens: int = 0
    pending_values: int = 0
    carried_values: int = 0  # held once the first entry is pooled

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> float:
        """Bytes a token adds while the window fills: its own, and its share of a pooled
        entry (a fraction of one, for a layer that pools)."""
        pooled = self.entry_values / self.entry_tokens if self.entry_tokens else 0
        own = self.kv_values_per_token * dtype_bytes
        return own + pooled * dtype_bytes if pooled else own

    def kv_bytes_at(self, context_len: int, dtype_bytes: int = 2) -> int:
        tokens = min(context_len, self.window) if self.window else context_len
        values = tokens * self.kv_values_per_token + self.state_values
        if self.entry_tokens:
            entries, pending = divmod(context_len, self.entry_tokens)
            values += entries * self.entry_values + pending * self.pending_values
            values += self.carried_values if entries else 0
        return values * dtype_bytes


@dataclass(frozen=True)
class Analysis:
    spec: ArchSpec
    layers: tuple[LayerRow, ...]
    embedding_params: int  # token (and learned position) embeddings
    head_params: int  # output projection; 0 when tied to the embeddings
    final_norm_params: int
    mtp_params: int  # estimate of the multi-token-prediction modules, not in total_params
    # Gemma 3n: the per-layer embedding table, looked up only (it can live off the
    # accelerator), and the model-level projections of the PLE and AltUp streams
    per_layer_embedding_params: int = 0
    stream_params: int = 0
    vision: VisionAnalysis | None = None  # the image path of a multimodal spec
    # LongCat-Flash-Lite's hashed n-gram tables (looked up, a row per table and token: in the
    # total, not in what a token computes) and their projections to d_model (computed: both)
    ngram_table_params: int = 0
    ngram_projection_params: int = 0
    # and the token ids its cache keeps to hash the next token's n-grams (the last N-1):
    # int64 ids whatever the model's dtype, constant from the first token on
    context_token_bytes: int = 0

    @property
    def vision_params(self) -> int:
        return self.vision.params if self.vision is not None else 0

    @property
    def _model_level_params(self) -> int:
        """Outside the decoder layers. A vision front-end counts whole, in total and
        active alike: an image passes through all of it."""
        return (self.embedding_params + self.head_params + self.final_norm_params
                + self.per_layer_embedding_params + self.stream_params + self.vision_params
                + self.ngram_projection_params)

    @property
    def total_params(self) -> int:
        return self._model_level_params + self.ngram_table_params + sum(row.params for row in self.layers)

    @property
    def active_params(self) -> int:
        """Parameters a token passes through: routed experts count top_k times, not all (with
        zero experts, the real ones among them); of the n-gram tables only their projections,
        a table row being a lookup as the token embedding's is (the token embedding itself is
        counted, as it is for every model here)."""
        return self._model_level_params + sum(row.active_params for row in self.layers)

    @property
    def non_embedding_params(self) -> int:
        return (self.total_params - self.embedding_params - self.head_params - self.per_layer_embedding_params
                - self.vision_params - self.ngram_table_params)

    @property
    def accelerator_params(self) -> int:
        """What must sit on the accelerator: all but the per-layer embedding table
        (Gemma 3n's "effective" parameters, E2B's 2B, count these plus no vision/audio)."""
        return self.total_params - self.per_layer_embedding_params

    def image_kv_bytes_at(self, context_len: int, image_positions: range, dtype_bytes: int = 2) -> list[int]:
        """Per layer, the cache bytes that image tokens at image_positions occupy after
        context_len tokens (a sliding layer may have let them go). With cross-attention
        (method B) an image takes no positions: its keys and values sit in the
        cross-attention layers, whatever the context."""
        vision = self.spec.vision
        if vision is not None and vision.method == "cross_attention":
            return [known_mixer(layer.mixer).kv_values_per_image(vision) * dtype_bytes
                    if layer.mixer is not None else 0 for layer in self.spec.layers]
        return [tokens_held(row.window, context_len, image_positions) * row.kv_values_per_token * dtype_bytes
                for row in self.layers]

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """Cache bytes each new token adds while every window is still filling."""
        return sum(row.kv_bytes_per_token(dtype_bytes) for row in self.layers)

    def kv_bytes_at(self, context_len: int, dtype_bytes: int = 2) -> int:
        """Cache and state bytes held at this context length: sliding layers stop at their
        window, recurrent layers hold their constant state; an N-gram embedding's token ids."""
        return sum(row.kv_bytes_at(context_len, dtype_bytes) for row in self.layers) + self.context_token_bytes

    def state_bytes(self, dtype_bytes: int = 2) -> int:
        return sum(row.state_values for row in self.layers) * dtype_bytes + self.context_token_bytes

    def flops_per_token(self, context_len: int = 0) -> int:
        """Forward FLOPs for one token at this context: 2 per active weight (the
        embedding lookup is free, the output head is not) plus attention itself. A
        cross-attention layer's key and value projections run once per image (see
        VisionAnalysis.flops_per_image); its queries attend to one image's features."""
        per_image = self.vision.cross_kv_params if self.vision is not None else 0
        matmul = 2 * (self.active_params - self.embedding_params - self.per_layer_embedding_params
                      - self.vision_params - per_image)
        if self.spec.tie_embeddings:
            matmul += 2 * self.spec.vocab_size * self.spec.d_model
        features = self.spec.vision.encoder.features_per_image if self.spec.vision is not None else 0
        attention = sum(attention_flops_per_token(layer.mixer, context_len, features) for layer in self.spec.layers)
        streams = self.spec.hyper_connections
        if streams is not None:  # the streams' collapse, spread and mix around every sublayer
            attention += self.spec.num_layers * streams.stream_flops_per_token(self.spec.d_model)
        return matmul + attention


def describe_mixer(mixer) -> str:
    """One line for the layer table ("GQA 32/8x128 sliding 4096"); "-" for none."""
    return "-" if mixer is None else known_mixer(mixer).describe()


def describe_ffn(ffn) -> str:
    return "-" if ffn is None else known_ffn(ffn).describe()


def analyze(spec: ArchSpec) -> Analysis:
    d = spec.d_model
    rows = []
    for index, layer in enumerate(spec.layers):
        norms = (layer_norm_count(layer) * norm_params(layer.norm, d) + on_device_layer_params(spec, layer)
                 + hyper_connection_layer_params(spec))
        mixer = mixer_params(layer.mixer, d) if layer.mixer is not None else 0
        ffn_total, ffn_active = ffn_params(layer.ffn, d) if layer.ffn is not None else (0, 0)
        rows.append(LayerRow(
            index=index,
            mixer=describe_mixer(layer.mixer),
            ffn=describe_ffn(layer.ffn),
            params=norms + mixer + ffn_total,
            active_params=norms + mixer + ffn_active,
            kv_values_per_token=kv_values_per_token(layer.mixer),
            window=cache_window(layer.mixer),
            state_values=state_values(layer.mixer),
            **pooling(layer.mixer),
        ))
    extra_rows = spec.vision.extra_token_rows if spec.vision is not None else 0
    embedding = (spec.vocab_size + spec.learned_positions + extra_rows) * d
    head = 0 if spec.tie_embeddings else spec.vocab_size * d
    # An MTP module is one more decoder layer plus two norms and a 2d -> d projection.
    mtp = spec.mtp_layers * (rows[-1].params + 2 * d * d + 3 * d) if rows else 0
    ple = spec.per_layer_embedding
    ple_table = ple.vocab_size * spec.num_layers * ple.width if ple is not None else 0
    cross_kv = sum(known_mixer(layer.mixer).per_image_params(d) for layer in spec.layers
                   if layer.mixer is not None)
    vision = analyze_vision(spec.vision, d, cross_kv) if spec.vision is not None else None
    ngram = spec.ngram_embedding
    return Analysis(spec, tuple(rows), embedding, head, norm_params(spec.final_norm, d), mtp,
                    per_layer_embedding_params=ple_table, stream_params=stream_params(spec), vision=vision,
                    ngram_table_params=ngram.table_params(spec.vocab_size, d) if ngram is not None else 0,
                    ngram_projection_params=ngram.projection_params(d) if ngram is not None else 0,
                    context_token_bytes=ngram.context_tokens() * TOKEN_ID_BYTES if ngram is not None else 0)
