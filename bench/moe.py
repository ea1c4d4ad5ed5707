"""MoE decode speed: routing recording on vs off, and ArchScope vs transformers, on the same
weights, and the experts' grouped GEMM vs their per-expert loop, measured side by side.

For each architecture: transformers builds a random model from the config ArchScope
writes and saves it as safetensors; ArchScope loads that directory. Four runs then decode
greedily from the same prompt (batch 1), interleaved, the best of `--repeats` counting:
ours with routing recording off; ours recording, reading every layer's tokens-per-expert
after each step as the profiler does; ours with the experts' per-expert loop instead of
the grouped GEMM (on a GPU that has one; on the CPU both run the loop, see
app/model/experts.py); transformers' generate. Prints tokens/s and the ratios recording / off (the cost of
watching the router; 1.00 is free), grouped / loop and ours / transformers (> 1 is faster).

    .venv/bin/python bench/moe.py [--models deepseek-v3:explore] [--new-tokens 64] [--device cuda]
"""

from __future__ import annotations

import argparse

import torch
import transformers

from side_by_side import same_weights, timed  # bench/side_by_side.py, beside this script

from app.model.experts import RoutedExperts
from app.model.moe import record_routing, take_routing_counts
from app.runtime.generate import decode_one_token, prefill
from app.runtime.session import DTYPES

DEFAULT_MODELS = ["deepseek-v3:explore", "deepseek-v3.2:explore"]


def decode(model, prompt: torch.Tensor, new_tokens: int, recording: bool) -> list[dict]:
    """Greedy decode; while recording, the routing counts of every step (one host read each)."""
    record_routing(model, recording)
    cache = model.new_cache(prompt.shape[0], prompt.shape[1] + new_tokens)
    token = prefill(model, prompt, cache).argmax(dim=-1, keepdim=True)
    steps = [take_routing_counts(model)] if recording else []
    for _ in range(new_tokens - 1):
        token = decode_one_token(model, token, cache).argmax(dim=-1, keepdim=True)
        if recording:
            steps.append(take_routing_counts(model))
    record_routing(model, False)
    return steps


def bench_model(name: str, device: str, dtype: torch.dtype, prompt_len: int, new_tokens: int, repeats: int):
    spec, reference, ours, prompt = same_weights(name, device, dtype, prompt_len)

    def run_reference():
        reference.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                           pad_token_id=0)

    def run_loop():
        experts = [module for module in ours.modules() if isinstance(module, RoutedExperts)]
        for module in experts:
            module.dispatch = "loop"
        try:
            decode(ours, prompt, new_tokens, False)
        finally:
            for module in experts:
                del module.dispatch  # back to the class default, "auto"

    runs = {"off": lambda: decode(ours, prompt, new_tokens, False),
            "recording": lambda: decode(ours, prompt, new_tokens, True),
            "loop": run_loop,
            "transformers": run_reference}
    counts = decode(ours, prompt, new_tokens, True)  # warm-up, and a check that routing was seen
    assert counts and all(sum(per_expert) > 0 for per_expert in counts[-1].values()), "no routing recorded"
    run_reference()
    seconds = {key: [] for key in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            seconds[key].append(timed(run, device))
    return {key: new_tokens / min(values) for key, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="catalog names, NAME:explore for a scale")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print(f"device {args.device}, {args.dtype}, batch 1, prompt {args.prompt_tokens}, {args.new_tokens} new tokens, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads")
    print(f"{'model':<24} {'ours off':>9} {'recording':>10} {'rec/off':>8} {'loop':>7} {'grouped/loop':>13} "
          f"{'transformers':>13} {'ours/tf':>8}  (tokens/s)")
    for name in args.models:
        speed = bench_model(name, args.device, DTYPES[args.dtype], args.prompt_tokens, args.new_tokens, args.repeats)
        print(f"{name:<24} {speed['off']:>9.1f} {speed['recording']:>10.1f} {speed['recording'] / speed['off']:>7.2f}x "
              f"{speed['loop']:>7.1f} {speed['off'] / speed['loop']:>12.2f}x "
              f"{speed['transformers']:>13.1f} {speed['off'] / speed['transformers']:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
