"""Cross-attention from the text to an image (Llama 3.2 Vision, method B of joining a
vision encoder), with everything the rest of ArchScope asks of it. Its torch module is
`app/model/cross_attention.py`; the image it attends to is the spec's `vision`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker, at
from ..cost import Cost, MixerSite, Step
from ..parts import QKNorm, norm_params

if TYPE_CHECKING:
    from ..scale import Shrinker
    from ..vision import VisionFrontEnd


@dataclass(frozen=True)
class CrossAttention:
    """Attention from the text to an image (Llama 3.2 Vision, method B of joining a vision
    encoder): queries from the text, keys and values from the projected image features,
    per-head QK-norm, and -- when gated -- tanh gates learned from zero on the attention
    and feed-forward outputs, so the layer starts as an identity. Keys and values are
    computed once per image; the text's tokens add nothing to its cache."""

    kind: ClassVar[str] = "cross_attention"
    attends_to_context: ClassVar[bool] = False  # it attends to the image, not to the text
    recurrent: ClassVar[bool] = False
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""
    canvas_style: ClassVar[str] = "vision"
    point_kind: ClassVar[str] = "cross-attention"
    title: ClassVar[str] = "Cross-attention to the image"
    num_heads: int
    num_kv_heads: int
    head_dim: int
    qk_norm: QKNorm | None = None
    gated: bool = True

    # --- the analysis ---

    def params(self, d: int) -> int:
        q_width, kv_width = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        total = d * (q_width + 2 * kv_width) + q_width * d
        if self.qk_norm is not None:
            total += 2 * norm_params(self.qk_norm.norm, self.head_dim)
        return total + (2 if self.gated else 0)  # the attention and feed-forward gates

    def vector_params(self, d: int) -> int:
        """The QK-norms and the two gates."""
        norms = 2 * norm_params(self.qk_norm.norm, self.head_dim) if self.qk_norm is not None else 0
        return norms + (2 if self.gated else 0)

    def per_image_params(self, d: int) -> int:
        """Its key and value projections: they turn the image's features into its keys and
        values once per image, not once per text token."""
        return 2 * d * self.num_kv_heads * self.head_dim

    def kv_values_per_token(self) -> int:
        return 0  # its keys and values are the image's, once per image

    def kv_values_per_image(self, vision: VisionFrontEnd) -> int:
        """Values it caches for one image: keys and values of every feature."""
        return vision.encoder.features_per_image * self.num_kv_heads * 2 * self.head_dim

    def state_values(self) -> int:
        return 0

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 2 * self.num_heads * 2 * self.head_dim * image_features  # its query attends to the image

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """Its keys and values were computed from the image at the prefill (their
        projections read then, not at a decode step); each step reads them back."""
        d = site.d_model
        features = site.vision.encoder.features_per_image if site.vision is not None else 0
        cache = step.batch * self.kv_values_per_image(site.vision) * step.dtype_bytes if features else 0
        kv_params = self.per_image_params(d)
        own = step.projections(self, d)
        own = Cost(own.weight_bytes - kv_params * step.dtype_bytes * (step.phase == "decode"), own.cache_bytes,
                   own.activation_bytes, own.flops - 2 * step.rows * kv_params)
        return own + Cost(cache_bytes=cache, flops=step.rows * self.score_flops_per_token(0, features))

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "num_kv_heads", "head_dim")
        check.divides(path, "num_kv_heads", self.num_kv_heads, "num_heads", self.num_heads)
        if self.qk_norm is not None:
            check.norm(self.qk_norm.norm, at(path, "qk_norm.norm"))

    def explored(self, shrink: Shrinker) -> CrossAttention:
        heads, kv = shrink.heads(self.num_heads, self.num_kv_heads)
        head_dim = shrink.head_dim(self.head_dim)
        if self.num_heads * self.head_dim == shrink.d_model:  # keep heads x head_dim == width
            head_dim = shrink.width // heads
        return replace(self, num_heads=heads, num_kv_heads=kv, head_dim=head_dim)

    # --- words ---

    def box_lines(self) -> list[str]:
        return [f"{self.num_heads} heads · {self.num_kv_heads} KV · dim {self.head_dim}",
                "keys, values: image features", "tanh-gated · QK-norm" if self.gated else "QK-norm"]

    def label(self, say_global: bool = False) -> str:
        return "cross-attention"

    def describe(self) -> str:
        return f"cross-attention {self.num_heads}/{self.num_kv_heads}x{self.head_dim} to the image"

    @property
    def pattern_label(self) -> str:
        return self.describe()
