"""The image path of a profiled run: the image placed in the prompt, the encoder timed as a
track of its own, and the share of the KV cache that image tokens hold, measured beside
the analysis' figure. It fills the snapshot's optional "vision" section."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..model.cache import FullKVCache, ModelCache, SlidingWindowCache
from ..model.cross_attention import CrossKVCache
from ..spec import ArchSpec
from ..spec.analysis import Analysis
from .image import generated_test_card, pixel_values, read_png

TEST_CARD = "generated test card"


@dataclass
class ImageRun:
    """One image per batch row, and where its tokens sit in the prompt."""

    pixels: torch.Tensor  # [batch, 3, S, S]
    source: str  # the file, or TEST_CARD
    positions: range  # the positions the image's features take in the prompt (method A)
    encoder_ms: float = 0.0
    measured: list[list[int]] = field(default_factory=list)  # per step, per layer: image tokens' KV bytes
    predicted: list[list[int]] = field(default_factory=list)


def place_image(spec: ArchSpec, prompt_ids: list[int], image: str | Path | None, batch: int,
                after_first: bool, cancelled: Callable[[], bool] | None = None) -> tuple[list[int], ImageRun]:
    """The prompt with the image's placeholder tokens inserted at its start (after the
    first token when that is a tokenizer's <bos>), and the image's pixel values. A
    cross-attention model takes one image token, and the whole image as a single tile."""
    vision = spec.vision
    size = vision.encoder.image_size
    picture = read_png(image, cancelled) if image is not None else generated_test_card(size)
    pixels = pixel_values(picture, size).expand(batch, -1, -1, -1).contiguous()
    at = 1 if after_first and prompt_ids else 0
    tokens = vision.tokens_per_image if vision.method == "unified" else 1
    ids = prompt_ids[:at] + [vision.image_token_id] * tokens + prompt_ids[at:]
    # the positions the image's features take in the decoder: none with cross-attention
    taken = range(at, at + vision.tokens_per_image)
    return ids, ImageRun(pixels, str(image) if image is not None else TEST_CARD, taken)


def encode_timed(model, run: ImageRun, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The image features, with the encoder + projector time in run.encoder_ms (CUDA events
    on a GPU, resolved once; perf_counter on the CPU)."""
    pixels = run.pixels.to(device=device, dtype=dtype)
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        features = model.encode_images(pixels)
        end.record()
        end.synchronize()
        run.encoder_ms = round(start.elapsed_time(end), 4)
    else:
        began = time.perf_counter()
        features = model.encode_images(pixels)
        run.encoder_ms = round((time.perf_counter() - began) * 1e3, 4)
    return features


def image_kv_bytes(cache: ModelCache, positions: range) -> list[int]:
    """Per layer, the bytes the cache holds now for tokens at `positions`."""
    measured = []
    for layer in cache.layers:
        if isinstance(layer, FullKVCache):
            held = max(0, min(positions.stop, layer.length) - positions.start)
        elif isinstance(layer, SlidingWindowCache):
            slots = layer.slot_positions
            held = int(((slots >= positions.start) & (slots < positions.stop)).sum())
        elif isinstance(layer, CrossKVCache):  # the image's keys and values, whatever the positions
            measured.append(layer.nbytes())
            continue
        else:  # no cache, or a recurrent state with no per-token share
            held = 0
        measured.append(held * layer.bytes_per_token if held else 0)
    return measured


def cross_kv_predicted(analysis: Analysis, batch: int, element: int) -> list[int]:
    """Per layer, what the cache holds for the image beyond the text's tokens: the
    cross-attention layers' image keys and values (method B); zeros otherwise."""
    vision = analysis.vision
    if vision is None or vision.method != "cross_attention":
        return [0] * len(analysis.layers)
    return [batch * value for value in analysis.image_kv_bytes_at(0, range(0), element)]


def record_step(run: ImageRun, cache: ModelCache, analysis: Analysis, seq_len: int, batch: int,
                element: int) -> None:
    run.measured.append(image_kv_bytes(cache, run.positions))
    run.predicted.append([batch * value for value in analysis.image_kv_bytes_at(seq_len, run.positions, element)])


def vision_section(run: ImageRun, analysis: Analysis, kv_bytes_final: int, batch: int) -> dict:
    vision = analysis.vision
    final = run.measured[-1] if run.measured else []
    held = sum(final)
    return {
        "method": vision.method,
        "image": run.source,
        "images": batch,
        "image_tokens": vision.tokens_per_image,
        "image_positions": [run.positions.start, run.positions.stop],
        "encoder_ms": run.encoder_ms,
        "encoder_params": vision.encoder_params,
        "projector_params": vision.projector_params,
        "flops_per_image": vision.flops_per_image,
        "image_kv_bytes": final,
        "image_kv_bytes_predicted": run.predicted[-1] if run.predicted else [],
        "image_kv_share": round(held / kv_bytes_final, 6) if kv_bytes_final else 0.0,
        "image_kv_bytes_by_step": [sum(step) for step in run.measured],
        "image_kv_bytes_predicted_by_step": [sum(step) for step in run.predicted],
    }
