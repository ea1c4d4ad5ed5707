"""The vision front-end of a multimodal model, as plain frozen data.

Two ways a vision encoder joins a decoder ("Understanding Multimodal LLMs", Raschka 2024):
method "unified" (A) turns an image into tokens that sit among the text tokens in the
decoder's own sequence (Gemma 3: SigLIP, pooled to 256 tokens, projected to d_model);
method "cross_attention" (B) keeps the image features apart and lets some decoder layers
attend to them (Llama 3.2 Vision). The encoder is a ViT either way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from .ffn import Activation
from .parts import Norm

# SigLIP's LayerNorm (eps 1e-6, with its additive term)
VIT_NORM = Norm("layernorm", 1e-6, bias=True)
# Gemma 3's projector norm: Gemma's (1 + w) RMSNorm over the pooled vision features
GEMMA_PROJECTOR_NORM = Norm("rmsnorm", 1e-6, unit_offset=True)


@dataclass(frozen=True)
class VisionEncoder:
    """A ViT: the image cut into patch_size squares, each embedded by a strided conv, a
    learned position per patch, then pre-norm transformer layers whose attention sees
    every patch (no causal mask), and a final norm."""

    image_size: int  # pixels per side
    patch_size: int
    d_model: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    activation: Activation = "gelu_tanh"
    norm: Norm = VIT_NORM
    num_channels: int = 3
    patch_bias: bool = True
    attention_bias: bool = True
    post_norm: bool = True
    # Llama 3.2 Vision (mllama): an image cut into up to max_tiles tiles of image_size, a
    # class token per tile, tile embeddings per aspect-ratio layout (aspect_ratios of them),
    # a LayerNorm before the layers, then num_global_layers gated layers; the outputs of
    # intermediate_layers join the final features. SigLIP has none of these.
    class_token: bool = False
    max_tiles: int = 1
    aspect_ratios: int = 0
    pre_norm: bool = False
    num_global_layers: int = 0
    intermediate_layers: tuple[int, ...] = ()

    @property
    def patches_per_side(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.patches_per_side**2

    @property
    def tokens_per_tile(self) -> int:
        return self.num_patches + (1 if self.class_token else 0)

    @property
    def features_per_image(self) -> int:
        """Feature vectors the encoder gives per image (every tile's tokens)."""
        return self.max_tiles * self.tokens_per_tile

    @property
    def output_width(self) -> int:
        """Width of a feature: the final layer's, with each intermediate layer's beside it."""
        return self.d_model * (1 + len(self.intermediate_layers))

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads


@dataclass(frozen=True)
class VisionFrontEnd:
    """How images enter the model.

    cross_attention: the encoder's features, projected to the decoder width, are the keys
    and values of the decoder's cross-attention layers; text tokens from the image_token_id
    on attend to them. tokens_per_image is 0: an image takes no decoder position.

    unified: the encoder's patch features are average-pooled to tokens_per_image (a
    square number), normalized and projected to the decoder width, then replace the
    image_token_id placeholders in the prompt. image_attention "bidirectional" lets the
    tokens of one image see each other both ways (Gemma 3); "causal" treats them like text.
    """

    method: Literal["unified", "cross_attention"]
    encoder: VisionEncoder
    image_token_id: int
    tokens_per_image: int
    projector_norm: Norm | None = GEMMA_PROJECTOR_NORM
    projector_bias: bool = False
    image_attention: Literal["causal", "bidirectional"] = "bidirectional"
    extra_token_rows: int = 0  # mllama: 8 embedding rows past the vocabulary (its image token among them)

    @property
    def tokens_per_side(self) -> int:
        return int(round(self.tokens_per_image**0.5))

    @property
    def pool_kernel(self) -> int:
        """Patches per side pooled into one image token (Gemma 3: 64 / 16 = 4)."""
        return self.encoder.patches_per_side // max(self.tokens_per_side, 1)


def aspect_ratio_layouts(max_tiles: int) -> list[list[int]]:
    """Every (rows, columns) tiling of at most max_tiles tiles, in the published order
    (1x1, 1x2, 1x3, 1x4, 2x1, 2x2, 3x1, 4x1 for four); layout id i + 1 is entry i."""
    return [[rows, columns] for rows in range(1, max_tiles + 1) for columns in range(1, max_tiles + 1)
            if rows * columns <= max_tiles]


def vision_problems(vision: VisionFrontEnd, path: str = "vision") -> list[tuple[str, str]]:
    """(field path, rule broken) for every structural problem of a front-end."""
    problems = []
    encoder = vision.encoder
    for name in ("image_size", "patch_size", "d_model", "num_layers", "num_heads", "intermediate_size",
                 "num_channels"):
        value = getattr(encoder, name)
        if not (isinstance(value, int) and value > 0):
            problems.append((f"{path}.encoder.{name}", f"must be positive, found {value!r}"))
    if problems:
        return problems
    if encoder.image_size % encoder.patch_size:
        problems.append((f"{path}.encoder.patch_size",
                         f"{encoder.patch_size} does not divide image_size {encoder.image_size}"))
    if encoder.d_model % encoder.num_heads:
        problems.append((f"{path}.encoder.num_heads", f"{encoder.num_heads} does not divide d_model {encoder.d_model}"))
    if vision.image_token_id < 0:
        problems.append((f"{path}.image_token_id", f"must be zero or positive, found {vision.image_token_id}"))
    for owner, where, name in ((encoder, "encoder.", "max_tiles"), (encoder, "encoder.", "aspect_ratios"),
                               (encoder, "encoder.", "num_global_layers"), (vision, "", "extra_token_rows")):
        value = getattr(owner, name)
        if not (isinstance(value, int) and value >= 0):
            problems.append((f"{path}.{where}{name}", f"must be zero or positive, found {value!r}"))
    for index in encoder.intermediate_layers:
        if not 0 <= index < encoder.num_layers:
            problems.append((f"{path}.encoder.intermediate_layers", f"layer {index} is outside the encoder's "
                             f"{encoder.num_layers} layers"))
    if vision.method == "cross_attention" and vision.tokens_per_image:
        problems.append((f"{path}.tokens_per_image", "must be 0: cross-attention images take no decoder positions"))
    if vision.method == "unified":
        side = vision.tokens_per_side
        if vision.tokens_per_image <= 0 or side * side != vision.tokens_per_image:
            problems.append((f"{path}.tokens_per_image", f"must be a square number, found {vision.tokens_per_image}"))
        elif encoder.patches_per_side % side:
            problems.append((f"{path}.tokens_per_image", f"{side} tokens per side do not divide the "
                             f"{encoder.patches_per_side} patches per side"))
    return problems


# The explore scale of a front-end: a narrow, shallow encoder on a small image that keeps
# the structure -- patches pooled several to one token, a square token grid.
EXPLORE_VISION_D_MODEL = 128
EXPLORE_VISION_MAX_HEADS = 4
EXPLORE_VISION_MAX_LAYERS = 4
EXPLORE_TOKENS_PER_SIDE = 8


def explore_vision(vision: VisionFrontEnd, vocab_size: int, explore_vocab: int) -> VisionFrontEnd:
    """A placeholder token in the rows past the vocabulary (mllama) keeps its place past the
    smaller vocabulary; one inside it (Gemma 3) keeps its id, out of range, as the reference
    allows: its embedding is replaced by the image's."""
    if vision.extra_token_rows and vocab_size <= vision.image_token_id < vocab_size + vision.extra_token_rows:
        vision = replace(vision, image_token_id=explore_vocab + vision.image_token_id - vocab_size)
    encoder = vision.encoder
    heads = min(encoder.num_heads, EXPLORE_VISION_MAX_HEADS)
    while EXPLORE_VISION_D_MODEL % heads:
        heads -= 1
    ffn = max(8, round(encoder.intermediate_size * EXPLORE_VISION_D_MODEL / encoder.d_model / 8) * 8)
    side = min(vision.tokens_per_side, EXPLORE_TOKENS_PER_SIDE) if vision.method == "unified" else 0
    pool = min(vision.pool_kernel, 2) if vision.method == "unified" else 1
    patches_per_side = side * pool if side else min(encoder.patches_per_side, EXPLORE_TOKENS_PER_SIDE)
    layers = min(encoder.num_layers, EXPLORE_VISION_MAX_LAYERS)
    small = replace(encoder, image_size=patches_per_side * encoder.patch_size, d_model=EXPLORE_VISION_D_MODEL,
                    num_layers=layers, num_heads=heads, intermediate_size=ffn,
                    num_global_layers=min(encoder.num_global_layers, 2),
                    # the same layers in proportion, as many of them: the feature width keeps its ratio
                    intermediate_layers=tuple(index * layers // encoder.num_layers
                                              for index in encoder.intermediate_layers))
    return replace(vision, encoder=small, tokens_per_image=side * side if side else vision.tokens_per_image)
