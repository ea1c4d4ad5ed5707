"""Hostile PNG files: refused with the file named and what was expected, before the memory
they ask for is allocated; large honest ones decode fast, and a decode can be cancelled."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest

from app.runtime.image import MAX_PNG_PIXELS, read_png, write_png
from app.runtime.png_filters import unfilter
from app.runtime.probe import Cancelled

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width: int, height: int, data: bytes, colour: int = 2) -> bytes:
    return (SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def inflation_bomb() -> bytes:
    """A 16 x 16 header over 400 MB of zeros (about 400 KB compressed)."""
    compressor = zlib.compressobj(9)
    block = bytes(1 << 20)
    data = b"".join(compressor.compress(block) for _ in range(400)) + compressor.flush()
    return png(16, 16, data)


BOMBS = {
    "inflated beyond its header": (inflation_bomb, r"inflates to more than the 784 bytes its IHDR implies"),
    "30000 x 30000 header": (lambda: png(30000, 30000, zlib.compress(bytes(1000))),
                             r"IHDR declares 30,000 x 30,000 pixels; ArchScope reads at most 16,777,216 pixels"),
    "5-byte IHDR": (lambda: SIGNATURE + chunk(b"IHDR", b"\x00\x00\x00\x10\x00") + chunk(b"IEND", b""),
                    r"IHDR chunk holds 5 bytes; expected 13"),
    "0 x 0": (lambda: png(0, 0, zlib.compress(b"")), r"IHDR declares 0 x 0 pixels; expected at least 1 x 1"),
    "truncated chunk": (lambda: png(4, 4, zlib.compress(bytes(4 * 13)))[:50],
                        r"truncated 'IDAT' chunk at byte 33"),
    "bad filter type": (lambda: png(2, 1, zlib.compress(bytes([7, 1, 2, 3, 4, 5, 6]))),
                        r"row 0 has unknown filter type 7; expected 0-4"),
    "damaged CRC": (lambda: png(1, 1, zlib.compress(bytes(4)))[:-20] + b"\x00" * 20,
                    r"fails its CRC check"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_hostile_pngs_are_refused_in_bounded_memory(tmp_path, name):
    """Each file is read in a child process whose address space may grow by 2 GB at most:
    the named error comes back, not a MemoryError or a kill."""
    make, message = BOMBS[name]
    path = tmp_path / "hostile.png"
    path.write_bytes(make())
    script = textwrap.dedent(f"""
        import resource, sys
        from app.runtime.image import ImageError, read_png
        with open("/proc/self/status") as status:
            used_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = used_kb * 1024 + (2 << 30)  # what the imports took, and 2 GB more
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            read_png({str(path)!r})
        except ImageError as error:
            print("ImageError:", error)
            sys.exit(0)
        sys.exit("decoded a hostile file")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert str(path) in result.stdout
    assert __import__("re").search(message, result.stdout), result.stdout


def test_the_pixel_limit_is_the_one_named():
    assert MAX_PNG_PIXELS == 4096 * 4096


def paeth_filtered(image: np.ndarray, kinds) -> bytes:
    """The image's rows filtered with the given PNG filter types (one per row, cycled)."""
    height, width, bpp = image.shape
    decoded = image.reshape(height, -1).astype(np.int16)
    padded = np.zeros((height + 1, width * bpp + bpp), np.int16)
    padded[1:, bpp:] = decoded
    left, up, upper_left = padded[1:, :-bpp], padded[:-1, bpp:], padded[:-1, :-bpp]
    p = left + up - upper_left
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upper_left)
    predictors = {0: np.zeros_like(decoded), 1: left, 2: up, 3: (left + up) // 2,
                  4: np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upper_left))}
    rows = [bytes([k]) + ((decoded[y] - predictors[k][y]) & 0xFF).astype(np.uint8).tobytes()
            for y, k in zip(range(height), kinds * height)]
    return b"".join(rows)


@pytest.mark.parametrize("channels, colour", [(1, 0), (2, 4), (3, 2), (4, 6)])
def test_every_filter_mix_decodes_exactly(tmp_path, channels, colour):
    image = np.random.default_rng(channels).integers(0, 256, (23, 17, channels), dtype=np.uint8)
    for kinds in ([0, 1, 2], [3], [4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]):
        path = tmp_path / f"{channels}-{kinds}.png"
        path.write_bytes(png(17, 23, zlib.compress(paeth_filtered(image, kinds)), colour))
        expected = image if channels >= 3 else np.repeat(image[..., :1], 3, axis=2)
        assert np.array_equal(read_png(path), expected[..., :3]), kinds


def test_a_one_pixel_wide_and_a_one_pixel_tall_image_decode(tmp_path):
    for shape in ((31, 1, 3), (1, 31, 3), (1, 1, 3)):
        image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        path = tmp_path / "thin.png"
        path.write_bytes(png(shape[1], shape[0], zlib.compress(paeth_filtered(image, [4, 3]))))
        assert np.array_equal(read_png(path), image)


def test_a_4k_paeth_png_decodes_and_can_be_cancelled(tmp_path):
    """3840 x 2160, every row Paeth-filtered (what encoders choose for photographs)."""
    ramp = np.arange(3840, dtype=np.uint16)
    image = np.stack([np.add.outer(np.arange(2160), ramp) % 256,
                      np.add.outer(np.arange(2160) * 3, ramp * 2) % 256,
                      np.broadcast_to(ramp % 251, (2160, 3840))], axis=2).astype(np.uint8)
    path = tmp_path / "4k.png"
    path.write_bytes(png(3840, 2160, zlib.compress(paeth_filtered(image, [4]), 1)))
    start = time.perf_counter()
    assert np.array_equal(read_png(path), image)
    print(f"4k Paeth decode: {time.perf_counter() - start:.2f} s")  # reported, not asserted
    looks = []
    with pytest.raises(Cancelled):
        read_png(path, cancelled=lambda: looks.append(1) or len(looks) > 3)
    assert len(looks) == 4  # it stopped at the fourth look, long before the 6,000 diagonals


def test_unfilter_refuses_an_unknown_filter_in_a_later_row():
    rows = np.zeros((3, 4), np.uint8)
    rows[2, 0] = 9
    with pytest.raises(ValueError, match="row 2 has unknown filter type 9"):
        unfilter(rows, 3)


def test_write_then_read_round_trips(tmp_path):
    image = np.random.default_rng(5).integers(0, 256, (40, 33, 3), dtype=np.uint8)
    write_png(tmp_path / "x.png", image)
    assert np.array_equal(read_png(tmp_path / "x.png"), image)
