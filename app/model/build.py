"""build_model: an ArchSpec becomes a DecoderModel, each spec component its module.

The builder composes modules from spec fields; it never looks at a family name.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec import ArchSpec, SpecError
from .attention import Attention
from .cross_attention import CrossAttention
from .decoder import DecoderModel
from .memory_fit import require_build, require_load
from .gated_deltanet import GatedDeltaNet
from .kimi_delta import KimiDeltaAttention
from .lightning import LightningAttention
from .mamba2 import Mamba2
from .mla import MultiHeadLatentAttention
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
    "cross_attention": CrossAttention,
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


@torch.no_grad()
def initialize(model: nn.Module, seed: int) -> None:
    """Random weights, reproducible for a seed whatever the device: normal(0, 0.02) for
    matrices and embeddings, zeros for biases and sinks; norms keep their identity init."""
    generator = torch.Generator().manual_seed(seed)
    for name, parameter in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        # `matrices`: raw weight tensors a module names as such (stacked expert weights)
        if isinstance(owner, (nn.Linear, nn.Embedding)) and leaf == "weight" or leaf in getattr(owner, "matrices", ()):
            values = torch.randn(parameter.shape, generator=generator) * INIT_STD
            parameter.copy_(values.to(parameter.dtype))
        elif leaf in ("bias", "sinks"):
            parameter.zero_()


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
    model = construct(spec, device)
    initialize(model, seed)
    model = model.to(dtype=dtype).eval()
    model.pack_for_decode()
    return model


def empty_model(spec: ArchSpec, device: torch.device | str, dtype: torch.dtype) -> DecoderModel:
    """Allocated in the target dtype but not initialized: for loaders that fill every tensor.
    Refused (NotEnoughMemory) before allocating when the device lacks the bytes."""
    require_load(spec, device, dtype)
    model = construct(spec, "meta").to(dtype=dtype).to_empty(device=device)
    model.tie_weights()
    return model.eval()
