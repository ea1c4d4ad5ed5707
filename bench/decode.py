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
the same machine (decode's own access pattern; the fastest of torch's and our kernel's),
read just before and just after that very run, the higher of the two. A shared machine's
bandwidth moves by a third and more from minute to minute (this project's 2-core VM read
27-51 GB/s within one run), so a decode is compared with the ceiling of its own moment,
not with the best ceiling of the whole run. The best fraction of the repeats is printed.

    .venv/bin/python bench/decode.py [--models embedded:smollm2-135m qwen3-0.6b] [--mode eager fast]
                                     [--dtype float32] [--new-tokens 64] [--quick] [--threads N]
                                     [--weights native]

--threads sets torch's intra-op threads for every side alike (default: torch's own choice)
and llama.cpp's. llama.cpp (`pip install llama-cpp-python`, a bench-only reference) runs
on the embedded GGUF files as they are: quantized, so it reads fewer bytes per token.

--weights native (embedded models): ArchScope runs the GGUF file's matrices in their low bits
as well, beside the same file expanded to floats and beside llama.cpp, and the table adds the
resident memory, against the file's size plus the KV cache. A fresh process reads the
header and builds the tokenizer, then loads the weights and runs a few steps: what the
weights add is its peak RSS minus its RSS before the weights ([3/9]'s target: at most 1.3x,
and llama.cpp's tokens/s or more); what the whole load adds counts the header and tokenizer
too (Gemma 3's 262k-token vocabulary alone holds about 100 MB in the tokenizers library).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loading bars would break the table
import torch  # noqa: E402
import transformers  # noqa: E402

from side_by_side import MatvecCeiling, same_real_weights, same_weights, timed  # bench/, beside this

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


def llama_cpp_run(name: str, threads: int, prompt_len: int, new_tokens: int) -> Callable[[], float] | None:
    """One llama.cpp decode of new_tokens on the same embedded GGUF file, returning its
    tokens/s; None where llama.cpp is not installed or the model is not an embedded one."""
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

    def run() -> float:
        llm.reset()
        llm.eval(prompt)
        start = time.perf_counter()
        for _ in range(new_tokens):
            token = llm.sample(temp=0.0)
            llm.eval([token])
        return new_tokens / (time.perf_counter() - start)

    run()  # warm-up, as ours has
    return run


def resident_weights(name: str, weights: str, dtype: str, threads: int, tokens: int) -> dict:
    """In a fresh process, in bytes: what the weights add to the resident memory (peak RSS
    minus the RSS once the header is read and the tokenizer built), what the whole load adds
    (the same peak minus the RSS before the file is opened), the tensors held, the file's
    size and the KV cache the run ends with."""
    child = Path(__file__).resolve()
    command = [sys.executable, str(child), "--resident", name, weights, dtype, str(threads), str(tokens)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_resident(name: str, weights: str, dtype: str, threads: int, tokens: int) -> None:
    from app.weights.embedded import embedded_path
    from app.weights.pretrained import gguf_model, open_gguf

    from app.model import cpu_kernels
    from app.model.build import build_model
    from app.spec import catalog
    from app.spec.scale import explore

    torch.set_num_threads(threads)
    # The app's own code and libraries first -- a small model built and run touches the code
    # a decode step runs -- so that what is measured is what the file brings, not code pages.
    warm = build_model(explore(catalog.get("smollm2-135m")), "cpu", DTYPES[dtype])
    with torch.no_grad():
        warm(torch.ones(1, 2, dtype=torch.long), cache=warm.new_cache(1, 3))
    del warm
    cpu_kernels.unavailable()
    ctypes.CDLL(None).malloc_trim(0)  # as the load itself does after the tokenizer: a settled baseline
    path = embedded_path(name.removeprefix("embedded:"))
    before = _rss_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from now: imports left out
    file, spec, _tokenizer = open_gguf(path)
    header_and_tokenizer = _rss_bytes()
    model, _notes = gguf_model(file, spec, "cpu", DTYPES[dtype], weights=weights)
    cache = model.new_cache(1, tokens + 1)
    with torch.no_grad():
        token = torch.ones(1, 1, dtype=torch.long)
        for _ in range(tokens):
            token = model(token, cache=cache)[:, -1:].argmax(-1)
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) * 1024  # kB
    held = sum(t.nbytes for t in {id(t): t for t in (*model.parameters(), *model.buffers())}.values())
    print(json.dumps({"weights": peak - header_and_tokenizer, "whole": peak - before, "held": held,
                      "file": path.stat().st_size, "kv": cache.nbytes()}))


def _rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def bench_model(name: str, modes: list[str], device: str, dtype: torch.dtype, prompt_len: int, new_tokens: int,
                repeats: int, weights: str = "dequantize", others: dict[str, Callable[[], float]] | None = None,
                ceiling: MatvecCeiling | None = None) -> dict:
    """Best tokens/s of each mode and of transformers, and of each of `others` (a run
    returning its tokens/s), the runs alternating so that a busy moment of a shared machine
    falls on all of them. With a ceiling: "MODE of limit", the best over the repeats of a
    run's bytes read per second over the ceiling read beside it (the higher reading, just
    before or just after), and "readings", every ceiling reading."""
    others = others or {}
    if name.startswith("embedded:"):
        spec, reference, ours, prompt = same_real_weights(name, device, dtype, prompt_len, weights)
    else:
        spec, reference, ours, prompt = same_weights(name, device, dtype, prompt_len)
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
    rates = {name: [] for name in [*modes, *others]}
    beside = {mode: [] for mode in modes}  # the ceiling at each of a mode's runs
    readings = []
    reference_s = []
    for _ in range(repeats):
        for mode in modes:
            before = ceiling.read() if ceiling else 0.0
            rates[mode].append(run_ours(mode))
            after = ceiling.read() if ceiling else 0.0
            beside[mode].append(max(before, after))
            readings += [before, after]
        for other, run in others.items():
            rates[other].append(run())
        reference_s.append(timed(run_reference, device))
    result = {name: max(values) for name, values in rates.items()}
    result["transformers"] = new_tokens / min(reference_s)
    result["step_bytes"] = decode_step_bytes(ours, prompt, new_tokens)
    if ceiling:
        for mode in modes:
            result[f"{mode} of limit"] = max(rate * result["step_bytes"] / limit
                                             for rate, limit in zip(rates[mode], beside[mode]))
        result["readings"] = readings
    return result


def print_low_bit_table(args, modes: list[str], threads: int) -> None:
    """--weights native: each embedded model low-bit and expanded, llama.cpp, and memory."""
    print("low-bit (native) against the same file expanded to floats (dequantize) and llama.cpp; memory (peak RSS "
          "of a fresh process, against the file plus the KV cache): what the weights add once the tokenizer is "
          "built, and what the whole load adds (header and tokenizer too)")
    columns = [f"low-bit {m}" for m in modes] + [f"expanded {m}" for m in modes] + ["llama.cpp"] + \
        [f"low-bit {m}/llama" for m in modes] + ["MB file+KV", "MB low-bit", "low-bit/(file+KV)",
                                                 "MB whole load", "whole/(file+KV)", "MB expanded",
                                                 "tensors/(file+KV)"]
    print(f"{'model':<24}" + "".join(f"{column:>19}" for column in columns), flush=True)
    for name in args.models:
        if not name.startswith("embedded:"):
            print(f"{name}: --weights native applies to the embedded GGUF models only", flush=True)
            continue
        llama_run = llama_cpp_run(name, threads, args.prompt_tokens, args.new_tokens)
        native = bench_model(name, modes, args.device, DTYPES[args.dtype], args.prompt_tokens, args.new_tokens,
                             args.repeats, "native", {"llama.cpp": llama_run} if llama_run else None)
        llama = native.get("llama.cpp")
        expanded = bench_model(name, modes, args.device, DTYPES[args.dtype], args.prompt_tokens, args.new_tokens,
                               args.repeats, "dequantize")
        tokens = args.prompt_tokens + args.new_tokens
        memory = {weights: resident_weights(name, weights, args.dtype, threads, tokens)
                  for weights in ("native", "dequantize")}
        limit = memory["native"]["file"] + memory["native"]["kv"]
        cells = [f"{native[m]:.1f}" for m in modes] + [f"{expanded[m]:.1f}" for m in modes]
        cells += [f"{llama:.1f}" if llama else "-"]
        cells += [f"{native[m] / llama:.2f}x" if llama else "-" for m in modes]
        low = memory["native"]
        cells += [f"{limit / 1e6:.0f}", f"{low['weights'] / 1e6:.0f}", f"{low['weights'] / limit:.2f}x",
                  f"{low['whole'] / 1e6:.0f}", f"{low['whole'] / limit:.2f}x",
                  f"{memory['dequantize']['weights'] / 1e6:.0f}", f"{(low['held'] + low['kv']) / limit:.2f}x"]
        print(f"{name:<24}" + "".join(f"{cell:>19}" for cell in cells), flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--resident"]:  # the child process of resident_weights
        name, weights, dtype, threads, tokens = sys.argv[2:7]
        measure_resident(name, weights, dtype, int(threads), int(tokens))
        return
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
    parser.add_argument("--weights", choices=("dequantize", "native"), default="dequantize",
                        help="embedded GGUF models: dequantize (the same float weights as transformers) or native: "
                             "low-bit beside expanded and llama.cpp, with memory")
    args = parser.parse_args()
    if args.quick:
        args.new_tokens, args.repeats = 16, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    threads = torch.get_num_threads()
    print(f"device {args.device}, {args.dtype}, batch 1, prompt {args.prompt_tokens}, {args.new_tokens} new tokens, "
          f"torch {torch.__version__}, transformers {transformers.__version__}, {threads} threads")
    if args.weights == "native":
        print_low_bit_table(args, args.mode, threads)
        return
    from app.model import cpu_kernels

    cpu_kernels.unavailable()  # loaded before the ceiling is measured: it takes the faster product
    ceiling = MatvecCeiling(args.device)
    print("of limit: a run's bytes per second over the read bandwidth of a 256 MiB float32 matrix-vector product "
          "(the fastest of torch's and our kernel's in either layout), read just before and after that run; "
          "best of the repeats. GB/s: the range of those readings")
    columns = [f"{mode} tok/s" for mode in args.mode] + ["transformers", "llama.cpp"] + \
        [f"{mode}/tf" for mode in args.mode] + [f"{mode}/llama" for mode in args.mode] + \
        [f"{mode} of limit" for mode in args.mode] + ["GB/s"]
    print(f"{'model':<24}" + "".join(f"{column:>15}" for column in columns) + f"{'MB/step':>10}")
    for name in args.models:
        llama_run = llama_cpp_run(name, threads, args.prompt_tokens, args.new_tokens) if args.device == "cpu" else None
        result = bench_model(name, args.mode, args.device, DTYPES[args.dtype], args.prompt_tokens, args.new_tokens,
                             args.repeats, others={"llama.cpp": llama_run} if llama_run else None, ceiling=ceiling)
        llama = result.get("llama.cpp")
        cells = [f"{result[mode]:.1f}" for mode in args.mode]
        cells += [f"{result['transformers']:.1f}", f"{llama:.1f}" if llama else "-"]
        cells += [f"{result[mode] / result['transformers']:.2f}x" for mode in args.mode]
        cells += [f"{result[mode] / llama:.2f}x" if llama else "-" for mode in args.mode]
        cells += [f"{result[f'{mode} of limit']:.2f}" for mode in args.mode]
        cells.append(f"{min(result['readings']) / 1e9:.0f}-{max(result['readings']) / 1e9:.0f}")
        print(f"{name:<24}" + "".join(f"{cell:>15}" for cell in cells) + f"{result['step_bytes'] / 1e6:>10.0f}",
              flush=True)


if __name__ == "__main__":
    main()
