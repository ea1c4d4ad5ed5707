"""Loading the embedded GGUF checkpoints, ArchScope vs transformers: time and peak memory.

Each load runs in a fresh Python process, so its peak RSS is its own. The timed part is
the load itself -- model and tokenizer ready to generate, from the same GGUF file -- after
the libraries are imported (import time is printed apart). Ratios are ours / transformers
(< 1 is better).

    .venv/bin/python bench/load.py [--models smollm2-135m gemma3-270m] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, os, resource, sys, time
kind, name = sys.argv[1], sys.argv[2]

def rss_bytes():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024

start = time.perf_counter()
import torch
from app.weights.embedded import embedded_path
path = str(embedded_path(name))  # assembles Gemma into the cache once, outside the timing
if kind == "ours":
    from app.weights import load_pretrained
else:
    from transformers import AutoModelForCausalLM, AutoTokenizer
imported = time.perf_counter()
rss_after_import = rss_bytes()
if kind == "ours":
    loaded = load_pretrained(path, dtype=torch.float32)
    assert loaded.tokenizer is not None
else:
    folder, file = os.path.split(path)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "load_s": done - imported, "peak_rss": rss_bytes(),
                  "rss_after_import": rss_after_import}))
"""


def measure(kind: str, name: str) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, kind, name], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{kind} {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest counts")
    args = parser.parse_args()
    mib = 1 << 20
    print(f"{'model':<14} {'loader':<13} {'import s':>9} {'load s':>8} {'peak RSS MiB':>13} {'load RSS MiB':>13}")
    for name in args.models:
        rows = {}
        for kind in ("ours", "transformers"):  # alternate, keep each one's fastest run
            runs = [measure(kind, name) for _ in range(args.repeat)]
            rows[kind] = min(runs, key=lambda run: run["load_s"])
            row = rows[kind]
            print(f"{name:<14} {kind:<13} {row['import_s']:>9.2f} {row['load_s']:>8.2f} "
                  f"{row['peak_rss'] / mib:>13.0f} {(row['peak_rss'] - row['rss_after_import']) / mib:>13.0f}")
        ours, theirs = rows["ours"], rows["transformers"]
        print(f"{name:<14} {'ratio':<13} {'':>9} {ours['load_s'] / theirs['load_s']:>8.2f} "
              f"{ours['peak_rss'] / theirs['peak_rss']:>13.2f}")


if __name__ == "__main__":
    main()
