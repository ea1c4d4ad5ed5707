"""What the side-by-side benchmarks share: one set of weights in both implementations,
and wall-clock timing that waits for the device."""

from __future__ import annotations

import tempfile
import time

import torch
import transformers

from app.model import cpu_kernels
from app.spec import catalog
from app.spec.hf import hf_config_from_spec
from app.weights import load_pretrained


def synchronize(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def timed(run, device: str) -> float:
    """Seconds `run()` takes, device work included."""
    synchronize(device)
    start = time.perf_counter()
    run()
    synchronize(device)
    return time.perf_counter() - start


def same_weights(name: str, device: str, dtype: torch.dtype, prompt_len: int):
    """(spec, transformers model, our model, prompt) for a catalog NAME[:scale]:
    transformers builds random weights from the config we write, saves them, we load them."""
    slug, _, scale = name.partition(":")
    spec = catalog.get(slug, scale or "full")
    config = transformers.AutoConfig.for_model(**hf_config_from_spec(spec))
    torch.manual_seed(0)
    reference = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
    with tempfile.TemporaryDirectory() as directory:
        reference.save_pretrained(directory)
        ours = load_pretrained(directory, device=device, dtype=dtype).model
    reference = reference.to(device).eval()
    prompt = torch.randint(0, spec.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(0)).to(device)
    return spec, reference, ours, prompt


def same_real_weights(source: str, device: str, dtype: torch.dtype, prompt_len: int, weights: str = "dequantize"):
    """The same for an embedded real model: we load the GGUF file ourselves, transformers
    reads the very same file (it dequantizes GGUF itself). weights "native": ours keeps the
    file's low bits (then the weights are the file's, transformers' their expansion)."""
    from app.weights.embedded import embedded_path

    path = embedded_path(source.removeprefix("embedded:"))
    loaded = load_pretrained(source, device=device, dtype=dtype, weights=weights)
    reference = transformers.AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=dtype)
    reference = reference.to(device).eval()
    prompt = torch.randint(0, loaded.spec.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(0))
    return loaded.spec, reference, loaded.model, prompt.to(device)


class MatvecCeiling:
    """The bytes per second a large float32 matrix-vector product reads, best of a few (torch's,
    and our decode kernel's where it is loaded, in both layouts the model keeps): the ceiling a
    weight-streaming decode can approach, by decode's own access pattern. The matrix is made
    once, so a reading can be taken beside every timed run (`read()`, a fraction of a second)."""

    def __init__(self, device: str, megabytes: int = 256, repeats: int = 7):
        side = int((megabytes * 2**20 // 4) ** 0.5)
        self.device, self.repeats = device, repeats
        self.matrix = torch.empty(side, side, dtype=torch.float32, device=device).normal_()
        vector = torch.empty(side, dtype=torch.float32, device=device).normal_()
        self.matrix @ vector  # first touch
        self.products = [lambda: self.matrix @ vector]
        if self.matrix.device.type == "cpu" and cpu_kernels.loaded():
            # our decode kernel reads a matrix faster than torch's BLAS: the ceiling is the
            # faster of the two, in both layouts the model keeps (row-major; input-major, the
            # transposed view), so that a decode using either is measured against what the
            # machine can do
            row = vector.view(1, -1)
            self.products.append(lambda: torch.ops.archscope_kernels.decode_linear(row, self.matrix, None))
            self.products.append(lambda: torch.ops.archscope_kernels.decode_linear(row, self.matrix.t(), None))

    def read(self) -> float:
        best = min(timed(product, self.device) for product in self.products for _ in range(self.repeats))
        return self.matrix.nbytes / best

