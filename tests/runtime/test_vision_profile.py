"""`archscope profile` of a vision model (gemma3-4b-vision, explore scale): the snapshot
times the encoder as its own track and records the image tokens' share of the KV cache,
equal to the analysis; the image comes from a PNG or, without one, a generated test card.
With cross-attention (llama3.2-11b-vision) the image's share is the cross-attention
layers' keys and values."""

import json
from importlib import resources

import jsonschema
import numpy as np
import pytest

from app.cli import main
from app.runtime.image import ImageError, pixel_values, read_png, generated_test_card, write_png
from app.spec import catalog
from app.spec.analysis import analyze

SCHEMA = json.loads(resources.files("app.resources").joinpath("profile.schema.json").read_text())
NAME = "gemma3-4b-vision"
NEW_TOKENS = 3


def profile(tmp_path, *extra, name=NAME):
    out = tmp_path / "run.json"
    argv = ["profile", "--arch", name, "--scale", "explore", "--max-new-tokens", str(NEW_TOKENS), "--device", "cpu",
            "--prompt", "Describe the image.", "--out", str(out), "--trace", str(tmp_path / "run.trace.json"), *extra]
    assert main(argv) == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def picture_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("vision-profile")
    rng = np.random.default_rng(0)
    write_png(directory / "photo.png", rng.integers(0, 256, (40, 56, 3), dtype=np.uint8))  # not square, not 224
    return directory, profile(directory, "--image", str(directory / "photo.png"))


def test_snapshot_has_an_encoder_track_and_the_image_kv_share(picture_run):
    directory, snapshot = picture_run
    jsonschema.validate(snapshot, SCHEMA)
    vision = snapshot["vision"]
    spec = catalog.get(NAME, "explore")
    analysis = analyze(spec)
    assert vision["image"].endswith("photo.png")
    assert vision["encoder_ms"] > 0
    assert vision["encoder_params"] + vision["projector_params"] == analysis.vision.params
    assert vision["image_tokens"] == spec.vision.tokens_per_image == 64
    # measured from the cache, equal to the analysis, per layer and at every step
    assert vision["image_kv_bytes"] == vision["image_kv_bytes_predicted"]
    assert vision["image_kv_bytes_by_step"] == vision["image_kv_bytes_predicted_by_step"]
    assert len(vision["image_kv_bytes_by_step"]) == NEW_TOKENS
    start, stop = vision["image_positions"]
    final_len = snapshot["steps"][-1]["seq_len"]
    expected = analysis.image_kv_bytes_at(final_len, range(start, stop), 4)  # float32
    assert vision["image_kv_bytes"] == expected and sum(expected) > 0
    assert vision["image_kv_share"] == pytest.approx(sum(expected) / snapshot["summary"]["kv_bytes_final"], abs=1e-6)
    # the prompt holds the image tokens and the text
    assert snapshot["run"]["prompt_tokens"] == 64 + len("Describe the image.")
    trace = json.loads((directory / "run.trace.json").read_text())
    assert any(event.get("name") == "encoder + projector" for event in trace["traceEvents"])


def test_no_image_means_a_deterministic_test_card(tmp_path):
    snapshot = profile(tmp_path)
    assert snapshot["vision"]["image"] == "generated test card"
    assert np.array_equal(generated_test_card(224), generated_test_card(224))
    again = profile(tmp_path)
    assert [s["tokens"] for s in again["steps"]] == [s["tokens"] for s in snapshot["steps"]]


def test_png_round_trip_and_normalization(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    write_png(tmp_path / "small.png", image)
    assert np.array_equal(read_png(tmp_path / "small.png"), image)
    pixels = pixel_values(image, 14)
    assert pixels.shape == (1, 3, 14, 14) and pixels.min() >= -1 and pixels.max() <= 1


def test_png_filters_are_undone(tmp_path):
    """Rows written with the sub, up, average and Paeth filters decode to the same pixels."""
    import struct
    import zlib

    image = np.random.default_rng(2).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    raw = bytearray()
    previous = np.zeros(15, dtype=np.int32)
    for y, kind in enumerate((1, 2, 3, 4)):
        line = image[y].reshape(-1).astype(np.int32)
        filtered = []
        for i, value in enumerate(line):
            left = int(line[i - 3]) if i >= 3 else 0
            up, upper_left = int(previous[i]), int(previous[i - 3]) if i >= 3 else 0
            if kind == 1:
                predictor = left
            elif kind == 2:
                predictor = up
            elif kind == 3:
                predictor = (left + up) // 2
            else:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
            filtered.append((int(value) - predictor) & 0xFF)
        raw += bytes([kind, *filtered])
        previous = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 4, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))
    (tmp_path / "filtered.png").write_bytes(png)
    assert np.array_equal(read_png(tmp_path / "filtered.png"), image)


def test_unsupported_pngs_are_refused_with_the_reason(tmp_path):
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0)  # 16-bit RGB
    body = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    (tmp_path / "deep.png").write_bytes(body)
    with pytest.raises(ImageError, match="16-bit RGB PNG is not supported"):
        read_png(tmp_path / "deep.png")
    (tmp_path / "not.png").write_bytes(b"GIF89a")
    with pytest.raises(ImageError, match="not a PNG"):
        read_png(tmp_path / "not.png")
    assert main(["profile", "--arch", NAME, "--scale", "explore", "--device", "cpu", "--image",
                 str(tmp_path / "not.png"), "--out", str(tmp_path / "x.json")]) != 0


def test_cross_attention_image_kv_sits_in_the_cross_layers(tmp_path):
    snapshot = profile(tmp_path, "--batch", "2", name="llama3.2-11b-vision")
    jsonschema.validate(snapshot, SCHEMA)
    vision = snapshot["vision"]
    spec = catalog.get("llama3.2-11b-vision", "explore")
    crossing = [i for i, layer in enumerate(spec.layers) if layer.mixer.kind == "cross_attention"]
    assert vision["method"] == "cross_attention" and vision["image_tokens"] == 0 and vision["encoder_ms"] > 0
    assert vision["image_kv_bytes"] == vision["image_kv_bytes_predicted"]
    assert [i for i, value in enumerate(vision["image_kv_bytes"]) if value] == crossing
    expected = [2 * value for value in analyze(spec).image_kv_bytes_at(0, range(0), 4)]  # batch 2, float32
    assert vision["image_kv_bytes"] == expected
    for step in snapshot["steps"]:  # the cache, text and image, equals the prediction at every step
        assert step["kv_bytes"] == step["kv_bytes_predicted"]
