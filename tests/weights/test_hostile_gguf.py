"""A GGUF file's metadata as hostile input, crafted byte by byte: arrays nested 100,000
deep, a billion blocks, fields of the wrong type. Each is refused with a WeightsError
naming the file and the field -- never RecursionError, MemoryError or TypeError -- and
`archscope profile --model` exits 2 with one line under a 3 GB address space."""

import struct

import pytest
from gguf import GGUFValueType

from app.weights import WeightsError, load_pretrained
from app.weights.gguf_reader import GGUFFile

from ..limited_cli import refusal_line, run_archscope


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _value(kind: GGUFValueType, value) -> bytes:
    """A typed metadata value: (kind, value); arrays as (ARRAY, (item kind, [items]))."""
    if kind == GGUFValueType.STRING:
        return _string(value)
    if kind == GGUFValueType.ARRAY:
        item_kind, items = value
        return struct.pack("<IQ", item_kind, len(items)) + b"".join(_value(item_kind, item) for item in items)
    formats = {GGUFValueType.UINT32: "<I", GGUFValueType.UINT64: "<Q", GGUFValueType.INT32: "<i",
               GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?"}
    return struct.pack(formats[kind], value)


def write_gguf(path, fields: dict, raw_fields: bytes = b"", raw_count: int = 0):
    """A GGUF v3 file with these metadata fields ({key: (kind, value)}) and no tensors."""
    body = b"".join(_string(key) + struct.pack("<I", kind) + _value(kind, value) for key, (kind, value) in fields.items())
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(fields) + raw_count) + body + raw_fields)
    return path


U32, U64, F32, STR, ARR = (GGUFValueType.UINT32, GGUFValueType.UINT64, GGUFValueType.FLOAT32, GGUFValueType.STRING,
                           GGUFValueType.ARRAY)


def llama_fields(**overrides):
    fields = {
        "general.architecture": (STR, "llama"), "general.name": (STR, "hostile"),
        "llama.attention.head_count": (U32, 4), "llama.embedding_length": (U32, 64),
        "llama.block_count": (U32, 2), "llama.feed_forward_length": (U32, 128), "llama.vocab_size": (U32, 256),
        "llama.attention.layer_norm_rms_epsilon": (F32, 1e-5),
    }
    fields.update(overrides)
    return fields


def test_arrays_nested_100k_deep_are_named(tmp_path):
    depth = 100_000
    nested = struct.pack("<IQ", ARR, 1) * (depth - 1) + struct.pack("<IQ", U32, 1) + struct.pack("<I", 7)
    raw = _string("hostile.nested") + struct.pack("<I", ARR) + nested
    path = write_gguf(tmp_path / "nested.gguf", llama_fields(), raw, raw_count=1)
    with pytest.raises(WeightsError, match=r"nested\.gguf: header field 'hostile\.nested' nests arrays more than 64"):
        GGUFFile(path)


@pytest.mark.parametrize("blocks, shown", [(10**9, "1,000,000,000"), (2**62, "about 2**62")])
def test_a_block_count_past_the_bound_is_named(tmp_path, blocks, shown):
    path = write_gguf(tmp_path / "deep.gguf", llama_fields(**{"llama.block_count": (U64, blocks)}))
    with pytest.raises(WeightsError, match=f"deep.gguf: metadata describes no valid model: num_hidden_layers: "
                                           rf"{shown.replace('*', '[*]')} exceeds the bound of 10,000 on a layer count"):
        load_pretrained(path)


@pytest.mark.parametrize("key, value, expected", [
    ("general.alignment", (ARR, (U32, [32, 64])), "'general.alignment' is an array of 2 uint32 values; expected an integer"),
    ("general.alignment", (U32, 48), "'general.alignment' is 48; expected a power of two up to 65536"),
    ("tokenizer.ggml.tokens", (U32, 7), "'tokenizer.ggml.tokens' is int 7; expected an array of strings"),
    ("tokenizer.ggml.merges", (ARR, (U32, [1, 2])), "'tokenizer.ggml.merges' is an array of 2 uint32 values; "
                                                    "expected an array of strings"),
    ("tokenizer.ggml.model", (ARR, (STR, ["gpt2"])), "'tokenizer.ggml.model' is an array of 1 values; expected a string"),
    ("tokenizer.ggml.bos_token_id", (STR, "1"), "'tokenizer.ggml.bos_token_id' is str '1'; expected an integer"),
])
def test_a_field_of_the_wrong_type_is_named(tmp_path, key, value, expected):
    path = write_gguf(tmp_path / "typed.gguf", llama_fields(**{key: value}))
    with pytest.raises(WeightsError) as caught:
        GGUFFile(path)
    assert str(caught.value) == f"{path}: metadata field {expected}"


def test_a_per_layer_field_of_strings_is_named(tmp_path):
    path = write_gguf(tmp_path / "heads.gguf", llama_fields(**{"llama.attention.head_count": (ARR, (STR, ["4", "4"]))}))
    with pytest.raises(WeightsError, match="'llama.attention.head_count' is an array of non-integers"):
        load_pretrained(path)


def test_the_cli_refuses_hostile_gguf_files_in_one_line(tmp_path):
    deep = write_gguf(tmp_path / "deep.gguf", llama_fields(**{"llama.block_count": (U64, 10**9)}))
    assert "num_hidden_layers: 1,000,000,000 exceeds the bound" in refusal_line(
        run_archscope("profile", "--model", str(deep), "--max-new-tokens", "1"))
    typed = write_gguf(tmp_path / "typed.gguf", llama_fields(**{"tokenizer.ggml.tokens": (U32, 7)}))
    assert "'tokenizer.ggml.tokens' is int 7; expected an array of strings" in refusal_line(
        run_archscope("profile", "--model", str(typed), "--max-new-tokens", "1"))
