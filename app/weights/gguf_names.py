"""Where each of our parameters lives in a GGUF file: llama.cpp's tensor names
(blk.N.attn_q.weight, token_embd.weight, ...) for our checkpoint names, and the transform
that undoes what llama.cpp's converter changed on the way in.

One naming serves every GGUF architecture ArchScope reads, since llama.cpp names a
component the same whichever model it sits in. The converter permutes the query/key rows of
Llama-architecture files for its interleaved RoPE, and it stores every norm's multiplier
itself where Gemma's (1 + w) norms keep w.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..model.norms import RMSNorm

# llama.cpp's converter permutes q/k rows only for these (the others already use half-split RoPE).
_PERMUTED_QK = {"llama"}

_BLOCK_NAMES = {
    "mixer.q_proj": "attn_q", "mixer.k_proj": "attn_k", "mixer.v_proj": "attn_v", "mixer.o_proj": "attn_output",
    "mixer.q_norm": "attn_q_norm", "mixer.k_norm": "attn_k_norm",
    "ffn.gate_proj": "ffn_gate", "ffn.up_proj": "ffn_up", "ffn.down_proj": "ffn_down",
    "pre_mixer_norm": "attn_norm", "post_mixer_norm": "post_attention_norm",
    "pre_ffn_norm": "ffn_norm", "post_ffn_norm": "post_ffw_norm",
    "ffn.router.proj": "ffn_gate_inp",
}
# The routed experts, stacked [experts, out, in] in the file as in our model.
_STACKED_NAMES = {"ffn.experts.gate_proj": "ffn_gate_exps.weight", "ffn.experts.up_proj": "ffn_up_exps.weight",
                  "ffn.experts.down_proj": "ffn_down_exps.weight"}
_TOP_NAMES = {"embed_tokens": "token_embd", "final_norm": "output_norm", "lm_head": "output"}


def gguf_name(ours: str) -> str:
    parts = ours.split(".")
    if parts[0] == "layers":
        inner = ".".join(parts[2:])
        if inner in _STACKED_NAMES:
            return f"blk.{parts[1]}.{_STACKED_NAMES[inner]}"
        return f"blk.{parts[1]}.{_BLOCK_NAMES['.'.join(parts[2:-1])]}.{parts[-1]}"
    return f"{_TOP_NAMES[parts[0]]}.{parts[-1]}"


def _unpermute(heads: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Undo llama.cpp's permute(): within each head it interleaved the two rotary halves
    (rows 0, d/2, 1, d/2+1, ...); put them back half after half."""

    def undo(rows: torch.Tensor) -> torch.Tensor:
        shape = rows.shape
        return rows.reshape(heads, -1, 2, *shape[1:]).transpose(1, 2).reshape(shape)

    return undo


def gguf_transform(model: torch.nn.Module, ours: str, architecture: str | None) -> Callable | None:
    """What turns the file's tensor for our parameter `ours` back into its value in a model
    of this `general.architecture`; None when the tensor is stored as we keep it."""
    owner = model.get_submodule(ours.rsplit(".", 1)[0])
    if isinstance(owner, RMSNorm) and owner.unit_offset:
        return lambda weight: weight - 1.0  # the file stores 1 + w
    if architecture in _PERMUTED_QK and ours.endswith(("mixer.q_proj.weight", "mixer.k_proj.weight")):
        block = model.get_submodule(ours.rsplit(".", 2)[0])
        spec = block.spec
        return _unpermute(spec.num_heads if ".q_proj." in ours else spec.num_kv_heads)
    return None
