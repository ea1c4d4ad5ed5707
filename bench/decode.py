"""Decode speed, ArchScope vs transformers, on the same weights, measured side by side.

For a catalog architecture, transformers builds a random model from the config ArchScope
writes and saves it as safetensors, and ArchScope loads that directory; for an embedded
real model (embedded:NAME) both read the same GGUF file. Both then generate greedily from
the same prompt (batch 1), alternating runs, and the best run of each counts. Prints
tokens/s for both, their ratio (ours / transformers; > 1 is faster), and the fraction of
the memory-bandwidth limit our decode reaches (weight bytes read per token x tokens/s,
over the bandwidth of a large copy measured in the same run).

    .venv/bin/python bench/decode.py [--models embedded:smollm2-135m qwen3-0.6b] [--new-tokens 64]
                                     [--quick] [--threads N]

--threads sets torch's intra-op threads for both sides alike (default: torch's own choice).
"""

from __future__ import annotations

import argparse

import torch
import transformers

from side_by_side import (  # bench/side_by_side.py, beside this script
    memory_bandwidth,
    same_real_weights,
    same_weights,
    timed,
    weight_bytes,
)

from app.runtime.generate import generate

DEFAULT_MODELS = ["embedded:smollm2-135m", "embedded:gemma3-270m", "qwen3-0.6b", "olmo3-7b:explore", "gpt2-small"]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def bench_model(name: str, device: str, dtype: torch.dtype, prompt_len: int, new_tokens: int, repeats: int):
    setup = same_real_weights if name.startswith("embedded:") else same_weights
    spec, reference, ours, prompt = setup(name, device, dtype, prompt_len)

    def run_ours():
        generate(ours, prompt, new_tokens)

    def run_reference():
        with torch.no_grad():
            reference.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                               pad_token_id=0)

    run_ours(), run_reference()  # warm-up: allocator, kernels, rotary tables
    ours_s, reference_s = [], []
    for _ in range(repeats):
        ours_s.append(timed(run_ours, device))
        reference_s.append(timed(run_reference, device))
    return new_tokens / min(ours_s), new_tokens / min(reference_s), weight_bytes(ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="catalog names, NAME:explore for a scale")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="16 new tokens, best of 2: a rough ratio in less time")
    parser.add_argument("--threads", type=int, default=0, help="torch threads for both sides (0: torch's default)")
    args = parser.parse_args()
    if args.quick:
        args.new_tokens, args.repeats = 16, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    print(f"device {args.device}, {args.dtype}, batch 1, prompt {args.prompt_tokens}, {args.new_tokens} new tokens, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads")
    bandwidth = memory_bandwidth(args.device)
    print(f"memory bandwidth (large copy): {bandwidth / 1e9:.1f} GB/s")
    print(f"{'model':<22} {'ours tok/s':>11} {'transformers tok/s':>19} {'ratio':>7} {'of bandwidth':>13}")
    for name in args.models:
        ours, reference, bytes_per_token = bench_model(name, args.device, DTYPES[args.dtype], args.prompt_tokens,
                                                       args.new_tokens, args.repeats)
        print(f"{name:<22} {ours:>11.1f} {reference:>19.1f} {ours / reference:>6.2f}x "
              f"{ours * bytes_per_token / bandwidth:>12.0%}", flush=True)


if __name__ == "__main__":
    main()
