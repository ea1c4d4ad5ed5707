"""xLSTM's mLSTM (matrix-memory LSTM, NX-AI's xLSTM 7B), with everything the rest of
ArchScope asks of it. Its torch module is `app/model/mlstm.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker
from ..cost import Cost, MixerSite, Step

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class MLSTM:
    """The mLSTM layer of xLSTM 7B (Beck et al., 2025, "xLSTM 7B: A Recurrent LLM for Fast
    and Efficient Inference"): per head a matrix memory C (qk_head_dim x v_head_dim) and a
    normalizer n, written through exponential input and sigmoid forget gates, both
    soft-capped; the read-out is normalized per head (a LayerNorm without bias) and gated by
    a sigmoid output gate as wide as the values."""

    kind: ClassVar[str] = "mlstm"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""  # order comes from the recurrence alone
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "mLSTM"
    num_heads: int
    qk_head_dim: int  # hidden_size x qk_dim_factor / num_heads
    v_head_dim: int  # hidden_size x v_dim_factor / num_heads
    # gate pre-activations are cap * tanh(x / cap) (gate_soft_cap); 0: uncapped
    gate_soft_cap: float = 15.0
    norm_eps: float = 1e-6  # the per-head output LayerNorm (norm_eps)
    eps: float = 1e-6  # added to the read-out's denominator (config key eps)
    chunk_size: int = 64  # the prefill's chunk length (chunk_size)

    @property
    def _qk_dim(self) -> int:
        return self.num_heads * self.qk_head_dim

    @property
    def _v_dim(self) -> int:
        return self.num_heads * self.v_head_dim

    # --- the analysis ---

    def params(self, d: int) -> int:
        """q and k, v and the output gate, the input and forget gates (one per head, with
        their bias always on), the head norm's weight and the output projection."""
        qk, v, heads = self._qk_dim, self._v_dim, self.num_heads
        return d * (2 * qk + 2 * v + 2 * heads) + 2 * heads + v + v * d

    def vector_params(self, d: int) -> int:
        """The two gates' biases and the head norm's weight."""
        return 2 * self.num_heads + self._v_dim

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        # No cache grows with the context: every token folds into the fixed-size state.
        return 0

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        """What transformers' xLSTMCache keeps per layer and sequence: per head the matrix
        memory C, the normalizer n and the scalar stabilizer m."""
        return self.num_heads * (self.qk_head_dim * self.v_head_dim + self.qk_head_dim + 1)

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        """Per head: the rank-one write k v^T into C and the read-out q^T C (2 FLOPs per
        value each), and the same for the normalizer n and q . n."""
        return 4 * self.num_heads * self.qk_head_dim * (self.v_head_dim + 1)

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """Its state read and written once per step; per token row a rank-one write and a
        read of C and n, 2 FLOPs per value each."""
        state = step.batch * self.state_values() * step.dtype_bytes
        flops = step.rows * self.score_flops_per_token(0)
        return step.projections(self, site.d_model) + Cost(cache_bytes=2 * state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "qk_head_dim", "v_head_dim", "chunk_size", "norm_eps", "eps")
        check.non_negative(self, path, "gate_soft_cap")
        check.finite(self, path, "gate_soft_cap", "norm_eps", "eps")

    def explored(self, shrink: Shrinker) -> MLSTM:
        """The query/key and value widths keep their share of the model width (xLSTM 7B: a
        half and a whole), rounded to multiples of 64 as transformers' cache sizes them;
        heads as many as divide both, up to the explore limit."""
        qk = shrink.multiple(self._qk_dim * shrink.ratio, 64, 64)
        v = shrink.multiple(self._v_dim * shrink.ratio, 64, 64)
        heads = min(self.num_heads, shrink.max_heads)
        while qk % heads or v % heads:
            heads -= 1
        return replace(self, num_heads=heads, qk_head_dim=qk // heads, v_head_dim=v // heads)

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> MLSTM:
        """xLSTM 7B's proportions: 8 heads, queries and keys half the width, values all of it."""
        heads = 8 if d_model % (8 * 2) == 0 else 1
        return cls(num_heads=heads, qk_head_dim=d_model // 2 // heads, v_head_dim=d_model // heads)

    # --- words ---

    def box_lines(self) -> list[str]:
        cap = f"gates capped ±{self.gate_soft_cap:g}" if self.gate_soft_cap else "gates uncapped"
        return [f"{self.num_heads} heads · qk {self.qk_head_dim} / v {self.v_head_dim}",
                f"exp. input gate · {cap}", "matrix memory · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "mLSTM"

    def describe(self) -> str:
        return "mLSTM"

    pattern_label: ClassVar[str] = "mLSTM"
