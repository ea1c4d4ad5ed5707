"""The weight layout a one-token decode step wants: matrices stored input-major, and the
linears that read the same input (q/k/v; gate/up) backed by one matrix that one matmul reads.
On the CPU, where our kernels are loaded, a decode step's products go through our own
(`linear`, kernels/decode_linear.cpp), which reads either layout as one stream per thread;
the layout below is what torch's BLAS wants where it computes them (a prefill, a GPU).

A decode step multiplies a single row vector by every weight matrix, so it runs at the
speed the matrices stream from memory. nn.Linear stores [out, in] row-major, which makes
x @ W.T one dot product per output row; stored input-major ([in, out] contiguous, seen as
the same [out, in] parameter through a transposed view) it becomes a sum of rows scaled by
x, which the CPU BLAS streams much faster (about 25 against 14 GB/s for Gemma 3's
262k-row output head on a 2-core EPYC; half precision on the CPU is the exception, see
input_major). Parameters keep their names, shapes and values --
only their strides change -- so state dicts, name maps, loaders and the inspector see the
same model, and nothing is held twice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import cpu_kernels
from .lowbit import PackedLowBit, can_pack

DECODE_ROWS = 4  # the rows of activations our decode kernel takes: a decode step's batch


def input_major(tensor: torch.Tensor) -> torch.Tensor:
    """The same [out, in] values, stored [in, out] contiguous -- where that streams faster.
    Not for half precision on the CPU: there torch's BLAS reads an input-major bfloat16
    matrix at 1.2 GB/s against 9.7 GB/s row-major (576 x 1536 on a 2-core EPYC), so those
    matrices stay [out, in]."""
    if tensor.device.type == "cpu" and tensor.dtype != torch.float32:
        return tensor.contiguous()
    return tensor.t().contiguous().t()


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x W^T + b, as F.linear; a decode step's few rows of float32 or bfloat16 on the CPU go
    through our kernel (app/model/kernels/decode_linear.cpp) where it is loaded, which reads
    either layout at the speed the matrix streams from memory."""
    if _kernel_computes(x, weight):
        rows = x.reshape(-1, x.shape[-1])
        out = torch.ops.archscope_kernels.decode_linear(rows, weight, bias)
        return out.view(*x.shape[:-1], weight.shape[0])
    return F.linear(x, weight, bias)


def _kernel_computes(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (cpu_kernels.loaded() and x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16)
            and weight.dtype == x.dtype and x.numel() <= DECODE_ROWS * x.shape[-1] and x.numel() > 0
            and x.is_contiguous() and (weight.is_contiguous() or weight.t().is_contiguous()))


class DecodeLinear(nn.Linear):
    """An nn.Linear whose product goes through `linear` above: what `pack_for_decode` makes
    of every plain nn.Linear of a model (by class, in place: the same parameters, names and
    state; only the forward differs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)


def use_decode_linears(model: nn.Module) -> None:
    """Every plain nn.Linear of the model computes through `linear` (subclasses keep their
    own forward: a tensor-parallel shard's all-reduce, a low-bit matrix)."""
    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = DecodeLinear


@torch.no_grad()
def store_input_major(linear: nn.Module) -> None:
    """A float linear's matrix input-major; a low-bit one (app/model/lowbit.py) keeps its layout."""
    if isinstance(linear, nn.Linear):
        # .data keeps the Parameter object, so a tied embedding follows its head.
        linear.weight.data = input_major(linear.weight)


def pack_linears(linears: list[nn.Module]) -> "PackedLinear | PackedLowBit | None":
    """One matrix for linears that read the same input: float ones, or low-bit ones of one
    layout; None where they differ (a GGUF file may store q and v in different formats),
    and the linears run one by one."""
    if all(isinstance(linear, nn.Linear) for linear in linears):
        return PackedLinear(linears)
    if can_pack(linears):
        return PackedLowBit(linears)
    for linear in linears:
        store_input_major(linear)
    return None


class PackedLinear:
    """Linears that read the same input, computed as one: their weights are row blocks of
    one input-major matrix and their biases slices of one vector. Outputs come back split,
    in the order the linears were given."""

    @torch.no_grad()
    def __init__(self, linears: list[nn.Linear]):
        if len({linear.bias is None for linear in linears}) != 1:
            raise ValueError("packed linears must all have a bias or all have none")
        self.weight = input_major(torch.cat([linear.weight for linear in linears]))
        self.bias = torch.cat([linear.bias for linear in linears]) if linears[0].bias is not None else None
        self.sizes = [linear.out_features for linear in linears]
        start = 0
        for linear, size in zip(linears, self.sizes):
            linear.weight.data = self.weight[start:start + size]
            if self.bias is not None:
                linear.bias.data = self.bias[start:start + size]
            start += size
        self.linears = linears
        self._pointers = [self._pointers_of(linear) for linear in linears]

    def _pointers_of(self, linear: nn.Linear) -> tuple[int, int]:
        return linear.weight.data_ptr(), 0 if self.bias is None else linear.bias.data_ptr()

    def intact(self) -> bool:
        """Whether the packed matrix still backs every parameter: moving or converting the
        model (.to) or assigning a new weight gives a parameter storage of its own, and the
        separate linears must then be used."""
        for linear, pointers in zip(self.linears, self._pointers):
            if self._pointers_of(linear) != pointers:
                return False
        return True

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return linear(x, self.weight, self.bias).split(self.sizes, dim=-1)


def packed_or_none(owner: nn.Module, name: str) -> PackedLinear | PackedLowBit | None:
    """owner's PackedLinear attribute `name` if it is still intact; a stale one is dropped
    (it would keep the old storage alive)."""
    packed = getattr(owner, name)
    # A compiled step reads storage addresses only where it was traced: the fast mode
    # (app/runtime/fast.py) runs an eager step, which checks, just before compiling.
    if torch.compiler.is_compiling():
        return packed
    if packed is not None and not packed.intact():
        setattr(owner, name, None)
        return None
    return packed
