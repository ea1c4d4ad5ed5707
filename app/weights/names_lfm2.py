"""Checkpoint names of LFM2 / LFM2.5 (transformers' lfm2) and LFM2-MoE (lfm2_moe), as the
published checkpoints store them and transformers' save_pretrained writes them back.

Everything but the output head lives under `model.`. A layer's mixer is `self_attn` where it
attends and `conv` where it convolves; its pre-norms are `operator_norm` (before the mixer)
and `ffn_norm`; the final norm is, despite its name, `model.embedding_norm`.

Inside the sublayers:
- attention: the output projection is `out_proj`, the per-head QK-norms `q_layernorm` and
  `k_layernorm`;
- gated short convolution: in_proj, conv (nn.Conv1d's [C, 1, K] weight, as ours) and out_proj,
  the names our module already has;
- feed-forward, always `feed_forward`: a SwiGLU's gate, up and down are w1, w3 and w2; an
  MoE's router projection is `gate`, its selection bias `expert_bias`, and each expert is
  saved on its own (experts.N.w1.weight, ...), stacked by the loader into our [E, out, in].
"""

from __future__ import annotations

from ..spec import ArchSpec
from .names_llama import NameMap
from .names_moe import per_expert, router_bias_buffers

NORMS = {"pre_mixer_norm": "operator_norm", "pre_ffn_norm": "ffn_norm"}
ATTENTION_NAMES = {"o_proj": "out_proj", "q_norm": "q_layernorm", "k_norm": "k_layernorm"}
MLP_NAMES = {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2"}
EXPERTS = per_expert({ours: f"{theirs}.weight" for ours, theirs in MLP_NAMES.items()})


def _ffn(spec: ArchSpec, index: int, rest: str):
    """(checkpoint name or names, transform) of our layers.<index>.ffn.<rest>."""
    prefix = f"model.layers.{index}.feed_forward"
    module, _, leaf = rest.partition(".")
    if module == "router":
        return (f"{prefix}.expert_bias" if leaf == "score_correction_bias" else
                f"{prefix}.gate.{leaf.removeprefix('proj.')}"), None
    if module == "experts":
        return EXPERTS(leaf, prefix, spec.layers[index].ffn.num_experts)
    return f"{prefix}.{MLP_NAMES[module]}.{leaf}", None  # a dense SwiGLU


def _layer(spec: ArchSpec, index: int, module: str, rest: str):
    block = f"model.layers.{index}"
    if module in NORMS:
        return f"{block}.{NORMS[module]}.{rest}", None
    if module == "mixer":
        if spec.layers[index].attends_to_context:
            first, _, leaf = rest.partition(".")
            return f"{block}.self_attn.{ATTENTION_NAMES.get(first, first)}.{leaf}", None
        return f"{block}.conv.{rest}", None
    return _ffn(spec, index, rest)


def lfm2(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for ours in [*our_names, *router_bias_buffers(spec)]:
        parts = ours.split(".")
        if parts[0] == "layers":
            mapping[ours] = _layer(spec, int(parts[1]), parts[2], ".".join(parts[3:]))
        elif parts[0] == "final_norm":
            mapping[ours] = (f"model.embedding_norm.{parts[-1]}", None)
        elif parts[0] == "embed_tokens":
            mapping[ours] = ("model.embed_tokens.weight", None)
        else:
            mapping[ours] = (ours, None)  # lm_head.weight
    return mapping


NAME_MAPS = {"lfm2": lfm2, "lfm2_moe": lfm2}
