"""A GGUF file's container, read: the header, the metadata key/values, the tensor table and
where each tensor's data starts, and the rows of a tensor dequantized to float32. Format
facts only -- what the metadata means for a model is gguf_config's business, what the
tensor names mean is gguf_names'.

The header is parsed here with the `gguf` package's type tables rather than with
`gguf.GGUFReader`: that reader makes a numpy object per metadata element and takes half a
minute over Gemma 3's 262k-token vocabulary, while a plain pass over the bytes takes about
a second. Tensor data is read on request, a range of rows at a time, and dequantized by
`gguf.quants` (numpy, the same arithmetic llama.cpp's reference code does).
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType
from gguf.quants import dequantize

from ..spec.limits import MAX_NESTING
from .errors import WeightsError
from .gguf_fields import check_field_types

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS: llama.cpp's tensors have at most four dimensions

_SCALARS = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i", GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # torch order: rows first (GGUF lists the innermost dimension first)
    quant: GGMLQuantizationType
    offset: int  # from the start of the file
    nbytes: int


class _Cursor:
    """Reads little-endian values from the header, naming the field when the bytes run out."""

    def __init__(self, buffer, path: Path):
        self.buffer, self.path, self.at, self.field = buffer, path, 0, "magic"

    def take(self, size: int) -> memoryview:
        if size < 0 or self.at + size > len(self.buffer):
            raise WeightsError(f"{self.path}: header field {self.field!r} runs past the end of the file "
                               f"(needs {size} bytes at offset {self.at}, file has {len(self.buffer)})")
        view = memoryview(self.buffer)[self.at:self.at + size]
        self.at += size
        return view

    def scalar(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        raw = bytes(self.take(self.scalar("<Q")))
        return raw.decode("utf-8", errors="replace")

    def value_type(self) -> GGUFValueType:
        code = self.scalar("<I")
        try:
            return GGUFValueType(code)
        except ValueError:
            raise WeightsError(f"{self.path}: header field {self.field!r} has unknown value type {code}") from None

    def value(self, kind: GGUFValueType, depth: int = 0) -> Any:
        if kind == GGUFValueType.STRING:
            return self.string()
        if kind == GGUFValueType.ARRAY:
            if depth >= MAX_NESTING:  # arrays of arrays of ...: no model writes these
                raise WeightsError(f"{self.path}: header field {self.field!r} nests arrays more than {MAX_NESTING} "
                                   "levels deep")
            item, count = self.value_type(), self.scalar("<Q")
            if item in _SCALARS:  # numeric arrays (scores, token types) in one read
                dtype = np.dtype(_SCALARS[item].replace("?", "B"))
                return np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype).copy()
            if count > len(self.buffer) - self.at:
                raise WeightsError(f"{self.path}: header field {self.field!r} claims {count} elements, more than "
                                   "the file's bytes")
            return [self.value(item, depth + 1) for _ in range(count)]
        return self.scalar(_SCALARS[kind])


class GGUFFile:
    """The metadata (a dict) and tensor table of a GGUF file; `rows` reads tensor data."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                self._parse(_Cursor(data, self.path), len(data))
        except (OSError, ValueError, struct.error) as error:
            if isinstance(error, WeightsError):
                raise
            raise WeightsError(f"{self.path}: not a readable GGUF file ({error})") from None

    def _parse(self, cursor: _Cursor, size: int) -> None:
        if bytes(cursor.take(4)) != MAGIC:
            raise WeightsError(f"{self.path}: not a GGUF file (the header does not start with 'GGUF')")
        cursor.field = "version"
        self.version = cursor.scalar("<I")
        if self.version not in (2, 3):
            raise WeightsError(f"{self.path}: header field 'version' is {self.version}; expected GGUF version 2 or 3")
        cursor.field = "tensor_count"
        tensor_count = cursor.scalar("<Q")
        cursor.field = "kv_count"
        kv_count = cursor.scalar("<Q")
        self.metadata: dict[str, Any] = {}
        for index in range(kv_count):
            cursor.field = f"metadata key #{index}"
            key = cursor.string()
            cursor.field = key
            self.metadata[key] = cursor.value(cursor.value_type())
        check_field_types(self.metadata, self.path)
        entries = []
        for index in range(tensor_count):
            cursor.field = f"tensor #{index}"
            name = cursor.string()
            cursor.field = name
            dim_count = cursor.scalar("<I")
            if dim_count > MAX_DIMS:
                raise WeightsError(f"{self.path}: tensor {name} has {dim_count} dimensions; GGUF allows at most "
                                   f"{MAX_DIMS}")
            dims = [cursor.scalar("<Q") for _ in range(dim_count)]
            code, offset = cursor.scalar("<I"), cursor.scalar("<Q")
            entries.append((name, dims, code, offset))
        alignment = int(self.metadata.get("general.alignment", DEFAULT_ALIGNMENT))  # checked by check_field_types
        data_start = -(-cursor.at // alignment) * alignment
        self.tensors: dict[str, TensorInfo] = {}
        for name, dims, code, offset in entries:
            self.tensors[name] = self._tensor_info(name, dims, code, data_start + offset, size)

    def _tensor_info(self, name: str, dims: list[int], code: int, offset: int, size: int) -> TensorInfo:
        try:
            quant = GGMLQuantizationType(code)
        except ValueError:
            raise WeightsError(f"{self.path}: tensor {name} has unknown GGML quantization type {code}") from None
        block_values, block_bytes = GGML_QUANT_SIZES[quant]
        if not dims or dims[0] % block_values:
            raise WeightsError(f"{self.path}: tensor {name} has shape {dims}; its rows must be a multiple of "
                               f"{block_values} values for {quant.name}")
        nbytes = math.prod(dims[1:]) * dims[0] // block_values * block_bytes  # Python ints: no overflow
        if offset + nbytes > size:
            raise WeightsError(f"{self.path}: tensor {name} ({nbytes} bytes at {offset}) runs past the end of the "
                               f"file ({size} bytes): the file is truncated")
        return TensorInfo(name, tuple(reversed(dims)), quant, offset, nbytes)

    def drop_vocabulary(self) -> None:
        """Forget the tokenizer's fields (once the tokenizer is built): for a 262k vocabulary
        they are tens of megabytes of Python strings."""
        for key in [key for key in self.metadata if key.startswith("tokenizer.ggml.")]:
            del self.metadata[key]

    def field(self, key: str, default: Any = ..., kind: type | tuple = (int, float, str, bool, np.integer)):
        if key not in self.metadata:
            if default is ...:
                raise WeightsError(f"{self.path}: metadata field {key!r} is missing")
            return default
        value = self.metadata[key]
        if not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            raise WeightsError(f"{self.path}: metadata field {key!r} is {value!r}; expected "
                               + " or ".join(k.__name__ for k in kinds))
        return value

    def packed_rows(self, info: TensorInfo, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of the tensor flattened to 2-D, as stored: [rows, row bytes]."""
        block_values, block_bytes = GGML_QUANT_SIZES[info.quant]
        row_bytes = info.shape[-1] // block_values * block_bytes
        packed = np.empty((stop - start, row_bytes), dtype=np.uint8)
        with open(self.path, "rb") as handle:
            handle.seek(info.offset + start * row_bytes)
            if handle.readinto(memoryview(packed).cast("B")) != packed.size:
                raise WeightsError(f"{self.path}: tensor {info.name} is truncated")
        return packed

    def rows(self, info: TensorInfo, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of the tensor flattened to 2-D [rows, row length], as float32."""
        row_length = info.shape[-1]
        packed = self.packed_rows(info, start, stop)
        try:
            values = dequantize(packed, info.quant)
        except (NotImplementedError, ValueError, KeyError) as error:
            raise WeightsError(f"{self.path}: tensor {info.name} is stored as {info.quant.name}, which cannot be "
                               f"dequantized ({error or 'no dequantizer'})") from None
        return values.reshape(stop - start, row_length)

    def tensor(self, name: str) -> torch.Tensor:
        info = self.tensors[name]
        rows = int(np.prod(info.shape[:-1], dtype=np.int64))
        return torch.from_numpy(self.rows(info, 0, rows)).reshape(info.shape)
