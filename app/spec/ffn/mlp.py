"""The dense feed-forward network (SwiGLU, GeGLU, GPT-2's GELU MLP, ReLU²), with
everything the rest of ArchScope asks of it. Its torch module is `app/model/mlp.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from ..checks import Checker
from ..cost import Cost, Step

if TYPE_CHECKING:
    from ..scale import Shrinker

# "gelu_tanh" is GPT-2's gelu_new and Gemma's gelu_pytorch_tanh; "relu2" is squared ReLU
# (Nemotron-H); "swiglu_oss" is gpt-oss's clamped SwiGLU with (up + 1).
Activation = Literal["silu", "gelu", "gelu_tanh", "relu2", "swiglu_oss"]


@dataclass(frozen=True)
class MLP:
    """Feed-forward network. Gated: down(act(gate(x)) * up(x)) -- SwiGLU with silu,
    GeGLU with gelu; plain: down(act(up(x))), GPT-2's GELU MLP."""

    kind: ClassVar[str] = "mlp"
    canvas_style: ClassVar[str] = "ffn"
    point_kind: ClassVar[str] = "dense MLP"
    # It reads only its normed input, never the layer's un-normed one (see MoE.branch_norm).
    reads_residual: ClassVar[bool] = False
    intermediate_size: int
    activation: Activation = "silu"
    gated: bool = True
    bias: bool = False
    # Gemma 3n's first layers: gate values below mean + std * Phi^-1(sparsity) (over each
    # token's gate) are cut to zero before the activation -- a Gaussian top-k; 0: off
    activation_sparsity: float = 0.0
    # DeepSeek V4 (swiglu_limit): the gate clamped from above and the up projection to
    # [-limit, limit] before the product; 0: no clamp
    swiglu_limit: float = 0.0

    # --- the analysis ---

    def params(self, d: int) -> int:
        matrices = 3 if self.gated else 2
        total = matrices * d * self.intermediate_size
        if self.bias:
            total += (matrices - 1) * self.intermediate_size + d
        return total

    def active_params(self, d: int) -> int:
        return self.params(d)

    # --- the roofline ---

    def step_cost(self, step: Step, d: int, routed: list[int] | None = None) -> Cost:
        return step.matmul(self.params(d), d, d + self.intermediate_size)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "intermediate_size")
        check.non_negative(self, path, "swiglu_limit")
        if self.swiglu_limit and not (self.gated and self.activation == "silu"):
            check.add(f"{path}.swiglu_limit", "clamps a SwiGLU's gate and up projections: needs gated silu")

    def explored(self, shrink: Shrinker) -> MLP:
        return replace(self, intermediate_size=shrink.multiple(self.intermediate_size * shrink.ratio))

    # --- words ---

    @property
    def activation_title(self) -> str:
        """"SwiGLU", "GeGLU", "GELU MLP", "ReLU² MLP"."""
        if not self.gated:
            return {"gelu": "GELU", "gelu_tanh": "GELU", "relu2": "ReLU²"}.get(self.activation,
                                                                             self.activation) + " MLP"
        return {"silu": "SwiGLU", "gelu": "GeGLU", "gelu_tanh": "GeGLU", "swiglu_oss": "SwiGLU (clamped)"}.get(
            self.activation, f"{self.activation} GLU")

    @property
    def title(self) -> str:
        return f"{self.activation_title} feed-forward"

    def box_lines(self) -> list[str]:
        lines = [f"hidden {self.intermediate_size}"]
        if self.activation_sparsity:
            lines.append(f"{self.activation_sparsity:.0%} of activations zeroed")
        return lines

    def label(self) -> str:
        return "dense"

    def describe(self) -> str:
        name = {"silu": "SwiGLU", "gelu": "GeGLU", "gelu_tanh": "GeGLU"}.get(self.activation, self.activation)
        sparse = f" {self.activation_sparsity:.0%} sparse" if self.activation_sparsity else ""
        return f"{name if self.gated else self.activation.upper() + ' MLP'} {self.intermediate_size}{sparse}"
