"""Multimodal configs. Gemma 3 (`gemma3`, Gemma3ForConditionalGeneration): a gemma3_text
decoder with a SigLIP encoder whose features are pooled, normalized and projected into
the token sequence (method A, unified embedding). Llama 3.2 Vision (`mllama`,
MllamaForConditionalGeneration): a Llama decoder with gated cross-attention layers at
cross_attention_layers, attending to a tiled ViT's projected features (method B)."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..errors import Problem, SpecError
from ..mixers import CrossAttention
from ..parts import Norm, QKNorm
from ..vision import VIT_NORM, VisionEncoder, VisionFrontEnd, aspect_ratio_layouts
from .common import FAMILIES, HIDDEN_ACTS, activation_from_hf, activation_to_hf
from .dense import llama_like_to_config, llama_like_to_spec
from .reader import ConfigReader

# transformers' SiglipVisionConfig defaults, used by Gemma3Config for keys a config leaves out
SIGLIP_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "num_channels": 3, "image_size": 224, "patch_size": 16, "hidden_act": "gelu_pytorch_tanh",
                   "layer_norm_eps": 1e-6}
# Gemma3Config's defaults for its own keys
GEMMA3_DEFAULTS = {"mm_tokens_per_image": 256, "image_token_index": 262_144, "boi_token_index": 255_999,
                   "eoi_token_index": 256_000}


def read_siglip(r: ConfigReader) -> VisionEncoder:
    r.config = SIGLIP_DEFAULTS | r.config
    if r.bool("vision_use_head", False):  # published Gemma 3 configs all say false
        r.problem("vision_use_head", "the attention-pooling head is not part of a multimodal front-end; expected false")
    activation = r.str("hidden_act", "gelu_pytorch_tanh", HIDDEN_ACTS)
    return VisionEncoder(
        image_size=r.int("image_size"), patch_size=r.int("patch_size"), d_model=r.int("hidden_size"),
        num_layers=r.int("num_hidden_layers"), num_heads=r.int("num_attention_heads"),
        intermediate_size=r.int("intermediate_size"), activation=activation_from_hf(activation),
        norm=replace(VIT_NORM, eps=r.float("layer_norm_eps", positive=True)), num_channels=r.int("num_channels"),
    )


def write_siglip(encoder: VisionEncoder) -> dict:
    expected = VisionEncoder(encoder.image_size, encoder.patch_size, encoder.d_model, encoder.num_layers,
                             encoder.num_heads, encoder.intermediate_size, encoder.activation,
                             replace(VIT_NORM, eps=encoder.norm.eps), encoder.num_channels)
    if encoder != expected:
        raise SpecError([Problem("vision.encoder", "a SigLIP config has LayerNorms with a bias, biased patch "
                                 "embedding and attention, and a final norm; this encoder differs")])
    return {"model_type": "siglip_vision_model", "hidden_size": encoder.d_model,
            "intermediate_size": encoder.intermediate_size, "num_hidden_layers": encoder.num_layers,
            "num_attention_heads": encoder.num_heads, "num_channels": encoder.num_channels,
            "image_size": encoder.image_size, "patch_size": encoder.patch_size,
            "hidden_act": activation_to_hf(encoder.activation), "layer_norm_eps": encoder.norm.eps,
            "vision_use_head": False}


def gemma3_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    r.config = GEMMA3_DEFAULTS | r.config
    text = llama_like_to_spec(r.sub("text_config"), "gemma3_text")
    encoder = read_siglip(r.sub("vision_config"))
    vision = VisionFrontEnd(
        method="unified", encoder=encoder, image_token_id=r.int("image_token_index", minimum=0),
        tokens_per_image=r.int("mm_tokens_per_image"),
        # Gemma3MultiModalProjector normalizes with the vision config's layer_norm_eps
        projector_norm=Norm("rmsnorm", encoder.norm.eps, unit_offset=True),
    )
    return replace(text, name=model_type, model_type=model_type, vision=vision,
                   tie_embeddings=r.bool("tie_word_embeddings", text.tie_embeddings))


def gemma3_to_config(spec: ArchSpec) -> dict:
    vision = spec.vision
    if vision is None or vision.method != "unified":
        raise SpecError([Problem("vision", "a gemma3 config needs a unified (method A) vision front-end")])
    if vision.projector_norm != Norm("rmsnorm", vision.encoder.norm.eps, unit_offset=True) or vision.projector_bias:
        raise SpecError([Problem("vision.projector_norm", "Gemma 3's projector has a (1 + w) RMSNorm at the "
                                 "encoder's eps and no bias")])
    if vision.image_attention != "bidirectional":
        raise SpecError([Problem("vision.image_attention", "Gemma 3's image tokens attend bidirectionally")])
    text = llama_like_to_config(replace(spec, model_type="gemma3_text", vision=None))
    return {"model_type": "gemma3", "text_config": text, "vision_config": write_siglip(vision.encoder),
            "mm_tokens_per_image": vision.tokens_per_image, "image_token_index": vision.image_token_id,
            "tie_word_embeddings": spec.tie_embeddings}

CONVERTERS = {"gemma3": (gemma3_to_spec, gemma3_to_config)}


# --- Llama 3.2 Vision (mllama): method B, cross-attention ----------------------------------

# transformers' MllamaTextConfig / MllamaVisionConfig defaults (the 11B's values)
MLLAMA_TEXT_DEFAULTS = {"vocab_size": 128_256, "hidden_size": 4096, "hidden_act": "silu", "num_hidden_layers": 40,
                        "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14_336,
                        "rms_norm_eps": 1e-5, "max_position_embeddings": 131_072, "tie_word_embeddings": False,
                        "rope_theta": 500_000.0, "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38]}
MLLAMA_VISION_DEFAULTS = {"hidden_size": 1280, "hidden_act": "gelu", "num_hidden_layers": 32, "num_global_layers": 8,
                          "attention_heads": 16, "num_channels": 3, "intermediate_size": 5120,
                          "vision_output_dim": 7680, "image_size": 448, "patch_size": 14, "norm_eps": 1e-5,
                          "max_num_tiles": 4, "intermediate_layers_indices": [3, 7, 15, 23, 30]}
MLLAMA_EXTRA_TOKEN_ROWS = 8  # MllamaTextModel's embedding has vocab_size + 8 rows
VISION_ACTS = ("gelu", "gelu_pytorch_tanh", "silu")


def read_mllama_vision(r: ConfigReader) -> VisionEncoder:
    r.config = MLLAMA_VISION_DEFAULTS | r.config
    tiles = r.int("max_num_tiles")
    layouts = r.config.get("supported_aspect_ratios") or aspect_ratio_layouts(tiles)
    if not isinstance(layouts, list):
        r.problem("supported_aspect_ratios", "expected a list of [rows, columns] pairs")
        layouts = []
    d = r.int("hidden_size")
    intermediate = r.int_list("intermediate_layers_indices", len(r.config.get("intermediate_layers_indices") or []))
    encoder = VisionEncoder(
        image_size=r.int("image_size"), patch_size=r.int("patch_size"), d_model=d,
        num_layers=r.int("num_hidden_layers"), num_heads=r.int("attention_heads"),
        intermediate_size=r.int("intermediate_size"),
        activation=activation_from_hf(r.str("hidden_act", "gelu", VISION_ACTS)),
        norm=replace(VIT_NORM, eps=r.float("norm_eps", positive=True)), num_channels=r.int("num_channels"),
        patch_bias=False, attention_bias=False, post_norm=True, class_token=True, max_tiles=tiles,
        aspect_ratios=len(layouts), pre_norm=True, num_global_layers=r.int("num_global_layers", minimum=0),
        intermediate_layers=tuple(intermediate or ()),
    )
    if r.int("vision_output_dim") != encoder.output_width:
        r.problem("vision_output_dim", f"expected {encoder.output_width} (hidden_size x (1 + "
                  f"{len(encoder.intermediate_layers)} intermediate layers)), found {r.config['vision_output_dim']}")
    return encoder


def mllama_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    text_reader = r.sub("text_config")
    text_reader.config = MLLAMA_TEXT_DEFAULTS | text_reader.config
    n = text_reader.int("num_hidden_layers")
    crossing = text_reader.int_list("cross_attention_layers", len(text_reader.config["cross_attention_layers"]))
    crossing = sorted(set(crossing or ()))
    if any(not 0 <= index < n for index in crossing):
        text_reader.problem("cross_attention_layers", f"indices must lie within the {n} layers, found {crossing}")
        crossing = []
    text = llama_like_to_spec(text_reader, "llama")
    attention = text.layers[0].mixer
    cross = CrossAttention(num_heads=attention.num_heads, num_kv_heads=attention.num_kv_heads,
                           head_dim=attention.head_dim, qk_norm=QKNorm("head", text.layers[0].norm))
    layers = [replace(layer, mixer=cross) if index in crossing else layer for index, layer in enumerate(text.layers)]
    vision = VisionFrontEnd(
        method="cross_attention", encoder=read_mllama_vision(r.sub("vision_config")),
        image_token_id=r.int("image_token_index", 128_256, minimum=0), tokens_per_image=0,
        projector_norm=None, projector_bias=True, image_attention="causal",
        extra_token_rows=MLLAMA_EXTRA_TOKEN_ROWS,
    )
    return replace(text, name=model_type, model_type=model_type, family=FAMILIES[model_type], layers=tuple(layers),
                   vision=vision)


def mllama_to_config(spec: ArchSpec) -> dict:
    vision = spec.vision
    if vision is None or vision.method != "cross_attention":
        raise SpecError([Problem("vision", "an mllama config needs a cross-attention (method B) vision front-end")])
    crossing = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, CrossAttention)]
    selfish = [i for i in range(spec.num_layers) if i not in crossing]
    if not selfish:
        raise SpecError([Problem("layers", "an mllama decoder needs self-attention layers besides cross-attention")])
    # the config holds one set of sizes: write the self-attention layers as Llama's, then
    # check that the cross-attention layers agree with them
    template = spec.layers[selfish[0]]
    as_llama = replace(spec, model_type="llama", vision=None,
                       layers=tuple(template if i in crossing else layer for i, layer in enumerate(spec.layers)))
    llama = llama_like_to_config(as_llama)
    for index in crossing:
        layer, attention = spec.layers[index], template.mixer
        expected = CrossAttention(attention.num_heads, attention.num_kv_heads, attention.head_dim,
                                  QKNorm("head", template.norm))
        if layer.mixer != expected or layer.ffn != template.ffn or layer.norm != template.norm:
            raise SpecError([Problem(f"layers[{index}]", "an mllama cross-attention layer has the self-attention "
                                     "layers' sizes, norm and feed-forward, QK-norm per head and gates")])
    if llama["head_dim"] * llama["num_attention_heads"] != spec.d_model:
        raise SpecError([Problem("layers", "mllama's head_dim is hidden_size / num_attention_heads")])
    keys = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "intermediate_size", "rms_norm_eps", "max_position_embeddings", "tie_word_embeddings", "rope_parameters",
            "hidden_act")
    text = {"model_type": "mllama_text_model", **{key: llama[key] for key in keys},
            "cross_attention_layers": crossing, "pad_token_id": None}
    encoder = vision.encoder
    expected_encoder = replace(encoder, patch_bias=False, attention_bias=False, post_norm=True, class_token=True,
                               pre_norm=True, norm=replace(VIT_NORM, eps=encoder.norm.eps))
    layouts = aspect_ratio_layouts(encoder.max_tiles)
    if encoder != expected_encoder or encoder.aspect_ratios != len(layouts):
        raise SpecError([Problem("vision.encoder", "an mllama encoder has a class token, pre and post norms, no "
                                 "biases in patch embedding or attention, and one layout per tiling")])
    if vision.projector_norm is not None or not vision.projector_bias or vision.extra_token_rows != 8:
        raise SpecError([Problem("vision", "mllama projects with a biased linear layer, no norm, and has 8 extra "
                                 "embedding rows")])
    vision_config = {"model_type": "mllama_vision_model", "hidden_size": encoder.d_model,
                     "hidden_act": activation_to_hf(encoder.activation), "num_hidden_layers": encoder.num_layers,
                     "num_global_layers": encoder.num_global_layers, "attention_heads": encoder.num_heads,
                     "num_channels": encoder.num_channels, "intermediate_size": encoder.intermediate_size,
                     "vision_output_dim": encoder.output_width, "image_size": encoder.image_size,
                     "patch_size": encoder.patch_size, "norm_eps": encoder.norm.eps, "max_num_tiles": encoder.max_tiles,
                     "intermediate_layers_indices": list(encoder.intermediate_layers),
                     "supported_aspect_ratios": layouts}
    return {"model_type": "mllama", "image_token_index": vision.image_token_id, "text_config": text,
            "vision_config": vision_config}


CONVERTERS["mllama"] = (mllama_to_spec, mllama_to_config)
