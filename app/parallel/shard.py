"""One rank's share of a built model, cut in place as its plan says (`app/parallel/plan.py`).

Tensor parallelism (Megatron-LM's split): a mixer keeps its rank's heads -- the query, key
and value projections by output rows (columns of the product), the output projection by
input columns (rows of the product), which makes each rank's output a partial sum that an
all-reduce completes. A gated MLP keeps a block of its hidden width the same way: gate and
up by rows, down by columns, then all-reduce. MLA keeps its heads' rows of the query and
key/value up-projections; its down-projections, and so its latent and the cache of it, stay
whole on every rank. A Gated DeltaNet keeps its key and value heads (their channels of the
short convolution too), so its recurrent state is split as well. The module's spec is
replaced by one with the rank's head counts, so the caches it makes (`new_cache`) hold the
rank's heads only. Mixtures of experts become `ParallelMoE` (`app/parallel/moe.py`).

The embedding and the output head keep the rank's block of the vocabulary
(`VocabParallelEmbedding`, `VocabParallelHead`; a tied pair shares the one block). Norms
and the mixers the plan leaves "replicated" stay whole: every rank computes them on the
same hidden state.

After cutting, the decode layout is packed again (`DecoderModel.pack_for_decode`).
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from ..model.packing import linear
from .comm import Comm
from .moe import ParallelMoE, keep_rows, sliced
from .plan import EMBEDDING_LAYER, FfnSplit, MixerSplit, ParallelPlan


class RowParallelLinear(nn.Linear):
    """A linear that holds a block of its input features: its product is this rank's
    partial sum, all-reduced over the ranks; the bias is added once, after the sum."""

    def __init__(self, linear: nn.Linear, columns: slice, comm: Comm, layer: int, label: str):
        nn.Module.__init__(self)
        self.weight = sliced(linear.weight, (slice(None), columns))
        self.out_features, self.in_features = self.weight.shape
        self.bias = linear.bias
        self.comm, self.layer, self.label = comm, layer, label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.comm.all_reduce(linear(x, self.weight), self.layer, self.label)
        return out if self.bias is None else out + self.bias


class VocabParallelEmbedding(nn.Embedding):
    """The rank's block of embedding rows: its own tokens looked up, zeros for the others',
    then summed over the ranks, so every rank ends with every token's row."""

    def __init__(self, embedding: nn.Embedding, rows: range, comm: Comm):
        nn.Module.__init__(self)
        self.weight = sliced(embedding.weight, slice(rows.start, rows.stop))
        self.num_embeddings, self.embedding_dim = embedding.num_embeddings, embedding.embedding_dim
        self.padding_idx, self.max_norm = embedding.padding_idx, None
        self.first, self.comm = rows.start, comm

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        local = input_ids - self.first
        own = (local >= 0) & (local < self.weight.shape[0])
        rows = F.embedding(local.clamp(0, self.weight.shape[0] - 1), self.weight)
        rows = rows * own.unsqueeze(-1).to(rows.dtype)
        return self.comm.all_reduce(rows, EMBEDDING_LAYER, "embedding")


class VocabParallelHead(nn.Linear):
    """The rank's block of the output head's rows: the logits of its block of the
    vocabulary, all-gathered into the whole. Every rank's block is padded to `block` rows
    (all-gather takes equal parts) and the padding cut after."""

    def __init__(self, head: nn.Linear, rows: range, block: int, comm: Comm, layer: int,
                 weight: nn.Parameter | None = None):
        nn.Module.__init__(self)
        self.weight = weight if weight is not None else sliced(head.weight, slice(rows.start, rows.stop))
        self.bias = None
        self.out_features, self.in_features = head.out_features, head.in_features
        self.block, self.comm, self.layer = block, comm, layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        own = linear(x, self.weight)
        short = self.block - own.shape[-1]
        if short:
            own = F.pad(own, (0, short))
        parts = self.comm.all_gather(own.reshape(1, -1), self.layer, "head")  # [ranks, tokens * block]
        logits = parts.view(parts.shape[0], *own.shape).movedim(0, -2).flatten(-2)
        return logits[..., :self.out_features]


@torch.no_grad()
def shard_vocabulary(model, plan: ParallelPlan, rank: int, comm: Comm) -> None:
    """The embedding's and the head's blocks of the vocabulary; a tied head reads the
    embedding's block."""
    rows = plan.vocab_rows(rank)
    model.embed_tokens = VocabParallelEmbedding(model.embed_tokens, rows, comm)
    tied = model.spec.tie_embeddings
    model.lm_head = VocabParallelHead(model.lm_head, rows, plan.vocab_block, comm, plan.spec.num_layers,
                                      weight=model.embed_tokens.weight if tied else None)


def _heads(first: int, count: int, width: int) -> slice:
    """The rows (or columns) of `count` heads of `width` from head `first` on."""
    return slice(first * width, (first + count) * width)


@torch.no_grad()
def shard_attention(module, split: MixerSplit, rank: int, comm: Comm, layer: int) -> None:
    """Softmax attention (app/model/attention.py): the rank's query heads and the key/value
    heads they read (one replica of a shared head when there are fewer than ranks)."""
    spec = module.spec
    heads, kv_heads = split.heads_per_rank, split.kv_heads_per_rank
    first, first_kv = rank * heads, rank // split.kv_replicas * kv_heads
    # The query projection holds each head's queries, then its gate when it has one
    # (Qwen3-Next), side by side: a head's rows are one block.
    keep_rows(module.q_proj, _heads(first, heads, spec.head_dim * (2 if spec.output_gate else 1)))
    keep_rows(module.k_proj, _heads(first_kv, kv_heads, spec.head_dim))
    if module.v_proj is not None:  # keys as values (Gemma 4's global layers): no projection of its own
        keep_rows(module.v_proj, _heads(first_kv, kv_heads, spec.v_dim))
    if module.sinks is not None:
        module.sinks = sliced(module.sinks, slice(first, first + heads))
    if module.g_proj is not None:  # Laguna's softplus gate: one row per head, or per output channel
        keep_rows(module.g_proj, _heads(first, heads, spec.gate_projection_width // spec.num_heads))
    module.o_proj = RowParallelLinear(module.o_proj, _heads(first, heads, spec.v_dim), comm, layer, "mixer")
    module.spec = replace(spec, num_heads=heads, num_kv_heads=kv_heads)
    module.qkv = None


@torch.no_grad()
def shard_latent_attention(module, split: MixerSplit, rank: int, comm: Comm, layer: int) -> None:
    """MLA (app/model/mla.py): the rank's heads of the query and key/value up-projections
    and of the output; the latent is computed and cached whole on every rank."""
    spec = module.spec
    heads, first = split.heads_per_rank, rank * split.heads_per_rank
    query = module.q_proj if module.q_proj is not None else module.q_up_proj
    keep_rows(query, _heads(first, heads, spec.qk_nope_head_dim + spec.qk_rope_head_dim))
    keep_rows(module.kv_up_proj, _heads(first, heads, spec.qk_nope_head_dim + spec.v_head_dim))
    module.o_proj = RowParallelLinear(module.o_proj, _heads(first, heads, spec.v_head_dim), comm, layer, "mixer")
    module.spec = replace(spec, num_heads=heads)


@torch.no_grad()
def shard_gated_deltanet(module, split: MixerSplit, rank: int, comm: Comm, layer: int) -> None:
    """Gated DeltaNet (app/model/gated_deltanet.py): the rank's key heads and the value
    heads that read them -- their channels of [q | k | v], of the convolution, of the gates
    and decays -- so each rank carries its heads' share of the recurrent state."""
    spec = module.spec
    key_heads, value_heads = split.kv_heads_per_rank, split.heads_per_rank
    key_dim, value_dim = spec.key_head_dim, spec.value_head_dim
    first_key, first_value = rank * key_heads, rank * value_heads
    key_width = spec.num_key_heads * key_dim
    queries = _heads(first_key, key_heads, key_dim)
    values = _heads(first_value, value_heads, value_dim)
    channels = torch.cat([torch.arange(queries.start, queries.stop),
                          key_width + torch.arange(queries.start, queries.stop),
                          2 * key_width + torch.arange(values.start, values.stop)])
    keep_rows(module.qkv_proj, channels)
    conv = module.conv
    conv.weight = sliced(conv.weight, channels)
    if conv.bias is not None:
        conv.bias = sliced(conv.bias, channels)
    conv.channels = len(channels)
    keep_rows(module.output_gate_proj, values)
    own_heads = slice(first_value, first_value + value_heads)
    keep_rows(module.beta_proj, own_heads)
    keep_rows(module.decay_proj, own_heads)
    module.A_log = sliced(module.A_log, own_heads)
    module.dt_bias = sliced(module.dt_bias, own_heads)
    module.out_proj = RowParallelLinear(module.out_proj, values, comm, layer, "mixer")
    module.key_width, module.value_width = key_heads * key_dim, value_heads * value_dim
    module.spec = replace(spec, num_key_heads=key_heads, num_value_heads=value_heads)


@torch.no_grad()
def shard_mlp(module, split: FfnSplit, rank: int, comm: Comm, layer: int) -> None:
    """A dense MLP (app/model/mlp.py): gate and up by the rank's block of hidden columns,
    down by the same block of its input, then all-reduce."""
    width = split.intermediate_per_rank
    hidden = slice(rank * width, (rank + 1) * width)
    if module.gate_proj is not None:
        keep_rows(module.gate_proj, hidden)
    keep_rows(module.up_proj, hidden)
    module.down_proj = RowParallelLinear(module.down_proj, hidden, comm, layer, "ffn")
    module.gate_up = None


MIXER_SHARDS = {"attention": shard_attention, "mla": shard_latent_attention, "gated_deltanet": shard_gated_deltanet}


@torch.no_grad()
def shard_model(model, plan: ParallelPlan, comm: Comm, pack: bool = True) -> None:
    """Cut `model` (built whole from plan.spec) into rank comm.rank's share, in place; then
    lay it out for decoding (pack: False for a shard whose values are drawn afterwards)."""
    if comm.world_size != plan.world_size:
        raise ValueError(f"the plan spans {plan.world_size} ranks, the process group {comm.world_size}")
    if model.spec != plan.spec:
        raise ValueError(f"the model is not the plan's architecture ({plan.spec.name})")
    rank = comm.rank
    if plan.vocabulary != "replicated":
        shard_vocabulary(model, plan, rank, comm)
    for block, layer in zip(model.layers, plan.layers):
        if layer.mixer is not None and layer.mixer.how != "replicated":
            MIXER_SHARDS[layer.mixer.kind](block.mixer, layer.mixer, rank, comm, layer.index)
        ffn = layer.ffn
        if ffn is None or ffn.how == "replicated":
            continue
        if ffn.kind == "mlp":
            shard_mlp(block.ffn, ffn, rank, comm, layer.index)
        else:
            block.ffn = ParallelMoE(block.ffn, ffn, plan.tp, comm, layer.index)
    if pack:
        model.pack_for_decode()
