"""How a spec splits over ranks: a tensor-parallel plan (heads, MLP columns then rows) and an
expert-parallel plan (experts over ranks, tokens exchanged all-to-all), what does not
divide, and what each rank should then hold (cache bytes) and send (collective payloads).

Pure Python, reading only the spec and its analysis, like app/spec: a plan is checked and
its predictions made without torch, and `app/parallel/shard.py` follows it.

The ranks: one group of `max(tp, ep)` ranks. Tensor parallelism splits every mixer and
feed-forward that it can over all of them (tp == the group) or none (tp == 1); expert
parallelism places the routed experts of every MoE layer over all of them (ep == the group)
or keeps each expert whole on every rank (ep == 1). Between sublayers every rank holds the
whole hidden state, so what a rank does not split it computes whole (replicated): norms,
routers and the mixers this version does not split (Kimi Delta Attention, Mamba-2,
lightning attention, LFM2's gated short convolution, cross-attention).

The vocabulary is split too under tensor parallelism (Megatron-LM's vocabulary-parallel
embedding and head): each rank holds a block of ceil(vocab / tp) rows of the embedding and
of the output head (the last block shorter where the vocabulary does not divide). A rank
looks up only its own tokens, zeros for the rest, and an all-reduce sums the embedding; the
head's logits for the rank's block are all-gathered into the whole vocabulary, every rank's
block padded to the same length (all-gather's rule), which is what each rank sends.

Where a layer has fewer key/value heads than ranks (Qwen3-Next's 2 over 8, or one at explore
scale), each key/value head is kept on tp / num_kv_heads ranks, as Megatron-LM and vLLM do:
a rank's query heads all read the one key/value head it holds. Where neither divides the
other, the plan names the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..spec import ArchSpec
from ..spec.analysis import analyze

COUNT_BYTES = 8  # an MoE layer's tokens-per-expert counts travel as int64
# The `layer` of the embedding's and the head's collectives: before the first block and
# after the last, as the probe numbers the head (app/model/step.py's "head" mark).
EMBEDDING_LAYER = -1


@dataclass(frozen=True)
class MixerSplit:
    """How one layer's token mixer is laid over the ranks."""

    kind: str  # the spec kind: "attention", "mla", "gated_deltanet", ...
    how: str  # "heads" | "heads, latent replicated" (MLA) | "replicated"
    heads_per_rank: int  # query heads (value heads of a Gated DeltaNet); all of them when replicated
    kv_heads_per_rank: int  # key/value heads a rank caches (key heads of a Gated DeltaNet; 0 for MLA's latent)
    kv_replicas: int  # ranks that hold each key/value head: > 1 when there are fewer of them than ranks
    cache_share: Fraction  # the share of the layer's cache or state (the analysis') one rank holds

    @property
    def reduces(self) -> bool:
        """Whether its output projection is split by rows and summed over ranks (all-reduce)."""
        return self.how != "replicated"


@dataclass(frozen=True)
class FfnSplit:
    """How one layer's feed-forward is laid over the ranks."""

    kind: str  # "mlp" | "moe"
    # "column-row": gate/up by columns, down by rows, then all-reduce; "expert columns": each
    # routed expert split so (Megatron's expert tensor parallelism), one all-reduce with the
    # shared expert's; "experts": routed experts placed over ranks, tokens sent all-to-all;
    # "replicated": whole on every rank
    how: str
    intermediate_per_rank: int  # the dense MLP's or each routed expert's hidden width on a rank
    experts_per_rank: int  # routed experts a rank holds (0: a dense MLP)
    shared_intermediate_per_rank: int  # the shared experts' hidden width on a rank (0: none)
    top_k: int = 0
    # the width a token reaches the routed experts at: the latent of a latent MoE (Nemotron 3
    # Super), which its all-to-all sends; 0 for the hidden width
    latent_size: int = 0

    @property
    def reduces(self) -> bool:
        return self.how in ("column-row", "expert columns")


@dataclass(frozen=True)
class LayerPlan:
    index: int
    mixer: MixerSplit | None
    ffn: FfnSplit | None


@dataclass(frozen=True)
class Payload:
    """One collective of one layer in one step, as the plan predicts it. Bytes are what each
    rank puts in: the tensor it all-reduces, its whole send buffer of an all-to-all (the rows
    it keeps included), its share of an all-gather."""

    layer: int  # EMBEDDING_LAYER for the embedding's, num_layers for the head's
    label: str  # "embedding", "mixer", "ffn", "ffn.counts", "ffn.dispatch", "ffn.combine", "ffn.gather",
    # "ffn.shared", "head"
    op: str  # "all_reduce" | "all_to_all" | "all_gather"
    rank_bytes: tuple[int, ...] | None  # per rank; None where the routing decides (an all-to-all's return)
    total_bytes: int  # summed over the ranks: exact in every case


@dataclass(frozen=True)
class ParallelPlan:
    spec: ArchSpec
    tp: int
    ep: int
    layers: tuple[LayerPlan, ...]

    @property
    def world_size(self) -> int:
        return max(self.tp, self.ep)

    @property
    def vocabulary(self) -> str:
        """How the embedding and the output head lie over the ranks."""
        return "vocabulary-parallel" if self.tp > 1 else "replicated"

    @property
    def vocab_block(self) -> int:
        """The embedding and head rows each rank holds (the last rank's fewer where the
        vocabulary does not divide): the whole vocabulary when they are replicated."""
        return -(-self.spec.vocab_size // self.tp)

    def vocab_rows(self, rank: int) -> range:
        """The vocabulary rows of rank `rank`'s embedding and head."""
        block = self.vocab_block
        return range(min(rank * block, self.spec.vocab_size), min((rank + 1) * block, self.spec.vocab_size))

    def kv_bytes_at(self, context_len: int, dtype_bytes: int, batch: int = 1) -> list[int]:
        """Per layer, the cache and state bytes one rank holds at this context: the analysis'
        bytes times the rank's share (every rank holds the same)."""
        rows = analyze(self.spec).layers
        held = []
        for row, layer in zip(rows, self.layers):
            share = layer.mixer.cache_share if layer.mixer is not None else Fraction(1)
            held.append(_whole(batch * row.kv_bytes_at(context_len, dtype_bytes) * share))
        return held

    def payloads(self, batch: int, tokens: int, dtype_bytes: int) -> list[Payload]:
        """Every collective of one step of `tokens` tokens per sequence (a prefill's prompt, or
        1 when decoding), layer by layer, in the order the ranks run them."""
        world = self.world_size
        rows = batch * tokens
        hidden = rows * self.spec.d_model * dtype_bytes  # the hidden state of the step's tokens

        def every_rank(layer: int, label: str, op: str, size: int) -> Payload:
            return Payload(layer, label, op, (size,) * world, size * world)

        found = []
        vocabulary_parallel = self.vocabulary != "replicated"
        if vocabulary_parallel:  # each rank's looked-up rows, zeros for the others' tokens, summed
            found.append(every_rank(EMBEDDING_LAYER, "embedding", "all_reduce", hidden))
        for layer in self.layers:
            if layer.mixer is not None and layer.mixer.reduces:
                found.append(every_rank(layer.index, "mixer", "all_reduce", hidden))
            ffn = layer.ffn
            if ffn is None:
                continue
            if ffn.reduces:
                found.append(every_rank(layer.index, "ffn", "all_reduce", hidden))
            elif ffn.how == "experts":
                row_bytes = self.spec.d_model * dtype_bytes
                sent_bytes = (ffn.latent_size or self.spec.d_model) * dtype_bytes  # a token on its way to an expert
                shares = token_shares(rows, world)
                routed = rows * ffn.top_k * sent_bytes
                experts = ffn.experts_per_rank * world
                found.append(every_rank(layer.index, "ffn.counts", "all_to_all", experts * COUNT_BYTES))
                found.append(Payload(layer.index, "ffn.dispatch", "all_to_all",
                                     tuple(share * ffn.top_k * sent_bytes for share in shares), routed))
                found.append(Payload(layer.index, "ffn.combine", "all_to_all", None, routed))
                found.append(every_rank(layer.index, "ffn.gather", "all_gather", max(shares) * row_bytes))
                if ffn.shared_intermediate_per_rank and self.tp > 1:
                    found.append(every_rank(layer.index, "ffn.shared", "all_reduce", hidden))
        if vocabulary_parallel:  # the logits of each rank's block, padded to vocab_block
            found.append(every_rank(self.spec.num_layers, "head", "all_gather", rows * self.vocab_block * dtype_bytes))
        return found

    def describe(self) -> list[str]:
        """A line per layer: how its mixer and feed-forward split."""
        vocabulary = self.vocabulary
        if vocabulary != "replicated":
            vocabulary += f" ({self.vocab_block} of {self.spec.vocab_size} rows per rank)"
        lines = [f"{self.spec.name}: tp {self.tp}, ep {self.ep} over {self.world_size} ranks; "
                 f"embedding and head {vocabulary}"]
        for layer in self.layers:
            parts = []
            mixer = layer.mixer
            if mixer is not None:
                text = f"{mixer.kind} {mixer.how}"
                if mixer.how != "replicated":
                    text += f" ({mixer.heads_per_rank} heads"
                    text += f", {mixer.kv_heads_per_rank} kv" if mixer.kv_heads_per_rank else ""
                    text += f" x{mixer.kv_replicas}" if mixer.kv_replicas > 1 else ""
                    text += " per rank)"
                parts.append(text)
            ffn = layer.ffn
            if ffn is not None:
                text = f"{ffn.kind} {ffn.how}"
                if ffn.experts_per_rank:
                    text += f" ({ffn.experts_per_rank} experts x {ffn.intermediate_per_rank}"
                    text += f" in latent {ffn.latent_size}" if ffn.latent_size else ""
                    text += " per rank"
                    text += f", shared {ffn.shared_intermediate_per_rank})" if ffn.shared_intermediate_per_rank else ")"
                else:
                    text += f" ({ffn.intermediate_per_rank} per rank)"
                parts.append(text)
            lines.append(f"  layers[{layer.index}]: " + "; ".join(parts))
        return lines


class PlanError(ValueError):
    """A spec that does not split as asked, with every reason."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def token_shares(rows: int, world: int) -> list[int]:
    """The tokens each rank routes in an expert-parallel MoE layer: consecutive blocks of
    ceil(rows / world), the last ranks' shorter or empty (one decode token over two ranks)."""
    block = -(-rows // world)
    return [max(0, min(block, rows - rank * block)) for rank in range(world)]


def _whole(value: Fraction) -> int:
    if value.denominator != 1:
        raise ValueError(f"a rank's share {value} is not a whole number of bytes")
    return int(value)


def _split_over(problems: list[str], path: str, value: int, ranks: int) -> None:
    if ranks > 1 and value % ranks:
        problems.append(f"{path} {value} does not split over {ranks} ranks")


def _split_attention(mixer, path: str, tp: int, problems: list[str]) -> MixerSplit:
    heads, kv = mixer.num_heads, mixer.num_kv_heads
    _split_over(problems, f"{path}.num_heads", heads, tp)
    if kv % tp and tp % kv:
        problems.append(f"{path}.num_kv_heads {kv} does not split over {tp} ranks")
    if mixer.qk_norm is not None and mixer.qk_norm.scope == "all_heads":
        problems.append(f"{path}.qk_norm normalizes over all heads together: not split over ranks yet")
    if mixer.shared_kv:
        problems.append(f"{path}.shared_kv reads another layer's keys and values: not split over ranks yet")
    kv_per_rank = max(1, kv // tp)
    return MixerSplit(mixer.kind, "heads", heads // tp, kv_per_rank, max(1, tp // kv), Fraction(kv_per_rank, kv))


def _split_latent_attention(mixer, path: str, tp: int, problems: list[str]) -> MixerSplit:
    _split_over(problems, f"{path}.num_heads", mixer.num_heads, tp)
    # Every head reads the whole latent: each rank caches all of it (vLLM does the same).
    return MixerSplit(mixer.kind, "heads, latent replicated", mixer.num_heads // tp, 0, tp, Fraction(1))


def _split_gated_deltanet(mixer, path: str, tp: int, problems: list[str]) -> MixerSplit:
    _split_over(problems, f"{path}.num_key_heads", mixer.num_key_heads, tp)
    _split_over(problems, f"{path}.num_value_heads", mixer.num_value_heads, tp)
    return MixerSplit(mixer.kind, "heads", mixer.num_value_heads // tp, mixer.num_key_heads // tp, 1,
                      Fraction(1, tp))


# How each mixer kind splits over tensor-parallel ranks, by its kind tag (as the builder
# finds its module); a kind not here stays whole on every rank.
MIXER_SPLITS = {"attention": _split_attention, "mla": _split_latent_attention,
                "gated_deltanet": _split_gated_deltanet}


def _mixer_split(mixer, path: str, tp: int, world: int, problems: list[str]) -> MixerSplit:
    split = MIXER_SPLITS.get(mixer.kind)
    if split is not None and tp > 1:
        return split(mixer, path, tp, problems)
    heads = getattr(mixer, "num_heads", 0) or getattr(mixer, "num_value_heads", 0)
    return MixerSplit(mixer.kind, "replicated", heads, getattr(mixer, "num_kv_heads", 0), world, Fraction(1))


def _ffn_split(ffn, path: str, tp: int, ep: int, problems: list[str]) -> FfnSplit:
    if ffn.kind == "mlp":
        if tp == 1:
            return FfnSplit(ffn.kind, "replicated", ffn.intermediate_size, 0, 0)
        _split_over(problems, f"{path}.intermediate_size", ffn.intermediate_size, tp)
        if ffn.activation_sparsity:
            # Gemma 3n's Gaussian top-k takes the mean and spread over each token's whole gate.
            problems.append(f"{path}.activation_sparsity needs each token's whole hidden width: "
                            "not split over ranks yet")
        return FfnSplit(ffn.kind, "column-row", ffn.intermediate_size // tp, 0, 0)
    if ffn.kind != "moe":
        problems.append(f"{path}: the {getattr(ffn, 'kind', type(ffn).__name__)} feed-forward has no parallel plan")
        return FfnSplit(getattr(ffn, "kind", "?"), "replicated", 0, 0, 0)
    if ffn.branch_norm is not None and max(tp, ep) > 1:
        # Gemma 4: the shared MLP's output is normed whole, before any all-reduce could complete it
        problems.append(f"{path}.branch_norm: an MoE whose branches are normed apart is not split over ranks yet")
    if ffn.zero_experts and max(tp, ep) > 1:
        # LongCat: identity slots take part of each token's top-k; the split dispatches real experts only
        problems.append(f"{path}.zero_experts: an MoE with zero (identity) experts is not split over ranks yet")
    if ffn.shortcut and max(tp, ep) > 1:
        # LongCat: the routed sum joins the residual after the next layer, outside this layer's reduction
        problems.append(f"{path}.shortcut: a shortcut-connected MoE is not split over ranks yet")
    shared = ffn.shared.intermediate_size if ffn.shared is not None else 0
    if shared and tp > 1:
        _split_over(problems, f"{path}.shared.intermediate_size", shared, tp)
    shared_per_rank = shared // tp if tp > 1 else shared
    # a latent MoE's down- and up-projections stay whole on every rank, around the experts
    if ep > 1:
        _split_over(problems, f"{path}.num_experts", ffn.num_experts, ep)
        return FfnSplit(ffn.kind, "experts", ffn.expert.intermediate_size, ffn.num_experts // ep, shared_per_rank,
                        ffn.top_k, ffn.latent_size)
    if tp > 1:
        _split_over(problems, f"{path}.expert.intermediate_size", ffn.expert.intermediate_size, tp)
        return FfnSplit(ffn.kind, "expert columns", ffn.expert.intermediate_size // tp, ffn.num_experts,
                        shared_per_rank, ffn.top_k, ffn.latent_size)
    return FfnSplit(ffn.kind, "replicated", ffn.expert.intermediate_size, ffn.num_experts, shared, ffn.top_k)


def _plan(spec: ArchSpec, tp: int, ep: int) -> tuple[ParallelPlan | None, list[str]]:
    problems = []
    for name, value in (("tp", tp), ("ep", ep)):
        if not isinstance(value, int) or value < 1:
            problems.append(f"{name} must be a whole number of ranks, at least 1, found {value!r}")
    if problems:
        return None, problems
    if tp > 1 and ep > 1 and tp != ep:
        problems.append(f"tp {tp} and ep {ep} must span the same ranks: set them equal, or one of them to 1")
    if ep > 1 and not any(layer.ffn_kind == "moe" for layer in spec.layers):
        problems.append(f"ep {ep}: {spec.name} has no mixture-of-experts layer to place over ranks")
    world = max(tp, ep)
    if spec.ngram_embedding is not None and world > 1:
        problems.append("ngram_embedding: the N-gram tables and their token history are not split over ranks yet")
    layers = []
    for index, layer in enumerate(spec.layers):
        path = f"layers[{index}]"
        mixer = _mixer_split(layer.mixer, f"{path}.mixer", tp, world, problems) if layer.mixer is not None else None
        ffn = _ffn_split(layer.ffn, f"{path}.ffn", tp, ep, problems) if layer.ffn is not None else None
        layers.append(LayerPlan(index, mixer, ffn))
    return ParallelPlan(spec, tp, ep, tuple(layers)), problems


def plan_problems(spec: ArchSpec, tp: int, ep: int = 1) -> list[str]:
    """Everything that keeps the spec from splitting as asked, each naming its field
    ("layers[3].mixer.num_kv_heads 3 does not split over 2 ranks"); empty when it splits."""
    return _plan(spec, tp, ep)[1]


def plan_for(spec: ArchSpec, tp: int, ep: int = 1) -> ParallelPlan:
    """The spec's plan over max(tp, ep) ranks; PlanError naming every problem when it does
    not split."""
    plan, problems = _plan(spec, tp, ep)
    if problems:
        raise PlanError(problems)
    return plan
