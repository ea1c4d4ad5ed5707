"""The decoder: embeddings, a stack of residual blocks, the final norm and the output head.

A block places its norms as the spec says: before each sublayer (Pre-Norm), after it
inside the residual (OLMo 2/3's Post-Norm), or both (Gemma 3's sandwich). Gemma 3n's
parts join where its spec has them: a LAuReL branch beside the mixer, AltUp streams
around each block, per-layer embeddings into the streams, KV sharing between layers.
Gemma 4 adds its per-layer embeddings to the one residual stream (it has no AltUp) and
scales each block's output by a learned scalar, and its mixture of experts reads the block's
un-normed input beside the normed one. A parallel block (Cohere) runs the mixer and the
feed-forward on one normed input and adds both to the residual.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..spec import ArchSpec, Layer
from ..spec.ffn import known_ffn
from ..spec.on_device import kv_sources
from . import moe
from .altup import AltUp, AltUpStreams
from .cache import ModelCache
from .hyper_connections import HyperConnection, HyperHead
from .laurel import Laurel
from .memory_fit import require_cache
from .ngram_embedding import NgramEmbedding
from .norms import ResidualScaling, make_norm
from .packing import store_input_major, use_decode_linears
from .lowbit import LowBitEmbedding
from .per_layer_embedding import PerLayerEmbedding, PerLayerInput
from .rope import RotaryTable
from .step import LayerObserver, Step, marked


class DecoderBlock(nn.Module):
    def __init__(self, index: int, layer: Layer, d_model: int, make_mixer, make_ffn, spec: ArchSpec | None = None):
        """spec: the whole model's, for the parts that wrap every block (Gemma 3n's AltUp
        and per-layer inputs)."""
        super().__init__()
        self.index = index
        self.layer = layer
        pre = layer.norm_placement in ("pre", "sandwich")
        post = layer.norm_placement in ("post", "sandwich")

        def norm_if(wanted: bool, sublayer) -> nn.Module | None:
            return make_norm(layer.norm, d_model) if wanted and sublayer is not None else None

        self.mixer = make_mixer(layer.mixer) if layer.mixer is not None else None
        self.ffn = make_ffn(layer.ffn) if layer.ffn is not None else None
        # LongCat's shortcut MoE: its routed sum joins the residual at the end of the next block
        self.ffn_shortcut = bool(getattr(layer.ffn, "shortcut", False))
        # Gemma 4's MoE: its router and experts read the block's un-normed input as well
        self.ffn_reads_residual = layer.ffn is not None and known_ffn(layer.ffn).reads_residual
        self.pre_mixer_norm = norm_if(pre, self.mixer)
        self.post_mixer_norm = norm_if(post, self.mixer)
        # a parallel block's feed-forward reads the mixer's normed input: it has no norm of its own
        self.pre_ffn_norm = norm_if(pre and not layer.parallel, self.ffn)
        self.post_ffn_norm = norm_if(post, self.ffn)
        self.laurel = Laurel(d_model, layer.laurel_rank, layer.norm) \
            if layer.laurel_rank and self.mixer is not None else None
        altup = spec.altup if spec is not None else None
        ple = spec.per_layer_embedding if spec is not None else None
        self.altup = AltUp(altup, d_model, layer.norm) if altup is not None else None
        # DeepSeek V4: the residual as several streams, around each sublayer; and its first
        # layers' fixed table of experts per token id (tid2eid), which their router reads
        streams = spec.hyper_connections if spec is not None else None
        self.mixer_streams = HyperConnection(streams, d_model, layer.norm.eps) \
            if streams is not None and self.mixer is not None else None
        self.ffn_streams = HyperConnection(streams, d_model, layer.norm.eps) \
            if streams is not None and self.ffn is not None else None
        hashed = getattr(getattr(layer.ffn, "router", None), "hash_routed", False)
        self.register_buffer("token_experts", torch.zeros(spec.vocab_size, layer.ffn.top_k, dtype=torch.long)
                             if hashed else None)
        self.per_layer_input = PerLayerInput(d_model, ple.width, ple.activation, layer.norm) \
            if ple is not None else None
        # Gemma 4's layer_scalar, loaded from the checkpoint (1 in a random-weight build)
        self.register_buffer("output_scale", torch.ones(1) if layer.scaled_output else None)
        # ZAYA1: learned scales and biases on each sublayer's residual sum
        self.mixer_residual_scale = ResidualScaling(d_model) \
            if layer.learned_residual and self.mixer is not None else None
        self.ffn_residual_scale = ResidualScaling(d_model) if layer.learned_residual and self.ffn is not None else None
        # ZAYA1's MoE router reads (and leaves) a state in the step
        self.ffn_takes_step = getattr(getattr(layer.ffn, "router", None), "mlp_width", 0) > 0

    def _residual(self, x, pre, sublayer, post, weights, *args, learned=None):
        normed = pre(x) if pre is not None else x
        out = sublayer(normed, *args)
        if post is not None:
            out = post(out)
        # MiniMax-01/M1 carry the normalized input in the residual and weight both terms.
        base = normed if self.layer.residual_from_norm else x
        if learned is not None:
            out = learned(out, base)
        elif weights is None:
            out = base + out
        else:
            out = weights.alpha * base + weights.beta * out
        if self.laurel is not None and sublayer is self.mixer:
            # Gemma 3n: the mixer's residual sum and LAuReL's, averaged at unit variance.
            out = (out + self.laurel(normed)) / math.sqrt(2)
        return out

    def _sublayers(self, x: torch.Tensor, step: Step, cache) -> torch.Tensor:
        layer = self.layer
        if layer.parallel:  # x + mixer(norm(x)) + ffn(norm(x)): one norm, one residual sum
            normed = self.pre_mixer_norm(x)
            mixed = marked(step.observer, self.mixer(normed, step, cache), self.index, "mixer")
            return x + mixed + self.ffn(normed, *((x,) if self.ffn_reads_residual else ()))
        if self.mixer is not None:
            x = self._residual(x, self.pre_mixer_norm, self.mixer, self.post_mixer_norm, layer.mixer_residual,
                               step, cache, learned=self.mixer_residual_scale)
        x = marked(step.observer, x, self.index, "mixer")
        if self.ffn is not None and self.ffn_shortcut:
            # LongCat-Flash: the experts and the dense MLP read one normed input; the dense MLP
            # joins now, the experts' sum waits for the next block (step.shortcut)
            normed = self.pre_ffn_norm(x)
            step.shortcut = self.ffn.routed(normed)
            if self.ffn.shared is not None:
                x = x + self.ffn.shared_part(normed)
        elif self.ffn is not None:
            gate = getattr(self.mixer, "gate_ffn", None)  # a cross-attention layer gates its feed-forward output
            ffn = self.ffn if gate is None else (lambda h, *rest, inner=self.ffn: gate(inner(h, *rest), step))
            if self.ffn_takes_step:
                ffn = (lambda h, *rest, inner=ffn: inner(h, *rest, step=step))
            residual = (x,) if self.ffn_reads_residual else ()
            x = self._residual(x, self.pre_ffn_norm, ffn, self.post_ffn_norm, layer.ffn_residual, *residual,
                               learned=self.ffn_residual_scale)
        return x

    def _through_streams(self, x: torch.Tensor, step: Step, cache) -> torch.Tensor:
        """DeepSeek V4's block on the streams x [B, T, n, d]: each sublayer reads their
        collapse and refills them (app/model/hyper_connections.py)."""
        if self.mixer is not None:
            collapsed, post, comb = self.mixer_streams(x)
            x = HyperConnection.refill(x, self.mixer(self.pre_mixer_norm(collapsed), step, cache), post, comb)
        x = marked(step.observer, x, self.index, "mixer")
        if self.ffn is not None:
            if self.token_experts is not None:
                step.hashed_experts = self.token_experts[step.input_ids.reshape(-1)]
            collapsed, post, comb = self.ffn_streams(x)
            x = HyperConnection.refill(x, self.ffn(self.pre_ffn_norm(collapsed), step=step), post, comb)
        return x

    def forward(self, x: torch.Tensor, step: Step, cache=None) -> torch.Tensor:
        """x: [B, T, d], or the AltUp streams [N, B, T, d] when the model has them (V4's
        hyper-connection streams [B, T, n, d])."""
        x = marked(step.observer, x, self.index, "start")
        if self.mixer_streams is not None or self.ffn_streams is not None:
            return marked(step.observer, self._through_streams(x, step, cache), self.index, "ffn")
        # the previous block's shortcut MoE output, added after this block's sublayers
        arriving, step.shortcut = getattr(step, "shortcut", None), None
        if self.altup is None:
            x = self._sublayers(x, step, cache)
            if arriving is not None:
                x = x + arriving
            if self.per_layer_input is not None:  # Gemma 4: into the one residual stream
                x = x + self.per_layer_input(x, step.per_layer_inputs[:, :, self.index])
        else:
            predictions = self.altup.predict(x)
            x = self.altup.correct(predictions, self._sublayers(predictions[0], step, cache))
            if self.per_layer_input is not None:
                layer_input = step.per_layer_inputs[:, :, self.index]
                x[1:] += self.per_layer_input(self.altup.scaled_first(x), layer_input)
        if self.output_scale is not None:
            x = x * self.output_scale
        return marked(step.observer, x, self.index, "ffn")


class DecoderModel(nn.Module):
    # attributes that change between steps: a compiled step keeps guarding them (app/runtime/fast.py)
    RUN_STATE = ("_rotary",)  # its cos/sin tables grow with the context a run asks for

    def __init__(self, spec: ArchSpec, make_mixer, make_ffn):
        super().__init__()
        self.spec = spec
        d = spec.d_model
        self.embed_tokens = nn.Embedding(spec.vocab_size, d)
        # LongCat-Flash-Lite: hashed n-gram tables added to the token embedding
        self.ngram_embeddings = NgramEmbedding(spec.ngram_embedding, spec.vocab_size, d) \
            if spec.ngram_embedding is not None else None
        self.embed_positions = nn.Embedding(spec.learned_positions, d) if spec.learned_positions else None
        self.input_scale = nn.Parameter(torch.ones(d)) if spec.embedding_affine else None
        self.input_bias = nn.Parameter(torch.zeros(d)) if spec.embedding_affine else None
        self.layers = nn.ModuleList(DecoderBlock(index, layer, d, make_mixer, make_ffn, spec)
                                    for index, layer in enumerate(spec.layers))
        for index, source in enumerate(kv_sources(spec)):
            if source is not None:  # validation ensured a source exists
                self.layers[index].mixer.kv_source = source
                self.layers[source].mixer.kv_publish_as = source
        norm = spec.layers[0].norm if spec.layers else spec.final_norm
        self.per_layer_embedding = PerLayerEmbedding(spec.per_layer_embedding, d, spec.num_layers, norm) \
            if spec.per_layer_embedding is not None else None
        self.altup_streams = AltUpStreams(spec.altup.num_inputs, d) if spec.altup is not None else None
        self.hyper_head = HyperHead(spec.hyper_connections, d, norm.eps) if spec.hyper_connections is not None \
            else None
        self.final_norm = make_norm(spec.final_norm, d)
        self.lm_head = nn.Linear(d, spec.vocab_size, bias=False)
        self.tie_weights()
        self._rotary: dict = {}

    def tie_weights(self) -> None:
        """Share the embedding with the output head; again after moving off "meta", which
        gives each module its own new tensor."""
        if self.spec.tie_embeddings:
            if isinstance(self.embed_tokens, LowBitEmbedding):
                self.lm_head = self.embed_tokens.matrix  # one low-bit matrix serves both
            else:
                self.lm_head.weight = self.embed_tokens.weight

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the model computes in: its first floating-point parameter's (a norm's
        where the matrices are low-bit buffers)."""
        return self._reference_parameter().dtype

    @property
    def device(self) -> torch.device:
        return self._reference_parameter().device

    def _reference_parameter(self) -> torch.Tensor:
        return next(p for p in self.parameters() if p.is_floating_point())

    def pack_for_decode(self) -> None:
        """Lay the weights out for one-token steps (app/model/packing.py): packed q/k/v and
        gate/up, input-major matrices and output head. Names, shapes and values stay."""
        for module in self.modules():
            if module is not self and hasattr(module, "pack_for_decode"):
                module.pack_for_decode()
        store_input_major(self.lm_head)
        use_decode_linears(self)

    def rotary_tables(self) -> dict:
        """One cos/sin table per distinct Rope (Gemma 3 has two), made on first use."""
        device = self.device
        if not self._rotary:
            for layer in self.spec.layers:
                rope = getattr(layer.mixer, "rope", None)
                if rope is not None and rope not in self._rotary:
                    self._rotary[rope] = RotaryTable(rope, device)
        return self._rotary

    def record_routing(self, enabled: bool) -> None:
        """Count, per MoE layer, the tokens each expert receives (from zero), or stop."""
        moe.record_routing(self, enabled)

    def take_routing_counts(self) -> dict[int, list[int]]:
        """{layer index: tokens per expert} since the last call, read once for all layers."""
        return moe.take_routing_counts(self)

    def new_cache(self, batch: int, max_len: int) -> ModelCache:
        device, dtype = self.device, self.dtype
        require_cache(self.spec, batch, max_len, device, dtype)  # before any buffer is made
        layers = [block.mixer.new_cache(batch, max_len, dtype, device)
                  if block.mixer is not None and hasattr(block.mixer, "new_cache") else None
                  for block in self.layers]
        tokens = self.ngram_embeddings.new_history(batch, device) if self.ngram_embeddings is not None else None
        return ModelCache(layers, max_len, tokens)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(input_ids)
        if self.spec.embedding_scale:
            # Gemma: sqrt(d) rounded to the model dtype, as the published model applies it.
            x = x * torch.tensor(math.sqrt(self.spec.d_model), dtype=x.dtype)
        if self.spec.embedding_multiplier != 1.0:  # Granite: a published constant
            x = x * self.spec.embedding_multiplier
        if self.input_scale is not None:  # ZAYA1: a learned bias, then a learned scale
            x = (x + self.input_bias) * self.input_scale
        return x

    def merge_images(self, x: torch.Tensor, input_ids: torch.Tensor, step: Step, pixel_values=None,
                     image_features=None, aspect_ratio_ids=None) -> torch.Tensor:
        """Place image features among the token embeddings (a vision model overrides this)."""
        if pixel_values is not None or image_features is not None:
            raise ValueError(f"{self.spec.name} has no vision front-end; it takes no images")
        return x

    def forward(self, input_ids: torch.Tensor, cache: ModelCache | None = None, last_only: bool = False,
                observer: LayerObserver | None = None, pixel_values: torch.Tensor | None = None,
                image_features=None, aspect_ratio_ids: torch.Tensor | None = None,
                head: bool = True, position: torch.Tensor | None = None) -> torch.Tensor | None:
        """Logits [B, T, vocab] for input_ids [B, T]; with a cache, input_ids continue the
        sequence the cache holds. last_only: logits of the last position only [B, 1, vocab]
        (a prefill needs no more, and the output head is costly over a long prompt).
        observer: told as each block starts and finishes each sublayer (the profiler).
        pixel_values [images, C, H, W] (or their encoded image_features): the images of a
        multimodal model, for the image tokens of input_ids; a tiled encoder takes
        [images, tiles, C, H, W] and each image's aspect_ratio_ids (default 1: one tile).
        head=False: only fill the cache, no logits (None): an earlier chunk of a chunked
        prefill needs none, and the output head is costly.
        position: a one-token decode step replayable at any position (captured once in a CUDA
        graph): the token's position as a device tensor [1], which the host never reads. The
        caches are written there and the caller advances them (cache.advance); the rotary
        tables must already reach the cache's capacity."""
        length = input_ids.shape[1]
        if position is not None:
            if cache is None or length != 1:
                raise ValueError("a replayable step takes one token per row and a cache")
            start, positions = None, position
        else:
            start = cache.position if cache is not None else 0
            positions = torch.arange(start, start + length, device=input_ids.device)
        x = self.embed(input_ids)
        if self.ngram_embeddings is not None:
            x = self.ngram_embeddings(x, input_ids, cache.tokens if cache is not None else None, positions)
        if self.embed_positions is not None:
            if start is not None and start + length > self.spec.learned_positions:
                raise ValueError(f"position {start + length - 1} exceeds the {self.spec.learned_positions} "
                                 "learned positions")
            x = x + self.embed_positions(positions)
        rotary = {rope: table.at(start, length, x.dtype) if start is not None else table.gather(positions, x.dtype)
                  for rope, table in self.rotary_tables().items()}
        step = Step(positions, rotary, observer, start=start, replayable=position is not None)
        x = self.merge_images(x, input_ids, step, pixel_values, image_features, aspect_ratio_ids)
        if self.per_layer_embedding is not None:
            step.per_layer_inputs = self.per_layer_embedding(input_ids, x)
        if self.altup_streams is not None:
            x = self.altup_streams.spread(x)
        if self.hyper_head is not None:
            x = self.hyper_head.spread(x)
            step.input_ids = input_ids  # a hash-routed layer's experts are the token's
        for index, block in enumerate(self.layers):
            x = block(x, step, cache.layers[index] if cache is not None else None)
        if cache is not None and start is not None:
            cache.advance(start + length)  # the host's account; a replayable step's caller keeps it
        if not head:
            return None
        if self.hyper_head is not None:  # before last_only: the streams are the third axis from the end
            x = self.hyper_head(x)
        if last_only:
            x = x[..., -1:, :]
        if self.altup_streams is not None:
            x = self.altup_streams.merge(x)
        logits = self.lm_head(self.final_norm(x))
        if self.spec.output_logit_scale != 1.0:
            logits = logits * self.spec.output_logit_scale
        if self.spec.final_logit_softcap:
            cap = self.spec.final_logit_softcap
            logits = torch.tanh(logits / cap) * cap
        return marked(observer, logits, len(self.layers), "head")
