"""Hybrid vs dense decode: explore-scale Qwen3-Next (Gated DeltaNet 3:1 gated attention)
against a dense Qwen3 of the same width, decode tokens/s and KV bytes at several context
lengths, measured side by side in one run.

The dense model is derived from the Qwen3-Next explore spec, so that the only difference
is what the article's figure shows -- linear attention in three layers of four, and
experts instead of one MLP:
- same vocabulary, d_model and number of layers, the same embedding and untied head;
- every layer full attention with the Qwen3-Next attention's heads, KV heads and
  head_dim, per-head QK-norm and RoPE on every channel, as Qwen3 has (no output gate,
  no partial RoPE: those are Qwen3-Next's additions);
- a dense SwiGLU MLP as wide as Qwen3-Next's *active* feed-forward: the shared expert
  plus top_k routed experts (64 + 4 x 64 = 320 at explore scale), so both spend the same
  feed-forward multiply-adds per token and the difference in decode time is the mixers
  (plus the router's overhead). Parameters in total differ: the dense model has no idle
  experts.

For each context both caches are filled with random tokens by chunked prefill (512
tokens a forward, as app.runtime.sweep does), then greedy decode steps alternate between
the two models, and each model's median step counts. KV bytes are what the cache holds
after them, beside the analysis' prediction.
Ratios are Next / dense: tokens/s > 1 means the hybrid decodes faster, KV < 1 means it
keeps less.

    .venv/bin/python bench/hybrid.py [--contexts 1024 4096 16384] [--decode-steps 8] [--threads N] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from app.model import build_model
from app.runtime.session import DTYPES
from app.runtime.sweep import PREFILL_CHUNK
from app.spec import ArchSpec, Layer, catalog
from app.spec.ffn import MLP, MoE
from app.spec.mixers import Attention
from app.spec.parts import Norm, QKNorm, Rope
from app.spec.analysis import analyze

NEXT = "qwen3-next-80b-a3b"


def dense_twin(spec: ArchSpec) -> ArchSpec:
    """A dense Qwen3 of the hybrid's width: see the module docstring for the choices."""
    attention = next(layer.mixer for layer in spec.layers if isinstance(layer.mixer, Attention))
    moe = next(layer.ffn for layer in spec.layers if isinstance(layer.ffn, MoE))
    active_width = moe.top_k * moe.expert.intermediate_size + (moe.shared.intermediate_size if moe.shared else 0)
    norm = Norm("rmsnorm", spec.final_norm.eps)
    mixer = Attention(num_heads=attention.num_heads, num_kv_heads=attention.num_kv_heads,
                      head_dim=attention.head_dim,
                      rope=Rope(theta=attention.rope.theta, rotary_dim=attention.head_dim),
                      qk_norm=QKNorm("head", norm))
    layer = Layer(mixer, MLP(active_width), norm)
    return replace(spec, name=f"dense twin of {spec.name}", model_type="qwen3", family="Qwen3",
                   layers=(layer,) * spec.num_layers, final_norm=norm)


def filled_cache(model, spec: ArchSpec, context: int, room: int):
    """A cache holding `context` random tokens, prefilled PREFILL_CHUNK tokens a forward
    as the context sweep does, and the last of them (the next decode input)."""
    cache = model.new_cache(1, context + room)
    device = model.embed_tokens.weight.device
    tokens = torch.randint(0, spec.vocab_size, (1, context), generator=torch.Generator().manual_seed(0)).to(device)
    for start in range(0, context, PREFILL_CHUNK):
        model(tokens[:, start:start + PREFILL_CHUNK], cache=cache, last_only=True)
    return cache, tokens[:, -1:]


def measure(models: dict, specs: dict, context: int, steps: int, device: str) -> dict:
    """Per model: (tokens/s, KV bytes held, KV bytes predicted) at this context. Decode
    steps alternate between the models, so a change in machine load hits both alike."""
    state = {key: filled_cache(model, specs[key], context, steps + 1) for key, model in models.items()}
    seconds = {key: [] for key in models}
    for step in range(steps + 1):  # the first step of each is a warm-up, not counted
        for key, model in models.items():
            cache, token = state[key]
            started = time.perf_counter()
            token = model(token, cache=cache, last_only=True)[:, -1].argmax(-1, keepdim=True)
            token.item()  # waits for the device
            if step:
                seconds[key].append(time.perf_counter() - started)
            state[key] = cache, token
    result = {}
    for key, (cache, _) in state.items():
        element = models[key].embed_tokens.weight.element_size()
        predicted = analyze(specs[key]).kv_bytes_at(cache.position, element)
        result[key] = (1 / statistics.median(seconds[key]), cache.nbytes(), predicted)
    return result


def mib(count: int) -> str:
    return f"{count / 2**20:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--decode-steps", type=int, default=8, help="timed decode steps per context (median)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--quick", action="store_true", help="contexts 256 and 1024, 4 decode steps")
    args = parser.parse_args()
    if args.threads:
        # On a loaded machine one thread is steadier: a multi-threaded op waits for its
        # slowest thread, and small ops (a decode step has hundreds) wait the most.
        torch.set_num_threads(args.threads)
    if args.quick:
        args.contexts, args.decode_steps = [256, 1024], 4
    torch.set_grad_enabled(False)

    hybrid_spec = catalog.get(NEXT, "explore")
    specs = {"next": hybrid_spec, "dense": dense_twin(hybrid_spec)}
    models = {key: build_model(spec, args.device, DTYPES[args.dtype]) for key, spec in specs.items()}
    for key, spec in specs.items():
        analysis = analyze(spec)
        print(f"{key:>5}: {spec.name}, {spec.num_layers} layers, d_model {spec.d_model}, "
              f"{analysis.total_params / 1e6:.1f}M params ({analysis.active_params / 1e6:.1f}M active)")
    print(f"device {args.device}, {args.dtype}, batch 1, {args.decode_steps} decode steps per context, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    measure(models, specs, 64, 2, args.device)  # warm-up: allocator, rotary tables, kernels

    header = (f"{'context':>8} | {'next tok/s':>10} {'dense tok/s':>11} {'ratio':>6} | "
              f"{'next KV MiB':>11} {'dense KV MiB':>12} {'ratio':>6} | predicted KV = measured")
    print(header)
    print("-" * len(header))
    for context in args.contexts:
        figures = measure(models, specs, context, args.decode_steps, args.device)
        (next_speed, next_kv, next_predicted), (dense_speed, dense_kv, dense_predicted) = (
            figures["next"], figures["dense"])
        exact = "yes" if (next_kv, dense_kv) == (next_predicted, dense_predicted) else \
            f"NO ({next_predicted}, {dense_predicted})"
        print(f"{context:>8} | {next_speed:>10.1f} {dense_speed:>11.1f} {next_speed / dense_speed:>5.2f}x | "
              f"{mib(next_kv):>11} {mib(dense_kv):>12} {next_kv / dense_kv:>5.2f}x | {exact}", flush=True)


if __name__ == "__main__":
    main()
