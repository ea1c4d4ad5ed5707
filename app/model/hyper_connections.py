"""DeepSeek V4's manifold-constrained hyper-connections (mHC): the residual as `streams`
copies of each token [B, T, n, d], collapsed into a sublayer's input and refilled from its
output by weights computed from the streams themselves (app/spec/hyper_connections.py).

Everything here runs in float32, as the reference keeps these modules.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.hyper_connections import HyperConnections as StreamsSpec


def _sinkhorn(comb: torch.Tensor, iters: int, eps: float) -> torch.Tensor:
    """Columns then rows normalized to sum 1, alternately: `iters` column passes and one row
    pass fewer (the row pass before the first is the softmax that made comb)."""
    comb = comb / (comb.sum(dim=-2, keepdim=True) + eps)
    for _ in range(iters - 1):
        comb = comb / (comb.sum(dim=-1, keepdim=True) + eps)
        comb = comb / (comb.sum(dim=-2, keepdim=True) + eps)
    return comb


# One operator, opaque to torch.compile, so the compiler does not unroll V4's 20 iterations
# around both sublayers of every layer: inline, they added 28 s to compiling a 2-layer
# explore V4 (70 s against 42 s at 2 iterations, 2-core EPYC). Eager and compiled steps run
# the same ops in the same order, so their numbers are equal. A plain library op, not
# torch.library.custom_op, whose wrapper costs about 20 us more a call.
_LIBRARY = torch.library.Library("archscope", "FRAGMENT")
_LIBRARY.define("sinkhorn(Tensor comb, int iters, float eps) -> Tensor")
_LIBRARY.impl("sinkhorn", _sinkhorn, "CompositeExplicitAutograd")
torch.library.register_fake("archscope::sinkhorn", lambda comb, iters, eps: torch.empty_like(comb), lib=_LIBRARY)


def _flat_normed(streams: torch.Tensor, eps: float) -> torch.Tensor:
    flat = streams.flatten(-2).float()
    return F.rms_norm(flat, (flat.shape[-1],), eps=eps)


class HyperConnection(nn.Module):
    """The streams around one sublayer: `collapse` gives its input, `refill` the next streams."""

    matrices = ("fn",)  # initialised like a projection's weight

    def __init__(self, spec: StreamsSpec, d_model: int, norm_eps: float):
        super().__init__()
        n = spec.streams
        self.spec, self.norm_eps = spec, norm_eps
        weights = (2 + n) * n  # pre, post, comb
        self.fn = nn.Parameter(torch.zeros(weights, n * d_model))
        self.base = nn.Parameter(torch.zeros(weights))
        self.scale = nn.Parameter(torch.ones(3))

    def forward(self, streams: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(the sublayer's input [B, T, d], post [B, T, n], comb [B, T, n, n]) for streams
        [B, T, n, d]; comb doubly stochastic (Sinkhorn-Knopp), rows the streams it reads."""
        n, eps = self.spec.streams, self.spec.eps
        mixes = F.linear(_flat_normed(streams, self.norm_eps), self.fn.float())
        pre, post, comb = mixes.split([n, n, n * n], dim=-1)
        pre_bias, post_bias, comb_bias = self.base.float().split([n, n, n * n])
        pre_scale, post_scale, comb_scale = self.scale.float().unbind(0)
        pre = torch.sigmoid(pre * pre_scale + pre_bias) + eps
        post = 2 * torch.sigmoid(post * post_scale + post_bias)
        comb = (comb * comb_scale + comb_bias).view(*comb.shape[:-1], n, n).softmax(dim=-1) + eps
        comb = torch.ops.archscope.sinkhorn(comb, self.spec.sinkhorn_iters, eps)
        collapsed = (pre.unsqueeze(-1) * streams).sum(dim=-2).to(streams.dtype)
        return collapsed, post, comb

    @staticmethod
    def refill(streams: torch.Tensor, output: torch.Tensor, post: torch.Tensor, comb: torch.Tensor) -> torch.Tensor:
        """Next streams: each the sublayer's output times its post weight, plus the streams
        mixed by comb (stream k reads sum_j comb[j, k] * stream j)."""
        dtype = streams.dtype
        return post.to(dtype).unsqueeze(-1) * output.unsqueeze(-2) + comb.to(dtype).transpose(-1, -2) @ streams


class HyperHead(nn.Module):
    """The last collapse of the streams into one token, before the final norm."""

    matrices = ("fn",)

    def __init__(self, spec: StreamsSpec, d_model: int, norm_eps: float):
        super().__init__()
        n = spec.streams
        self.spec, self.norm_eps = spec, norm_eps
        self.fn = nn.Parameter(torch.zeros(n, n * d_model))
        self.base = nn.Parameter(torch.zeros(n))
        self.scale = nn.Parameter(torch.ones(1))

    def spread(self, x: torch.Tensor) -> torch.Tensor:
        """The token embedding copied into every stream [B, T, n, d]."""
        return x.unsqueeze(-2).expand(*x.shape[:-1], self.spec.streams, x.shape[-1]).contiguous()

    def forward(self, streams: torch.Tensor) -> torch.Tensor:
        mixes = F.linear(_flat_normed(streams, self.norm_eps), self.fn.float())
        pre = torch.sigmoid(mixes * self.scale.float() + self.base.float()) + self.spec.eps
        return (pre.unsqueeze(-1) * streams).sum(dim=-2).to(streams.dtype)
