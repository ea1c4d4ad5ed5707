"""Images for a vision model's run: a minimal PNG reader and writer (zlib and numpy, no
imaging library), a deterministic test image, and the pixel values an encoder takes.

The reader accepts what most tools write -- 8-bit grey, grey+alpha, RGB or RGBA, not
interlaced -- and rejects anything else with a message that says what it found.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
COLOUR_NAMES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
# SigLIP (Gemma 3's processor): pixels rescaled to [0, 1], then (x - 0.5) / 0.5
IMAGE_MEAN, IMAGE_STD = 0.5, 0.5


class ImageError(ValueError):
    """An image file that cannot be read, with the reason."""


def read_png(path: str | Path) -> np.ndarray:
    """An RGB image [H, W, 3] uint8 from a PNG file (alpha dropped, grey repeated)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read ({error.strerror or error})") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError(f"{path}: not a PNG file (expected the PNG signature)")
    header, compressed = None, bytearray()
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if len(body) != length:
            raise ImageError(f"{path}: truncated {kind.decode('latin-1')} chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
        offset += 12 + length
    if header is None:
        raise ImageError(f"{path}: no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace:
        found = f"{depth}-bit {COLOUR_NAMES.get(colour, f'colour type {colour}')}" + (", interlaced" if interlace else "")
        raise ImageError(f"{path}: {found} PNG is not supported; expected 8-bit grey, RGB or RGBA, not interlaced")
    try:
        raw = zlib.decompress(bytes(compressed))
    except zlib.error as error:
        raise ImageError(f"{path}: image data does not decompress ({error})") from None
    channels = CHANNELS[colour]
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ImageError(f"{path}: image data holds {len(raw)} bytes, expected {height * (stride + 1)}")
    pixels = _unfilter(np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1), channels, path)
    pixels = pixels.reshape(height, width, channels)
    if channels in (1, 2):
        pixels = np.repeat(pixels[..., :1], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def _unfilter(rows: np.ndarray, bpp: int, path: Path) -> np.ndarray:
    """Undo PNG's per-row filters (none, sub, up, average, Paeth)."""
    height, stride = rows.shape[0], rows.shape[1] - 1
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 1:  # sub: a running sum per channel
            current = np.cumsum(line.reshape(-1, bpp), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # up
            current = (line + previous) & 0xFF
        elif kind in (3, 4):  # average, Paeth: each byte depends on the one decoded before it
            current = _sequential(line.tolist(), previous.tolist(), bpp, kind)
        else:
            raise ImageError(f"{path}: row {y} has unknown filter type {kind}")
        out[y] = current
        previous = np.asarray(current, dtype=np.int32)
    return out


def _sequential(line: list[int], above: list[int], bpp: int, kind: int) -> np.ndarray:
    result = [0] * len(line)
    for i, value in enumerate(line):
        left = result[i - bpp] if i >= bpp else 0
        up = above[i]
        if kind == 3:
            result[i] = (value + (left + up) // 2) & 0xFF
            continue
        upper_left = above[i - bpp] if i >= bpp else 0
        estimate = left + up - upper_left
        pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
        predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
        result[i] = (value + predictor) & 0xFF
    return np.asarray(result, dtype=np.int32)


def write_png(path: str | Path, image: np.ndarray) -> None:
    """An RGB image [H, W, 3] uint8 as an 8-bit PNG (rows unfiltered)."""
    height, width, _ = image.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.astype(np.uint8).reshape(height, -1)], axis=1)
    Path(path).write_bytes(PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                          + chunk(b"IDAT", zlib.compress(rows.tobytes())) + chunk(b"IEND", b""))


def generated_test_card(size: int) -> np.ndarray:
    """A deterministic RGB test card [size, size, 3]: colour gradients under a checkerboard,
    so every patch differs from its neighbours."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    red, green = np.meshgrid(ramp, ramp[::-1])
    cells = (np.add.outer(np.arange(size) // max(size // 8, 1), np.arange(size) // max(size // 8, 1)) % 2) * 255
    return np.stack([red, green, cells.astype(np.float32)], axis=2).astype(np.uint8)


def pixel_values(image: np.ndarray, size: int) -> torch.Tensor:
    """[1, 3, size, size] float32: resized (bilinear) and normalized as SigLIP expects."""
    pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
    if pixels.shape[-2:] != (size, size):
        pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return ((pixels - IMAGE_MEAN) / IMAGE_STD).clamp(-1.0, 1.0)
