"""Decode speed: ArchScope eager and fast, transformers (and llama.cpp where installed), on
the same weights, measured side by side, and how close each comes to the memory limit.

For a catalog architecture, transformers builds a random model from the config ArchScope
writes and saves it as safetensors, and ArchScope loads that directory; for an embedded
real model (embedded:NAME) both read the same GGUF file. Each generates greedily from the
same prompt (batch 1), runs alternating, the best of each counting. ArchScope runs as the
app does (a Session, the per-layer probe on) in each mode asked for.

The fraction of the limit: the bytes one decode step reads from weights and cache --
counted by watching every op of a real step (app/runtime/read_counter.py), not estimated --
times tokens/s, over the read bandwidth a large float32 matrix-vector product reaches on
the same machine in the same run (decode's own access pattern).

    .venv/bin/python bench/decode.py [--models embedded:smollm2-135m qwen3-0.6b] [--mode eager fast]
                                     [--dtype float32] [--new-tokens 64] [--quick] [--threads N]

--threads sets torch's intra-op threads for every side alike (default: torch's own choice)
and llama.cpp's. llama.cpp (`pip install llama-cpp-python`, a bench-only reference) runs
on the embedded GGUF files as they are: quantized, so it reads fewer bytes per token.
"""

from __future__ import annotations

import argparse
import time

import torch
import transformers

from side_by_side import memory_bandwidth_matvec, same_real_weights, same_weights, timed  # bench/, beside this

from app.defaults import EXECUTION_MODES
from app.runtime.read_counter import count_step
from app.runtime.session import DTYPES, RunConfig, Session

DEFAULT_MODELS = ["embedded:smollm2-135m", "embedded:gemma3-270m", "qwen3-0.6b", "olmo3-7b:explore"]


def decode_step_bytes(model, prompt: torch.Tensor, new_tokens: int) -> int:
    """Weight and cache bytes one decode step reads, counted, at the middle of the run."""
    context = prompt.shape[1] + new_tokens // 2
    cache = model.new_cache(1, context + 1)
    filler = prompt.repeat(1, context // prompt.shape[1] + 1)[:, :context]
    with torch.no_grad():
        model(filler, cache=cache, last_only=True)
    counts = count_step(model, filler[:, -1:], cache)
    return sum(place.weight_bytes + place.cache_bytes for place in counts.values())


def llama_cpp_tokens_per_s(name: str, threads: int, prompt_len: int, new_tokens: int, repeats: int) -> float | None:
    """llama.cpp's decode tokens/s on the same embedded GGUF file, or None (not installed,
    or not an embedded model)."""
    if not name.startswith("embedded:"):
        return None
    try:
        from llama_cpp import Llama
    except ImportError as error:
        print(f"llama.cpp not measured: {error} (pip install llama-cpp-python)", flush=True)
        return None
    from app.weights.embedded import embedded_path

    llm = Llama(str(embedded_path(name.removeprefix("embedded:"))), n_ctx=prompt_len + new_tokens + 8,
                n_threads=threads, verbose=False)
    prompt = list(range(1, prompt_len + 1))
    best = 0.0
    for _ in range(repeats):
        llm.reset()
        llm.eval(prompt)
        start = time.perf_counter()
        for _ in range(new_tokens):
            token = llm.sample(temp=0.0)
            llm.eval([token])
        best = max(best, new_tokens / (time.perf_counter() - start))
    return best


def bench_model(name: str, modes: list[str], device: str, dtype: torch.dtype, prompt_len: int, new_tokens: int,
                repeats: int) -> dict:
    setup = same_real_weights if name.startswith("embedded:") else same_weights
    spec, reference, ours, prompt = setup(name, device, dtype, prompt_len)
    session = Session(ours, spec, torch.device(device), dtype, spec.name, name)
    prompt_ids = prompt[0].tolist()

    def run_ours(mode: str) -> float:
        config = RunConfig(max_new_tokens=new_tokens, stop_at_eos=False, mode=mode)
        session.encode = lambda *args, **kwargs: prompt_ids  # the same token ids as the reference
        return session.run(config).summary()["decode_tokens_per_s"]

    def run_reference():
        with torch.no_grad():
            reference.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                               pad_token_id=0)

    for mode in modes:
        run_ours(mode)  # warm-up (and, for fast, compiling)
    run_reference()
    rates = {mode: [] for mode in modes}
    reference_s = []
    for _ in range(repeats):
        for mode in modes:
            rates[mode].append(run_ours(mode))
        reference_s.append(timed(run_reference, device))
    result = {mode: max(values) for mode, values in rates.items()}
    result["transformers"] = new_tokens / min(reference_s)
    result["step_bytes"] = decode_step_bytes(ours, prompt, new_tokens)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="catalog names, NAME:explore for a scale")
    parser.add_argument("--mode", nargs="+", choices=EXECUTION_MODES, default=list(EXECUTION_MODES),
                        help="ArchScope's execution modes to measure (default: both)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="16 new tokens, best of 2: a rough ratio in less time")
    parser.add_argument("--threads", type=int, default=0, help="threads for every side (0: torch's default)")
    args = parser.parse_args()
    if args.quick:
        args.new_tokens, args.repeats = 16, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    threads = torch.get_num_threads()
    print(f"device {args.device}, {args.dtype}, batch 1, prompt {args.prompt_tokens}, {args.new_tokens} new tokens, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, {threads} threads")
    bandwidth = memory_bandwidth_matvec(args.device)
    print(f"read bandwidth (float32 matrix-vector product, 256 MiB): {bandwidth / 1e9:.1f} GB/s")
    columns = [f"{mode} tok/s" for mode in args.mode] + ["transformers", "llama.cpp"] + \
        [f"{mode}/tf" for mode in args.mode] + [f"{mode}/llama" for mode in args.mode] + \
        [f"{mode} of limit" for mode in args.mode]
    print(f"{'model':<24}" + "".join(f"{column:>15}" for column in columns) + f"{'MB/step':>10}")
    for name in args.models:
        result = bench_model(name, args.mode, args.device, DTYPES[args.dtype], args.prompt_tokens, args.new_tokens,
                             args.repeats)
        llama = llama_cpp_tokens_per_s(name, threads, args.prompt_tokens, args.new_tokens, args.repeats) \
            if args.device == "cpu" else None
        cells = [f"{result[mode]:.1f}" for mode in args.mode]
        cells += [f"{result['transformers']:.1f}", f"{llama:.1f}" if llama else "-"]
        cells += [f"{result[mode] / result['transformers']:.2f}x" for mode in args.mode]
        cells += [f"{result[mode] / llama:.2f}x" if llama else "-" for mode in args.mode]
        cells += [f"{result[mode] * result['step_bytes'] / bandwidth:.2f}" for mode in args.mode]
        print(f"{name:<24}" + "".join(f"{cell:>15}" for cell in cells) + f"{result['step_bytes'] / 1e6:>10.0f}",
              flush=True)


if __name__ == "__main__":
    main()
