"""Images for a vision model's run: a minimal PNG reader and writer (zlib and numpy, no
imaging library), a deterministic test image, and the pixel values an encoder takes.

The reader accepts what most tools write -- 8-bit grey, grey+alpha, RGB or RGBA, not
interlaced -- and rejects anything else with a message that says what it found.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .png_filters import UnknownFilter, unfilter
from .probe import Cancelled

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
COLOUR_NAMES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
# SigLIP (Gemma 3's processor): pixels rescaled to [0, 1], then (x - 0.5) / 0.5
IMAGE_MEAN, IMAGE_STD = 0.5, 0.5


# The limits of what read_png accepts. A vision encoder takes at most 896 x 896 pixels; a 4k
# frame (3840 x 2160) fits, and so does a 4096-pixel square; decoded, that is 64 MiB RGBA.
MAX_PNG_PIXELS = 4096 * 4096
PIXELS_NAMED = "4096 x 4096"
MAX_PNG_SIDE = 8192
MAX_PNG_FILE_BYTES = 256 * 1024 * 1024  # more than the largest image above holds uncompressed


class ImageError(ValueError):
    """An image file that cannot be read, with the reason."""


def read_png(path: str | Path, cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """An RGB image [H, W, 3] uint8 from a PNG file (alpha dropped, grey repeated).

    The file is untrusted: its size is checked before it is read, its header before any
    pixel memory is allocated, and its image data is inflated only up to the size the
    header implies -- a few megabytes cannot turn into gigabytes. Raises ImageError naming
    the file and what was expected; probe.Cancelled when `cancelled()` turns true."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PNG_FILE_BYTES:
            raise ImageError(f"{path}: {path.stat().st_size:,} bytes; a PNG ArchScope reads holds at most "
                             f"{MAX_PNG_FILE_BYTES:,}")
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read ({error.strerror or error})") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError(f"{path}: not a PNG file (expected the PNG signature)")
    header, compressed = _chunks(data, path)
    width, height, channels = _checked_header(header, path)
    stride = width * channels
    expected = height * (stride + 1)
    raw = _inflate(bytes(compressed), expected, path)
    try:
        pixels = unfilter(np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1), channels, cancelled)
    except UnknownFilter as error:
        raise ImageError(f"{path}: {error}") from None
    if pixels is None:
        raise Cancelled()
    pixels = pixels.reshape(height, width, channels)
    if channels in (1, 2):
        pixels = np.repeat(pixels[..., :1], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def _chunks(data: bytes, path: Path) -> tuple[bytes, bytearray]:
    """The IHDR chunk's body and the IDAT chunks' bodies joined, each chunk's length and
    CRC checked."""
    header, compressed = None, bytearray()
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 8 > len(data):
            raise ImageError(f"{path}: truncated chunk header at byte {offset} (expected 8 bytes: length, type)")
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        name = kind.decode("latin-1")
        body = data[offset + 8:offset + 8 + length]
        crc = data[offset + 8 + length:offset + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ImageError(f"{path}: truncated {name!r} chunk at byte {offset} (declares {length:,} bytes "
                             f"and a CRC; {max(0, len(data) - offset - 8):,} remain)")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body) & 0xFFFFFFFF:
            raise ImageError(f"{path}: {name!r} chunk at byte {offset} fails its CRC check (a damaged file)")
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            if header is None:
                raise ImageError(f"{path}: image data before the IHDR chunk (expected IHDR first)")
            compressed += body
        elif kind == b"IEND":
            break
        offset += 12 + length
    if header is None:
        raise ImageError(f"{path}: no IHDR chunk")
    return header, compressed


def _checked_header(header: bytes, path: Path) -> tuple[int, int, int]:
    """width, height and samples per pixel, once the header is whole and within the limits."""
    if len(header) != 13:
        raise ImageError(f"{path}: IHDR chunk holds {len(header)} bytes; expected 13")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in CHANNELS or interlace:
        found = f"{depth}-bit {COLOUR_NAMES.get(colour, f'colour type {colour}')}"
        found += ", interlaced" if interlace else ""
        raise ImageError(f"{path}: {found} PNG is not supported; expected 8-bit grey, RGB or RGBA, not interlaced")
    if width == 0 or height == 0:
        raise ImageError(f"{path}: IHDR declares {width} x {height} pixels; expected at least 1 x 1")
    if width > MAX_PNG_SIDE or height > MAX_PNG_SIDE or width * height > MAX_PNG_PIXELS:
        raise ImageError(f"{path}: IHDR declares {width:,} x {height:,} pixels; ArchScope reads at most "
                         f"{MAX_PNG_PIXELS:,} pixels ({PIXELS_NAMED}), at most {MAX_PNG_SIDE:,} on a side")
    return width, height, CHANNELS[colour]


def _inflate(compressed: bytes, expected: int, path: Path) -> bytes:
    """The image data inflated, refusing to produce a byte more than the header implies."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, expected)
        more = bool(inflater.unconsumed_tail) and bool(inflater.decompress(inflater.unconsumed_tail, 1))
    except zlib.error as error:
        raise ImageError(f"{path}: image data does not decompress ({error})") from None
    if more:
        raise ImageError(f"{path}: image data inflates to more than the {expected:,} bytes its "
                         f"IHDR implies (a decompression bomb?)")
    if len(raw) != expected:
        raise ImageError(f"{path}: image data holds {len(raw):,} bytes, expected {expected:,}")
    return raw


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
