"""A GGUF file (llama.cpp's single-file checkpoint): metadata -> spec, tensors -> model.

The header is parsed here with the `gguf` package's type tables: `gguf.GGUFReader` makes a
numpy object per metadata element and takes half a minute over Gemma 3's 262k-token
vocabulary, while a plain pass over the bytes takes about a second. Tensors are read a
few thousand rows at a time, dequantized by `gguf.quants` (numpy, the same arithmetic
llama.cpp's reference code does) and copied straight into the parameters, so a load
never holds a second copy of the model.

What llama.cpp's converter changed on the way in is undone on the way out: it permutes the
query/key rows of Llama-architecture files for its interleaved RoPE, and it stores every
norm's multiplier itself where Gemma's (1 + w) norms keep w.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType
from gguf.quants import dequantize

from ..model.norms import RMSNorm
from ..spec import ArchSpec, SpecError
from ..spec.hf import spec_from_hf_config
from ..spec.limits import MAX_NESTING
from .errors import WeightsError
from .gguf_fields import check_field_types
from .progress import Progress

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS: llama.cpp's tensors have at most four dimensions
CHUNK_VALUES = 1 << 23  # dequantize about 32 MB of float32 at a time

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

    def rows(self, info: TensorInfo, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of the tensor flattened to 2-D [rows, row length], as float32."""
        row_length = info.shape[-1]
        block_values, block_bytes = GGML_QUANT_SIZES[info.quant]
        row_bytes = row_length // block_values * block_bytes
        packed = np.empty((stop - start, row_bytes), dtype=np.uint8)
        with open(self.path, "rb") as handle:
            handle.seek(info.offset + start * row_bytes)
            if handle.readinto(memoryview(packed).cast("B")) != packed.size:
                raise WeightsError(f"{self.path}: tensor {info.name} is truncated")
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


# --- metadata -> spec ------------------------------------------------------------------


def _float32(value) -> float:
    """GGUF keeps float32: 1e-6 comes back as 9.99999997e-07. The shortest decimal that
    reads back as the same float32 is the number the published config wrote."""
    return float(str(np.float32(value)))


def _uniform(file: GGUFFile, key: str, default=...):
    value = file.field(key, default, kind=(int, np.integer, np.ndarray, list))
    if isinstance(value, (np.ndarray, list)):  # some files list a value per layer
        if isinstance(value, list) or value.dtype.kind not in "iu":
            raise WeightsError(f"{file.path}: metadata field {key!r} is an array of non-integers; expected an "
                               "integer or one integer per layer")
        values = {int(v) for v in value}
        if len(values) != 1:
            raise WeightsError(f"{file.path}: metadata field {key!r} differs between layers ({sorted(values)}); "
                               "only a single value per model is supported")
        return values.pop()
    return int(value)


def hf_config_from_gguf(file: GGUFFile) -> dict:
    """The config.json that describes the same model as the file's metadata."""
    arch = file.field("general.architecture", kind=str)
    parts = file.field("split.count", 1, kind=(int, np.integer))
    if parts > 1:
        part = file.field("split.no", 0, kind=(int, np.integer)) + 1
        raise WeightsError(f"{file.path}: part {part} of a GGUF split into {parts} files; merge them into one "
                           "first (llama.cpp: llama-gguf-split --merge FIRST-PART.gguf MERGED.gguf)")
    if arch not in GGUF_ARCHITECTURES:
        raise WeightsError(f"{file.path}: metadata field 'general.architecture' is {arch!r}; supported GGUF "
                           f"architectures: {', '.join(GGUF_ARCHITECTURES)}")
    if "rope_freqs.weight" in file.tensors:
        raise WeightsError(f"{file.path}: tensor rope_freqs.weight (per-frequency RoPE factors, Llama 3.1 style) "
                           "is not supported")
    key = lambda name: f"{arch}.{name}"  # noqa: E731
    heads = _uniform(file, key("attention.head_count"))
    d_model = _uniform(file, key("embedding_length"))
    config = {
        "model_type": GGUF_ARCHITECTURES[arch],
        "vocab_size": file.tensors["token_embd.weight"].shape[0] if "token_embd.weight" in file.tensors else
        _uniform(file, key("vocab_size")),
        "hidden_size": d_model,
        "num_hidden_layers": _uniform(file, key("block_count")),
        "intermediate_size": _uniform(file, key("feed_forward_length"), 0 if arch == "qwen3moe" else ...),
        "num_attention_heads": heads,
        "num_key_value_heads": _uniform(file, key("attention.head_count_kv"), heads),
        "head_dim": _uniform(file, key("attention.key_length"), 0) or
        _uniform(file, key("rope.dimension_count"), 0) or d_model // heads,
        "max_position_embeddings": _uniform(file, key("context_length"), 0),
        "rms_norm_eps": _float32(file.field(key("attention.layer_norm_rms_epsilon"), kind=(float, np.floating))),
        "rope_theta": _float32(file.field(key("rope.freq_base"), 10000.0, kind=(float, np.floating))),
        "tie_word_embeddings": "output.weight" not in file.tensors,
    }
    scaling = file.field(key("rope.scaling.type"), "none", kind=str)
    if scaling not in ("none", ""):
        config["rope_scaling"] = {"rope_type": scaling,
                                  "factor": _float32(file.field(key("rope.scaling.factor"), kind=(float, np.floating)))}
        original = _uniform(file, key("rope.scaling.original_context_length"), 0)
        if original:
            config["rope_scaling"]["original_max_position_embeddings"] = original
    if arch == "llama":
        config |= {"hidden_act": "silu", "attention_bias": "blk.0.attn_q.bias" in file.tensors, "mlp_bias": False}
    elif arch == "qwen3":
        config |= {"attention_bias": "blk.0.attn_q.bias" in file.tensors}
    # qwen2 needs nothing more: its q/k/v biases are part of the architecture, not the config.
    elif arch == "qwen3moe":
        # Every layer routed (llama.cpp has no dense-layer list for it) and the chosen
        # experts' weights renormalized to sum to one, as in every Qwen3 MoE release. The
        # stacked expert tensor [experts, width, d] says what a missing field would.
        experts = file.tensors.get("blk.0.ffn_gate_exps.weight")
        count, width = (experts.shape[0], experts.shape[1]) if experts is not None else (..., ...)
        config |= {
            "attention_bias": "blk.0.attn_q.bias" in file.tensors,
            "num_experts": _uniform(file, key("expert_count"), count),
            "num_experts_per_tok": _uniform(file, key("expert_used_count")),
            "moe_intermediate_size": _uniform(file, key("expert_feed_forward_length"), width),
            "norm_topk_prob": True, "decoder_sparse_step": 1, "mlp_only_layers": [],
        }
        config["intermediate_size"] = config["intermediate_size"] or config["moe_intermediate_size"]  # unused
    elif arch == "gemma3":
        config |= {
            # llama.cpp does not store these: every Gemma 3 has five local layers per global
            # one, local RoPE at theta 10k, and scales queries by head_dim ** -0.5 -- except
            # the 27B (62 layers), which scales by (d_model / heads) ** -0.5.
            "sliding_window": _uniform(file, key("attention.sliding_window")),
            "sliding_window_pattern": 6,
            "rope_local_base_freq": 10_000.0,
            "query_pre_attn_scalar": d_model // heads if config["num_hidden_layers"] == 62 else config["head_dim"],
            "hidden_activation": "gelu_pytorch_tanh",
            "final_logit_softcapping": file.field(key("final_logit_softcapping"), None, kind=(float, np.floating)),
            "attn_logit_softcapping": file.field(key("attn_logit_softcapping"), None, kind=(float, np.floating)),
        }
    return config


def spec_from_gguf(file: GGUFFile) -> ArchSpec:
    config = hf_config_from_gguf(file)
    name = file.field("general.name", file.path.stem, kind=str)
    try:
        return spec_from_hf_config(config, name=name)
    except SpecError as error:
        raise WeightsError(f"{file.path}: metadata describes no valid model: {error}") from None


# general.architecture -> the Hugging Face model_type whose converter reads the config.
GGUF_ARCHITECTURES = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "qwen3moe": "qwen3_moe",
                      "gemma3": "gemma3_text"}
# llama.cpp's converter permutes q/k rows only for these (the others already use half-split RoPE).
_PERMUTED_QK = {"llama"}

# --- tensors -> parameters -------------------------------------------------------------

_BLOCK_NAMES = {
    "mixer.q_proj": "attn_q", "mixer.k_proj": "attn_k", "mixer.v_proj": "attn_v", "mixer.o_proj": "attn_output",
    "mixer.q_norm": "attn_q_norm", "mixer.k_norm": "attn_k_norm",
    "ffn.gate_proj": "ffn_gate", "ffn.up_proj": "ffn_up", "ffn.down_proj": "ffn_down",
    "pre_mixer_norm": "attn_norm", "post_mixer_norm": "post_attention_norm",
    "pre_ffn_norm": "ffn_norm", "post_ffn_norm": "post_ffw_norm",
    "ffn.router.proj": "ffn_gate_inp",
}
# The routed experts, stacked [experts, out, in] in the file as in our model.
_STACKED_NAMES = {"ffn.experts.gate_proj": "ffn_gate_exps.weight", "ffn.experts.up_proj": "ffn_up_exps.weight",
                  "ffn.experts.down_proj": "ffn_down_exps.weight"}
_TOP_NAMES = {"embed_tokens": "token_embd", "final_norm": "output_norm", "lm_head": "output"}


def gguf_name(ours: str) -> str:
    parts = ours.split(".")
    if parts[0] == "layers":
        inner = ".".join(parts[2:])
        if inner in _STACKED_NAMES:
            return f"blk.{parts[1]}.{_STACKED_NAMES[inner]}"
        return f"blk.{parts[1]}.{_BLOCK_NAMES['.'.join(parts[2:-1])]}.{parts[-1]}"
    return f"{_TOP_NAMES[parts[0]]}.{parts[-1]}"


def _unpermute(heads: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Undo llama.cpp's permute(): within each head it interleaved the two rotary halves
    (rows 0, d/2, 1, d/2+1, ...); put them back half after half."""

    def undo(rows: torch.Tensor) -> torch.Tensor:
        shape = rows.shape
        return rows.reshape(heads, -1, 2, *shape[1:]).transpose(1, 2).reshape(shape)

    return undo


def _transform(file: GGUFFile, model: torch.nn.Module, ours: str) -> Callable | None:
    owner = model.get_submodule(ours.rsplit(".", 1)[0])
    if isinstance(owner, RMSNorm) and owner.unit_offset:
        return lambda weight: weight - 1.0  # the file stores 1 + w
    arch = file.metadata.get("general.architecture")
    if arch in _PERMUTED_QK and ours.endswith(("mixer.q_proj.weight", "mixer.k_proj.weight")):
        block = model.get_submodule(ours.rsplit(".", 2)[0])
        spec = block.spec
        return _unpermute(spec.num_heads if ".q_proj." in ours else spec.num_kv_heads)
    return None


@torch.no_grad()
def fill_from_gguf(model: torch.nn.Module, file: GGUFFile, progress: Progress | None = None) -> None:
    """Copy every parameter from the file, naming any tensor that is missing or mis-shaped."""
    parameters = dict(model.named_parameters())  # tied weights appear once
    missing = [f"{gguf_name(ours)} (expected shape {list(p.shape)})" for ours, p in parameters.items()
               if gguf_name(ours) not in file.tensors]
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightsError(f"{file.path}: missing tensors: {shown}")
    for done, (ours, parameter) in enumerate(parameters.items(), start=1):
        info = file.tensors[gguf_name(ours)]
        if tuple(info.shape) != tuple(parameter.shape):
            raise WeightsError(f"{file.path}: tensor {info.name} has shape {list(info.shape)}, expected "
                               f"{list(parameter.shape)}")
        transform = _transform(file, model, ours)
        target = parameter.view(-1, info.shape[-1])
        if transform is not None:
            target.copy_(transform(file.tensor(info.name)).reshape(target.shape))
        else:
            step = max(1, CHUNK_VALUES // info.shape[-1])
            # float32 on the CPU: numpy writes the parameter's memory directly (one thread,
            # no intra-op thread pool to wake for each chunk)
            direct = target.detach().numpy() if target.device.type == "cpu" and target.dtype == torch.float32 else None
            for start in range(0, target.shape[0], step):
                stop = min(start + step, target.shape[0])
                if direct is not None:
                    direct[start:stop] = file.rows(info, start, stop)
                else:
                    target[start:stop].copy_(torch.from_numpy(file.rows(info, start, stop)))
        if progress is not None:
            progress(done, len(parameters))
