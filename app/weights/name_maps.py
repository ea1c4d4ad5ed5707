"""Where each of our parameters lives in a Hugging Face checkpoint, per naming lineage.

A map entry is our parameter name -> (checkpoint tensor name, transform). The Llama
lineage (Llama, Mistral, Qwen3, OLMo 2/3, Gemma 3, SmolLM3) shares one scheme whose norm
names follow the norm placement; GPT-2 fuses q, k, v and stores Conv1D (transposed)
matrices.
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


def _rows(index: int, d: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """One of q, k, v from GPT-2's fused c_attn, transposed out of Conv1D layout."""

    def take(tensor: torch.Tensor) -> torch.Tensor:
        part = tensor[..., index * d:(index + 1) * d]
        return part.t() if part.dim() == 2 else part

    return take


def _transpose(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.t()


def gpt2(spec: ArchSpec, our_names: list[str]) -> NameMap:
    d = spec.d_model
    mapping: NameMap = {}
    for name in our_names:
        parts = name.split(".")
        leaf = parts[-1]
        if parts[0] == "layers":
            prefix = f"transformer.h.{parts[1]}"
            module = ".".join(parts[2:-1])
            fused = {"mixer.q_proj": 0, "mixer.k_proj": 1, "mixer.v_proj": 2}
            if module in fused:
                mapping[name] = (f"{prefix}.attn.c_attn.{leaf}", _rows(fused[module], d))
                continue
            theirs = {"mixer.o_proj": "attn.c_proj", "ffn.up_proj": "mlp.c_fc", "ffn.down_proj": "mlp.c_proj",
                      "pre_mixer_norm": "ln_1", "pre_ffn_norm": "ln_2"}[module]
            transform = _transpose if leaf == "weight" and "norm" not in module else None
            mapping[name] = (f"{prefix}.{theirs}.{leaf}", transform)
        else:
            theirs = {"embed_tokens": "transformer.wte", "embed_positions": "transformer.wpe",
                      "final_norm": "transformer.ln_f", "lm_head": "lm_head"}[parts[0]]
            mapping[name] = (f"{theirs}.{leaf}", None)
    return mapping


NAME_MAPS = {
    "gpt2": gpt2,
    **{t: llama_lineage for t in ("llama", "mistral", "qwen2", "qwen3", "olmo2", "olmo3", "gemma3_text", "smollm3")},
}

# Below the definitions: names_deepseek builds on llama_lineage from this module.
from .names_deepseek import NAME_MAPS as DEEPSEEK_LINEAGE  # noqa: E402

NAME_MAPS.update(DEEPSEEK_LINEAGE)
from .names_moe import NAME_MAPS as MOE_LINEAGES  # noqa: E402

NAME_MAPS.update(MOE_LINEAGES)
from .names_nemotron_h import NAME_MAPS as NEMOTRON_H_LINEAGE  # noqa: E402

NAME_MAPS.update(NEMOTRON_H_LINEAGE)
from .names_minimax import NAME_MAPS as MINIMAX_LINEAGE  # noqa: E402

NAME_MAPS.update(MINIMAX_LINEAGE)
from .names_kimi_linear import NAME_MAPS as KIMI_LINEAR_LINEAGE  # noqa: E402

NAME_MAPS.update(KIMI_LINEAR_LINEAGE)
from .names_qwen3_next import NAME_MAPS as QWEN3_NEXT_LINEAGE  # noqa: E402

NAME_MAPS.update(QWEN3_NEXT_LINEAGE)
from .names_gemma3n import NAME_MAPS as GEMMA3N_LINEAGE  # noqa: E402

NAME_MAPS.update(GEMMA3N_LINEAGE)
from .names_vision import NAME_MAPS as VISION_LINEAGES  # noqa: E402

NAME_MAPS.update(VISION_LINEAGES)
