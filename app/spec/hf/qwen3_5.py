"""Qwen3.5 and Qwen3.6, the text decoder of the multimodal release (the text_config of
model_type qwen3_5 / qwen3_5_moe, whose own model_type is qwen3_5_text / qwen3_5_moe_text).

The decoder is Qwen3-Next's: three Gated DeltaNet layers to one gated attention layer, the
same keys for both mixers (read_hybrid_mixers). What differs is the feed-forward and the
positions:
- qwen3_5_text is dense: every layer a SwiGLU MLP of intermediate_size;
- qwen3_5_moe_text has no dense layers (no mlp_only_layers, no decoder_sparse_step) and its
  router always renormalizes the top-k weights (transformers ignores norm_topk_prob);
- rope_parameters carry multimodal RoPE (mrope_section, mrope_interleaved): each rotary
  pair takes its angle from the temporal, height or width position. Text tokens have the
  same position on all three axes, so for a text decoder it is ordinary RoPE; the spec
  keeps no trace of it and the writer states the split the release uses.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention, GatedDeltaNet
from .common import FAMILIES, only_kinds, read_base, reject, the_one, write_base
from .qwen3_next import read_hybrid_mixers, write_hybrid_mixers
from .reader import ConfigReader

MROPE_AXES = 3  # temporal, height, width
ROUTER = Router("softmax", normalize_top_k=True)  # the only router qwen3_5_moe_text builds


def mrope_sections(rotary_pairs: int) -> list[int]:
    """The rotary pairs split near-evenly over the three axes, the larger parts first:
    [11, 11, 10] for Qwen3.5's 32 pairs (64 rotary channels), the published split."""
    share, extra = divmod(rotary_pairs, MROPE_AXES)
    return [share + (axis < extra) for axis in range(MROPE_AXES)]


def qwen3_5_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    norm, attention, deltanet, full = read_hybrid_mixers(r, n)
    if model_type == "qwen3_5_moe_text":
        ffn = MoE(
            num_experts=r.int("num_experts", 256), top_k=r.int("num_experts_per_tok", 8),
            expert=MLP(r.int("moe_intermediate_size", 512)), router=ROUTER,
            shared=MLP(r.int("shared_expert_intermediate_size", 512)), shared_gate=True)
    else:
        ffn = MLP(r.int("intermediate_size", 12288))
    layers = tuple(Layer(attention if full[i] else deltanet, ffn, norm) for i in range(n))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=layers,
                    final_norm=norm, **base)


def qwen3_5_to_config(spec: ArchSpec) -> dict:
    ffn_kind = MoE if spec.model_type == "qwen3_5_moe_text" else MLP
    only_kinds(spec, (Attention, GatedDeltaNet), (ffn_kind,))
    config = write_base(spec) | write_hybrid_mixers(spec)
    rotary_dim = next(layer.mixer for layer in spec.layers if isinstance(layer.mixer, Attention)).rope.rotary_dim
    config["rope_parameters"] |= {"mrope_section": mrope_sections(rotary_dim // 2), "mrope_interleaved": True}
    ffn = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    if isinstance(ffn, MoE):
        if ffn.router != ROUTER or ffn.shared is None or not ffn.shared_gate:
            reject("layers", "qwen3_5_moe_text builds a softmax router that renormalizes its top-k and "
                   "a gated shared expert; this MoE differs")
        config.update(num_experts=ffn.num_experts, num_experts_per_tok=ffn.top_k,
                      moe_intermediate_size=ffn.expert.intermediate_size,
                      shared_expert_intermediate_size=ffn.shared.intermediate_size)
    else:
        config["intermediate_size"] = ffn.intermediate_size
    return config


CONVERTERS = {"qwen3_5_text": (qwen3_5_to_spec, qwen3_5_to_config),
              "qwen3_5_moe_text": (qwen3_5_to_spec, qwen3_5_to_config)}
