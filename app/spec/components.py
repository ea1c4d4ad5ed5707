"""A decoder layer: a token mixer then a feed-forward network, with its norms and residual
(or both beside each other on one normed input: a parallel block).

The pieces live in their own homes: norms and rotary positions in `parts.py`, each token
mixer kind in `mixers/`, each feed-forward kind in `ffn/`. This module joins them into the
residual block the "Big LLM Architecture Comparison" draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ffn import FeedForward, known_ffn
from .mixers import Mixer, known_mixer
from .parts import Norm


@dataclass(frozen=True)
class ResidualScale:
    """Weights of a residual sum, alpha * residual + beta * sublayer output (MiniMax-M1:
    alpha = 3.5566, beta = 1, from its layernorm_*_alpha / _beta config keys)."""

    alpha: float = 1.0
    beta: float = 1.0


@dataclass(frozen=True)
class Layer:
    """One residual block: a token mixer then a feed-forward network, either may be
    absent (Nemotron-H alternates mixer-only and MoE-only blocks).

    norm_placement: "pre" normalizes each sublayer's input (Llama); "post" normalizes its
    output inside the residual (OLMo 2/3); "sandwich" does both (Gemma 3).

    parallel: the mixer and the feed-forward read the same normed input, from the layer's
    one norm, and both outputs join the residual at once: x + mixer(norm(x)) + ffn(norm(x))
    (GPT-J, Cohere's Command A and Tiny Aya). It needs both sublayers and Pre-Norm."""

    mixer: Mixer | None
    ffn: FeedForward | None
    norm: Norm = Norm()
    norm_placement: Literal["pre", "post", "sandwich"] = "pre"
    # MiniMax-01 / M1 ("postnorm"): the residual carries the normalized input, and both
    # terms are weighted: x = alpha * norm(x) + beta * sublayer(norm(x)), per sublayer
    residual_from_norm: bool = False
    mixer_residual: ResidualScale | None = None  # None: alpha = beta = 1
    ffn_residual: ResidualScale | None = None
    # LAuReL (Gemma 3n): a rank-r learned residual, norm(right(left(x))) + x on the mixer's
    # normalized input, averaged with the mixer's residual sum (both / sqrt 2); 0: none
    laurel_rank: int = 0
    # Gemma 4: the block's output times a learned scalar (layer_scalar). The reference keeps it
    # as a buffer, not a parameter, so the parameter counts leave it out as transformers does.
    scaled_output: bool = False
    parallel: bool = False
    # ZAYA1's residual scaling: each sublayer's sum is (out + b_out) * s_out + (x + b_x) * s_x,
    # four learned vectors of d_model per sublayer, in place of x + out
    learned_residual: bool = False

    @property
    def learned_residual_params_per_width(self) -> int:
        """Learned residual vectors per d_model channel: four per sublayer, or none."""
        return 4 * ((self.mixer is not None) + (self.ffn is not None)) if self.learned_residual else 0

    @property
    def norm_count(self) -> int:
        """How many norms of `norm`'s kind the layer holds: one per sublayer (two when
        sandwiched), one for a parallel block's shared input."""
        if self.parallel:
            return 1
        sublayers = (self.mixer is not None) + (self.ffn is not None)
        return sublayers * (2 if self.norm_placement == "sandwich" else 1)

    @property
    def attends_to_context(self) -> bool:
        """Its mixer attends over the sequence's own keys (softmax attention or MLA)."""
        return self.mixer is not None and known_mixer(self.mixer).attends_to_context

    @property
    def mixer_kind(self) -> str:
        """The mixer's kind tag ("attention", "mla", "mamba2", ...); "none" without one."""
        return known_mixer(self.mixer).kind if self.mixer is not None else "none"

    @property
    def ffn_kind(self) -> str:
        """The feed-forward's kind tag ("mlp", "moe"); "none" without one."""
        return known_ffn(self.ffn).kind if self.ffn is not None else "none"
