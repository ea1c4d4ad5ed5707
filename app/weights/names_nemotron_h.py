"""Checkpoint names of Nemotron-H / Nemotron 3 (transformers' nemotron_h), as the published
checkpoints store them and transformers' save_pretrained writes them back.

Everything but the output head lives under `backbone.`. Every block holds one sublayer,
always saved as `backbone.layers.N.mixer` whatever it is (Mamba-2, attention, MLP or MoE),
behind one pre-norm `backbone.layers.N.norm`. Our blocks keep a mixer and a feed-forward
slot, one of them empty, so the block's only norm is our pre_mixer_norm or pre_ffn_norm.
The embedding is `backbone.embeddings`, the final norm `backbone.norm_f`.

Inside the sublayers:
- Mamba-2: our short conv is the checkpoint's conv1d; every other name is the same.
- MoE: the router is `gate` (with its e_score_correction_bias), the shared expert
  `shared_experts`; each routed expert is saved on its own (experts.N.up_proj.weight,
  experts.N.down_proj.weight: non-gated experts), stacked by the loader into our [E, out, in].
  Super and Ultra's latent projections are `fc1_latent_proj` (down) and `fc2_latent_proj` (up).
"""

from __future__ import annotations

from ..spec import ArchSpec
from .names_llama import NameMap
from .names_moe import router_bias_buffers

PREFIX = "backbone"  # transformers renames it to "model." as it loads; the files keep it

# Our path inside a Mamba-2 mixer -> the checkpoint's, where they differ (the conv weight
# keeps nn.Conv1d's [C, 1, K] layout, so it loads as it is).
MAMBA_NAMES = {"conv": "conv1d"}
# Our path inside a feed-forward -> the checkpoint's, by leading module.
FFN_NAMES = {"router.proj": "gate", "router.score_correction_bias": "gate.e_score_correction_bias",
             "shared": "shared_experts", "latent_down": "fc1_latent_proj", "latent_up": "fc2_latent_proj"}


def _inside(rest: str, names: dict) -> str:
    """Rename the longest leading module path of `rest` that `names` knows."""
    for ours in sorted(names, key=len, reverse=True):
        if rest == ours or rest.startswith(ours + "."):
            return names[ours] + rest[len(ours):]
    return rest


def _block(spec: ArchSpec, index: int, module: str, rest: str):
    """(checkpoint name or names, transform) of our layers.<index>.<module>.<rest>."""
    block = f"{PREFIX}.layers.{index}"
    if module in ("pre_mixer_norm", "pre_ffn_norm"):
        return f"{block}.norm.{rest}", None
    if module == "mixer":
        return f"{block}.mixer.{_inside(rest, MAMBA_NAMES)}", None  # attention keeps q_proj ... o_proj
    if module == "ffn" and rest.startswith("experts."):
        leaf, count = rest.removeprefix("experts."), spec.layers[index].ffn.num_experts
        return tuple(f"{block}.mixer.experts.{e}.{leaf}.weight" for e in range(count)), None
    return f"{block}.mixer.{_inside(rest, FFN_NAMES)}", None  # a dense MLP, or the MoE's router and shared expert


def nemotron_h(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for ours in [*our_names, *router_bias_buffers(spec)]:
        parts = ours.split(".")
        if parts[0] == "layers":
            mapping[ours] = _block(spec, int(parts[1]), parts[2], ".".join(parts[3:]))
        elif parts[0] == "embed_tokens":
            mapping[ours] = (f"{PREFIX}.embeddings.weight", None)
        elif parts[0] == "final_norm":
            mapping[ours] = (f"{PREFIX}.norm_f.{parts[-1]}", None)
        else:
            mapping[ours] = (ours, None)  # lm_head.weight
    return mapping


NAME_MAPS = {"nemotron_h": nemotron_h}
