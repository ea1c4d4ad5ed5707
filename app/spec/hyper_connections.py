"""Manifold-constrained hyper-connections (mHC; DeepSeek V4, after Xie et al., 2026), with
everything the rest of ArchScope asks of them.

The residual is `streams` copies of the token (hc_mult), not one. Before each sublayer a
learned map of the normed, flattened streams gives three sets of weights: `pre` collapses
the streams into the sublayer's input, `post` spreads its output back over them, and `comb`
(projected towards a doubly-stochastic matrix by Sinkhorn-Knopp) mixes the streams that
carry on. A last collapse (the head's) makes one token for the final norm. Its torch module
is `app/model/hyper_connections.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import Checker


@dataclass(frozen=True)
class HyperConnections:
    """streams: hc_mult; sinkhorn_iters: hc_sinkhorn_iters; eps: hc_eps, the floor added to
    the weights and to the Sinkhorn sums."""

    streams: int = 4
    sinkhorn_iters: int = 20
    eps: float = 1e-6

    @property
    def _weights(self) -> int:
        """pre and post (a weight per stream) and comb (one per pair of streams)."""
        return (2 + self.streams) * self.streams

    def layer_params(self, d: int) -> int:
        """Two per decoder layer (before the mixer and before the feed-forward): each a map
        from the flattened streams to the weights, a bias per weight and three scales."""
        return 2 * (self._weights * self.streams * d + self._weights + 3)

    def head_params(self, d: int) -> int:
        """The final collapse: a map to one weight per stream, their biases and one scale."""
        return self.streams * self.streams * d + self.streams + 1

    def stream_flops_per_token(self, d: int) -> int:
        """Per decoder layer, beyond the maps (counted as the matrices they are): for each of
        its two sublayers the collapse, the spread and the comb mix over the d-wide streams,
        a multiply-add per value each."""
        n = self.streams
        return 2 * 2 * d * (n + n + n * n)

    # --- words: the canvas's embedding and head boxes ---

    def embedding_lines(self) -> list[str]:
        return [f"mHC: {self.streams} residual streams, mixed around", "each sublayer (Sinkhorn-projected)"]

    def head_line(self) -> str:
        return f"after the {self.streams} mHC streams collapse to one"

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "streams", "sinkhorn_iters", "eps")
        for name in ("streams", "sinkhorn_iters"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                check.add(f"{path}.{name}", f"expected a whole number, found {value!r}")
