"""build_model: an ArchSpec becomes a DecoderModel, each spec component its module.

The builder composes modules from spec fields; it never looks at a family name.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..spec import ArchSpec, SpecError
from .attention import Attention
from .cca import CompressedConvAttention
from .compressed_attention import CompressedAttention
from .cross_attention import CrossAttention
from .decoder import DecoderModel
from .memory_fit import require_build, require_load
from .gated_deltanet import GatedDeltaNet
from .gated_short_conv import GatedShortConv
from .kimi_delta import KimiDeltaAttention
from .lightning import LightningAttention
from .mamba2 import Mamba2
from .mla import MultiHeadLatentAttention
from .mlstm import MLSTM
from .mlp import MLP
from .moe import MoE
from .multimodal import CrossAttentionDecoderModel, VisionDecoderModel

INIT_STD = 0.02  # the usual initializer_range of the published configs


# Each spec kind's torch module, by the kind's tag (`spec.kind`): the one place the
# builder learns of a new kind.
MIXER_MODULES: dict[str, type[nn.Module]] = {
    "attention": Attention,
    "mla": MultiHeadLatentAttention,
    "gated_deltanet": GatedDeltaNet,
    "kimi_delta": KimiDeltaAttention,
    "mamba2": Mamba2,
    "lightning": LightningAttention,
    "gated_short_conv": GatedShortConv,
    "cross_attention": CrossAttention,
    "mlstm": MLSTM,
    "compressed_attention": CompressedAttention,
    "cca": CompressedConvAttention,
}
FFN_MODULES: dict[str, type[nn.Module]] = {"mlp": MLP, "moe": MoE}


def make_mixer(spec, d_model: int) -> nn.Module:
    module = MIXER_MODULES.get(getattr(spec, "kind", None))
    if module is None:
        raise NotImplementedError(f"the {getattr(spec, 'kind', type(spec).__name__)} mixer has no torch module yet")
    return module(spec, d_model)


def make_ffn(spec, d_model: int) -> nn.Module:
    module = FFN_MODULES.get(getattr(spec, "kind", None))
    if module is None:
        raise NotImplementedError(f"the {getattr(spec, 'kind', type(spec).__name__)} feed-forward has no torch module yet")
    return module(spec, d_model)


# A build makes every tensor larger than this straight in the run's dtype and fills it
# FILL_CHUNK values at a time, so a model needs its own bytes and little more: Gemma 3n E2B
# in bfloat16 peaks at 9.1 GB, where made in float32 and converted it did not fit in 24.
LARGE = 1 << 20  # elements
FILL_CHUNK = 1 << 24  # float32 values drawn at once (64 MB); a multiple of 16, see _fill_normal


def is_matrix(owner: nn.Module, leaf: str) -> bool:
    # `matrices`: raw weight tensors a module names as such (stacked expert weights)
    return isinstance(owner, (nn.Linear, nn.Embedding)) and leaf == "weight" or leaf in getattr(owner, "matrices", ())


def _fill_normal(tensor: torch.Tensor, generator: torch.Generator, chunk: int = FILL_CHUNK) -> None:
    """normal(0, INIT_STD), drawn in float32 a chunk at a time. The values equal one draw of
    the whole tensor: torch's CPU sampler takes its numbers 16 at a time, so chunks that
    start at multiples of 16 (and a last one of at least 16) read the same stream."""
    flat = tensor.view(-1)
    start = 0
    while start < flat.numel():
        stop = start + chunk
        if flat.numel() - stop < 16:
            stop = flat.numel()
        values = torch.randn(stop - start, generator=generator) * INIT_STD
        flat[start:stop].copy_(values.to(tensor.dtype))
        start = stop


@torch.no_grad()
def initialize(model: nn.Module, seed: int) -> None:
    """Random weights, reproducible for a seed whatever the device: normal(0, 0.02) for
    matrices and embeddings, zeros for biases and sinks; norms keep their identity init."""
    generator = torch.Generator().manual_seed(seed)
    for name, parameter in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        if is_matrix(owner, leaf):
            _fill_normal(parameter, generator)
        elif leaf in ("bias", "sinks"):
            parameter.zero_()


class LargeInRunDtype(TorchFunctionMode):
    """While modules are made, a tensor of more than LARGE elements is made without the
    float32 detour: `empty` on "meta" (no memory; materialize allocates it and initialize
    draws its values), `zeros`, `ones` and `full` in the run's dtype, their values exact."""

    def __init__(self, dtype: torch.dtype):
        super().__init__()
        self.dtype = dtype

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in (torch.empty, torch.zeros, torch.ones, torch.full):
            shape = args[0] if args and isinstance(args[0], (tuple, list, torch.Size)) else args
            floating = kwargs.get("dtype") is None or kwargs["dtype"].is_floating_point
            if floating and all(isinstance(size, int) for size in shape) and torch.Size(shape).numel() > LARGE:
                if func is torch.empty:
                    kwargs["device"] = "meta"
                else:
                    kwargs["dtype"] = self.dtype
        return func(*args, **kwargs)


@torch.no_grad()
def materialize(model: nn.Module, device: torch.device | str, dtype: torch.dtype) -> dict[int, torch.Tensor]:
    """Every parameter and buffer on the device in the run's dtype (floating ones): a meta
    tensor gets fresh memory, which only initialize may fill; a tied weight stays tied.
    Returns {id of the old tensor: the new one}."""
    made: dict[int, torch.Tensor] = {}
    for owner_name, owner in model.named_modules():
        for kind in ("_parameters", "_buffers"):
            tensors = getattr(owner, kind)
            for leaf, tensor in tensors.items():
                if tensor is None:
                    continue
                if id(tensor) not in made:
                    if tensor.is_meta and not (is_matrix(owner, leaf) or leaf in ("bias", "sinks")):
                        raise RuntimeError(f"{owner_name}.{leaf}: a large tensor with no initializer was made "
                                           "without values")
                    target = dtype if tensor.is_floating_point() else tensor.dtype
                    new = (torch.empty(tensor.shape, dtype=target, device=device) if tensor.is_meta
                           else tensor.to(device=device, dtype=target))
                    made[id(tensor)] = nn.Parameter(new, tensor.requires_grad) if kind == "_parameters" else new
                tensors[leaf] = made[id(tensor)]
    return made


def construct(spec: ArchSpec, device: torch.device | str = "cpu") -> DecoderModel:
    """The modules of a spec, weights uninitialized (on "meta", none are allocated)."""
    problems = spec.validate()
    if problems:
        raise SpecError(problems)
    d = spec.d_model
    # A vision front-end brings its encoder and projector (app/model/multimodal.py).
    model_class = DecoderModel
    if spec.vision is not None:
        model_class = CrossAttentionDecoderModel if spec.vision.method == "cross_attention" else VisionDecoderModel
    with torch.device(device):
        model = model_class(spec, lambda mixer: make_mixer(mixer, d), lambda ffn: make_ffn(ffn, d))
    # A mixer whose math depends on its depth (lightning attention's decay) learns it here.
    for index, block in enumerate(model.layers):
        if hasattr(block.mixer, "set_depth"):
            block.mixer.set_depth(index, spec.num_layers)
    return model


def build_model(spec: ArchSpec, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                seed: int = 0) -> DecoderModel:
    """A model of the spec with random weights, reproducible for a seed. Refused
    (NotEnoughMemory) before any allocation when the device lacks the bytes."""
    require_build(spec, device, dtype)
    with LargeInRunDtype(dtype):
        model = construct(spec, device)
    materialize(model, device, dtype)
    initialize(model, seed)
    model.eval().pack_for_decode()
    return model


def empty_model(spec: ArchSpec, device: torch.device | str, dtype: torch.dtype,
                low_bit: Callable[[DecoderModel], None] | None = None) -> DecoderModel:
    """Allocated in the target dtype but not initialized: for loaders that fill every tensor.
    low_bit: swaps linears for low-bit ones (app/model/lowbit.py) while nothing is allocated.
    Refused (NotEnoughMemory) before allocating when the device lacks the bytes."""
    model = construct(spec, "meta").to(dtype=dtype)
    if low_bit is None:
        require_load(spec, device, dtype)
    else:
        low_bit(model)
        model.tie_weights()
        tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}.values()
        require_load(spec, device, dtype, sum(t.nbytes for t in tensors))
    model = model.to_empty(device=device)
    model.tie_weights()
    return model.eval()
