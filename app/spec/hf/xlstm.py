"""xLSTM (model_type xlstm: NX-AI's xLSTM 7B): every block an mLSTM then a SwiGLU, each
on its own pre-norm, the logits soft-capped.

Every default below is transformers' own (xLSTMConfig), so a key a config leaves out builds
what transformers builds. The published config spells the width embedding_dim and the depth
num_blocks; transformers' names (hidden_size, num_hidden_layers) are read as well, and a
config whose two spellings disagree is refused, since transformers would then size the
embedding and the blocks (or the blocks and the cache) differently.

transformers sizes the mLSTM's projections with int(hidden_size x factor) but its cache
with that rounded up to a multiple of 64, so a config where the two differ builds a model
whose own cache does not fit it: such a factor is refused by name.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP
from ..limits import MAX_WIDTH
from ..mixers import MLSTM
from ..parts import Norm
from .common import key_of, only_kinds, reject, the_one
from .reader import ConfigReader

CACHE_MULTIPLE = 64  # transformers' xLSTMConfig.qk_dim / v_dim round up to this


def round_up(value: float, multiple: int) -> int:
    """transformers' round_up_to_next_multiple_of, float arithmetic and all."""
    return int(((value + multiple - 1) // multiple) * multiple)


def _too_wide(r: ConfigReader, key: str, d: int, factor: float) -> bool:
    """A factor that would make a width past any real model's, refused before it is made."""
    if d * factor <= MAX_WIDTH:
        return False
    r.problem(key, f"hidden_size {d} x {factor:g} = {d * factor:g} exceeds the bound of {MAX_WIDTH:,} on a width")
    return True


def _width(r: ConfigReader, key: str, default: float, d: int) -> int:
    """The q/k or v width a factor gives: int(d x factor) as the projections have it, which
    must equal the cache's rounded-up width."""
    factor = r.float(key, default, positive=True)
    if _too_wide(r, key, d, factor):
        return 0
    width = int(d * factor)
    if width < 1 or width != round_up(d * factor, CACHE_MULTIPLE):
        r.problem(key, f"hidden_size {d} x {factor} = {d * factor:g} is not a positive multiple of "
                       f"{CACHE_MULTIPLE}; transformers' xLSTM would size its weights ({width}) and its "
                       f"cache ({round_up(d * factor, CACHE_MULTIPLE)}) differently")
        return 0
    return width


def _agreeing(r: ConfigReader, key: str, default: int, other: str) -> int:
    """A size that a second key repeats for one part of the model (transformers' xLSTMConfig
    fills whichever is missing from the other): both, when given, must agree."""
    value = r.int(key, default)
    if r.has(other) and r.int(other) != value:
        r.problem(other, f"{r.config[other]} differs from {key} {value}; transformers' xLSTM would size "
                         "its parts apart and not run")
    return value


def xlstm_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    # The blocks are hidden_size wide (default 4096, whatever embedding_dim says) and
    # num_blocks deep (else num_hidden_layers); the embedding is embedding_dim wide and the
    # cache num_hidden_layers deep. The published config gives only embedding_dim (4096) and
    # num_blocks (32).
    d = _agreeing(r, "hidden_size", 4096, "embedding_dim")
    n = r.int(key_of(r, "num_blocks", "num_hidden_layers"), 32)
    # A cache of more layers than blocks runs (the spare states stay zero); of fewer, not.
    if r.has("num_blocks") and r.int("num_hidden_layers", 32) < n:
        r.problem("num_hidden_layers", f"{r.config.get('num_hidden_layers', 32)} is fewer than num_blocks {n}; "
                                       "transformers' xLSTM cache would have no state for the last blocks")
    heads = r.int("num_heads", 8)
    if r.bool("use_bias", False):
        r.problem("use_bias", "true; ArchScope's RMSNorm has no additive term, and every published xLSTM "
                              "is unbiased")
    r.str("weight_mode", "single", choices=("single",))
    r.bool("add_out_norm", True)  # transformers applies its out_norm either way
    r.bool("norm_reduction_force_float32", True)  # ArchScope's norms always reduce in float32
    # transformers' xLSTM names no tied weights: its lm_head is a matrix of its own even
    # under tie_word_embeddings true, and its checkpoints store both
    r.bool("tie_word_embeddings", False)
    qk = _width(r, "qk_dim_factor", 0.5, d)
    v = _width(r, "v_dim_factor", 1.0, d)
    for key, width in (("qk_dim_factor", qk), ("v_dim_factor", v)):
        if width and width % heads:
            r.problem(key, f"width {width} is not divisible by num_heads {heads}")
    norm = Norm("rmsnorm", r.float("norm_eps", 1e-6, positive=True))
    mixer = MLSTM(num_heads=heads, qk_head_dim=max(qk // heads, 1), v_head_dim=max(v // heads, 1),
                  gate_soft_cap=r.float("gate_soft_cap", 15.0, positive=True), norm_eps=norm.eps,
                  eps=r.float("eps", 1e-6, positive=True), chunk_size=r.int("chunk_size", 64))
    ffn_factor = r.float("ffn_proj_factor", 2.667, positive=True)
    multiple = r.int("ffn_round_up_to_multiple_of", 64)
    ffn_width = 1 if _too_wide(r, "ffn_proj_factor", d, ffn_factor) else round_up(d * ffn_factor, multiple)
    ffn = MLP(max(ffn_width, 1), "silu")
    return ArchSpec(name=model_type, family="xLSTM", model_type=model_type,
                    vocab_size=r.int("vocab_size", 50304), d_model=d,
                    layers=tuple(Layer(mixer, ffn, norm) for _ in range(n)), final_norm=norm,
                    tie_embeddings=False,
                    final_logit_softcap=r.float("output_logit_soft_cap", 30.0, positive=True))


def _factor_for(width: int, d: int) -> tuple[float, int]:
    """(factor, multiple) that transformers' round-up turns back into `width` exactly: the
    largest power of two up to 64 that divides it absorbs the float error of width / d."""
    multiple = next(m for m in (64, 32, 16, 8, 4, 2, 1) if width % m == 0)
    return (width + (0.5 if multiple == 1 else 0)) / d, multiple


def xlstm_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (MLSTM,), (MLP,))
    mixer = the_one(spec, "mLSTM", lambda layer: layer.mixer)
    mlp = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if the_one(spec, "norm placement", lambda layer: layer.norm_placement) != "pre" or any(
            layer.parallel or layer.residual_from_norm or layer.laurel_rank or layer.scaled_output
            or layer.mixer_residual or layer.ffn_residual for layer in spec.layers):
        reject("layers", "xLSTM blocks are plain pre-norm residual blocks")
    if norm != Norm("rmsnorm", norm.eps) or spec.final_norm != norm:
        reject("final_norm", f"xLSTM uses one plain RMSNorm (norm_eps) everywhere, found {norm} and "
                             f"{spec.final_norm}")
    if mixer.norm_eps != norm.eps:
        reject("layers[0].mixer.norm_eps", f"{mixer.norm_eps} differs from the block norms' {norm.eps}; "
                                          "xLSTM has one norm_eps")
    if mlp != MLP(mlp.intermediate_size, "silu"):
        reject("layers[0].ffn", "xLSTM's feed-forward is an unbiased SwiGLU")
    if spec.tie_embeddings:
        reject("tie_embeddings", "transformers' xLSTM never ties its output head to the embedding")
    if not mixer.gate_soft_cap or not spec.final_logit_softcap:
        reject("final_logit_softcap" if mixer.gate_soft_cap else "layers[0].mixer.gate_soft_cap",
               "transformers' xLSTM always soft-caps its gates and logits; 0 (uncapped) has no config form")
    d = spec.d_model
    config = {"model_type": spec.model_type, "vocab_size": spec.vocab_size, "hidden_size": d, "embedding_dim": d,
              "num_hidden_layers": spec.num_layers, "num_blocks": spec.num_layers, "num_heads": mixer.num_heads,
              "use_bias": False, "weight_mode": "single", "norm_eps": norm.eps, "eps": mixer.eps,
              "chunk_size": mixer.chunk_size, "gate_soft_cap": mixer.gate_soft_cap,
              "output_logit_soft_cap": spec.final_logit_softcap, "tie_word_embeddings": False,
              "add_out_norm": True}
    for key, width in (("qk_dim_factor", mixer.num_heads * mixer.qk_head_dim),
                       ("v_dim_factor", mixer.num_heads * mixer.v_head_dim)):
        if width % CACHE_MULTIPLE or int(d * (width / d)) != width:
            reject(f"layers[0].mixer.{key.split('_dim')[0]}_head_dim",
                   f"heads x head width {width} is no multiple of {CACHE_MULTIPLE}, which transformers' "
                   "xLSTM cache needs")
        config[key] = width / d
    factor, multiple = _factor_for(mlp.intermediate_size, d)
    if round_up(d * factor, multiple) != mlp.intermediate_size:
        reject("layers[0].ffn.intermediate_size", f"{mlp.intermediate_size} has no ffn_proj_factor form")
    config.update(ffn_proj_factor=factor, ffn_round_up_to_multiple_of=multiple)
    return config


CONVERTERS = {"xlstm": (xlstm_to_spec, xlstm_to_config)}
