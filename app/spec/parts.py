"""The small pieces mixers and layers are made of: norms and rotary positions.

Plain frozen data, as the rest of the spec; kept apart from the mixers so that every mixer
kind's module can use them without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..units import human_count


@dataclass(frozen=True)
class Norm:
    """LayerNorm or RMSNorm. `unit_offset` scales by (1 + w) with w initialised at zero:
    Gemma's RMSNorm and the "zero-centered" RMSNorm of Qwen3-Next are this formula.
    kind "l2" is a weightless L2 normalization (Llama 4's QK-norm)."""

    kind: Literal["rmsnorm", "layernorm", "l2"] = "rmsnorm"
    eps: float = 1e-6
    unit_offset: bool = False
    bias: bool = False  # LayerNorm's additive term


def norm_params(norm: Norm | None, width: int) -> int:
    """Learned values of a norm over `width` channels (none for an absent or L2 norm)."""
    if norm is None or norm.kind == "l2":
        return 0
    return width * (2 if norm.bias else 1)


@dataclass(frozen=True)
class RopeScaling:
    """Context extension of RoPE. `type` follows the Hugging Face `rope_type` names."""

    type: Literal["linear", "llama3", "yarn"]
    factor: float
    original_max_position: int = 0  # llama3, yarn
    low_freq_factor: float = 1.0  # llama3
    high_freq_factor: float = 4.0  # llama3
    beta_fast: float = 32.0  # yarn
    beta_slow: float = 1.0  # yarn
    mscale: float = 1.0  # yarn (DeepSeek)
    mscale_all_dim: float = 0.0  # yarn (DeepSeek): also rescales the softmax
    truncate: bool = True  # yarn (gpt-oss sets False)
    # yarn: the cos/sin scale when a config states it (Olmo 3 does); 0: derived from
    # factor and mscale as transformers does
    attention_factor: float = 0.0


@dataclass(frozen=True)
class Rope:
    """Rotary positions on the first `rotary_dim` channels of each head (partial RoPE
    when that is less than the head dimension)."""

    theta: float
    rotary_dim: int
    scaling: RopeScaling | None = None
    interleaved: bool = False  # pairs (2i, 2i+1) instead of halves (GLM, GPT-J style)
    # Proportional RoPE (Gemma 4's global layers, rope_type "proportional"): the frequencies
    # are spaced as for a rotation of all `frequency_dim` channels (the head dimension), and
    # only the rotary_dim / 2 fastest pairs of each half turn; the slow rest stay still, as if
    # their angle were zero. 0: ordinary RoPE, spaced over rotary_dim.
    frequency_dim: int = 0


@dataclass(frozen=True)
class QKNorm:
    """Normalization of queries and keys before the dot product: per head over head_dim
    (Qwen3, Gemma 3), or over all heads of the layer at once (OLMo 2, MiniMax-M2)."""

    scope: Literal["head", "all_heads"]
    norm: Norm


def theta_text(theta: float) -> str:
    """A RoPE base as the article writes it: 1000000 -> "1M", 10000 -> "10k"."""
    return human_count(theta).replace("K", "k")
