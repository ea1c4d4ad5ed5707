"""GPT-2's checkpoint names: q, k and v fused in one c_attn, and Conv1D (transposed) matrices."""

from __future__ import annotations

from typing import Callable

import torch

from ..spec import ArchSpec
from .names_llama import NameMap


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


NAME_MAPS = {"gpt2": gpt2}
