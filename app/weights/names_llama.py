"""The Llama lineage's checkpoint names (Llama, Mistral, Qwen2/3, OLMo 2/3, Gemma 3,
SmolLM3, Granite, Cohere2 -- whose parallel blocks hold only the input_layernorm), and the form of a name map, which every lineage shares.

A map entry is our parameter name -> (checkpoint tensor name, transform). The lineage's
norm names follow the norm placement. Other lineages (MoE, vision, Gemma 3n) build on
`llama_lineage` and import it from here.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..spec import ArchSpec

Transform = Callable[[torch.Tensor], torch.Tensor] | None
# our name -> (checkpoint name, or a tuple of names stacked on a new first axis, transform)
NameMap = dict[str, tuple[str | tuple[str, ...], Transform]]

# Norm names of the Llama lineage by placement: (our name, checkpoint name).
_NORM_NAMES = {
    "pre": [("pre_mixer_norm", "input_layernorm"), ("pre_ffn_norm", "post_attention_layernorm")],
    "post": [("post_mixer_norm", "post_attention_layernorm"), ("post_ffn_norm", "post_feedforward_layernorm")],
    "sandwich": [("pre_mixer_norm", "input_layernorm"), ("post_mixer_norm", "post_attention_layernorm"),
                 ("pre_ffn_norm", "pre_feedforward_layernorm"), ("post_ffn_norm", "post_feedforward_layernorm")],
}


def llama_lineage(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for name in our_names:
        parts = name.split(".")
        if parts[0] == "layers":
            index, module, rest = parts[1], parts[2], ".".join(parts[3:])
            norms = dict(_NORM_NAMES[spec.layers[int(index)].norm_placement])
            if module in norms:
                theirs = f"model.layers.{index}.{norms[module]}.{rest}"
            else:
                theirs = f"model.layers.{index}.{ {'mixer': 'self_attn', 'ffn': 'mlp'}[module] }.{rest}"
        elif parts[0] == "final_norm":
            theirs = "model.norm." + parts[-1]
        elif parts[0] == "embed_tokens":
            theirs = "model.embed_tokens.weight"
        else:
            theirs = name  # lm_head.weight
        mapping[name] = (theirs, None)
    return mapping


NAME_MAPS = {t: llama_lineage for t in ("llama", "mistral", "qwen2", "qwen3", "olmo2", "olmo3", "gemma3_text",
                                        "smollm3", "cohere2", "granite")}
