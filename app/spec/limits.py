"""Upper bounds on every size a config, spec or GGUF file may state, checked before
anything is built from it.

A config is untrusted input: `num_hidden_layers: 1000000000` would otherwise make a list
of a billion layers before any rule looked at it. Each bound is far above every published
model, so it only ever stops a file that no real model could have written:

- layers 10**4: the deepest published decoders have 126 (Llama 3.1 405B) and 128;
- widths 2**20 (1,048,576): hidden, feed-forward, head and latent sizes; the widest
  published feed-forward is 53,248 (Llama 3.1 405B), the widest hidden size 18,432;
- vocabulary 2**24 (16.8M rows): the largest published vocabularies hold 262k tokens;
- heads and groups 2**14: DeepSeek V3 has 128 query heads;
- experts 2**14: the most experts per layer published are 512 (Qwen3-Next);
- positions 2**28 (268M): context lengths, windows and position tables; Llama 4 Scout
  publishes 10M.
Any other integer is bounded at 2**31 - 1 and every real number must be finite.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .errors import Problem

MAX_LAYERS = 10_000
MAX_WIDTH = 2**20
MAX_VOCABULARY = 2**24
MAX_HEADS = 2**14
MAX_EXPERTS = 2**14
MAX_POSITIONS = 2**28
MAX_OTHER_INTEGER = 2**31 - 1
# Nesting of JSON documents and GGUF arrays: a spec is about six objects deep, a GGUF
# array holds scalars or strings (one level); anything past this is not a model file.
MAX_NESTING = 64

_KINDS = {
    "a layer count": (MAX_LAYERS, (
        "num_layers", "num_hidden_layers", "n_layer", "block_count", "mtp_layers", "num_nextn_predict_layers",
        "num_global_layers", "num_dense_layers", "num_blocks")),
    "a vocabulary size": (MAX_VOCABULARY, (
        "vocab_size", "extra_token_rows", "image_token_id", "image_token_index", "vocab_size_per_layer_input")),
    "a width": (MAX_WIDTH, (
        "d_model", "hidden_size", "n_embd", "embedding_length", "intermediate_size", "full_intermediate_size",
        "moe_intermediate_size", "shared_expert_intermediate_size", "feed_forward_length", "n_inner",
        "head_dim", "key_head_dim", "value_head_dim", "v_head_dim", "qk_nope_head_dim", "qk_rope_head_dim",
        "kv_lora_rank", "q_lora_rank", "rotary_dim", "state_size", "laurel_rank", "width", "num_channels",
        "image_size", "patch_size", "block_size", "chunk_size", "conv_kernel", "hidden_size_per_layer_input",
        "linear_key_head_dim", "linear_value_head_dim", "linear_conv_kernel_dim", "ssm_state_size",
        "mamba_head_dim", "mamba_d_conv", "conv_L_cache", "index_head_dim", "mamba_chunk_size",
        "expert_feed_forward_length", "key_length", "value_length", "dimension_count", "channels", "kernel",
        "conv_dim", "block_ff_dim", "block_multiple_of", "latent_size", "moe_latent_size", "embedding_dim",
        "qk_head_dim", "ffn_round_up_to_multiple_of", "ffn_hidden_size", "expert_ffn_hidden_size",
        "router_hidden_size", "cca_time0", "cca_time1")),
    "a head or group count": (MAX_HEADS, (
        "num_heads", "num_kv_heads", "num_key_heads", "num_value_heads", "num_groups", "num_inputs",
        "num_attention_heads", "num_key_value_heads", "n_head", "head_count", "head_count_kv",
        "linear_num_key_heads", "linear_num_value_heads", "mamba_num_heads", "n_groups", "index_n_heads",
        "altup_num_inputs", "num_attention_heads_per_layer",
        # LongCat-Flash-Lite's n-gram orders and hashed splits (4 and 4 published)
        "emb_neighbor_num", "emb_split_num", "orders", "splits")),
    "an expert count": (MAX_EXPERTS, (
        "num_experts", "top_k", "top_k_groups", "num_local_experts", "n_routed_experts", "num_experts_per_tok",
        "n_group", "topk_group", "n_shared_experts", "expert_count", "expert_used_count", "index_topk",
        "num_shared_experts", "top_k_experts", "zero_expert_num", "zero_experts", "moe_topk")),
    "a position count": (MAX_POSITIONS, (
        "max_context", "learned_positions", "sliding_window", "original_max_position", "temperature_floor",
        "query_position_floor", "tokens_per_image", "max_tiles", "aspect_ratios", "max_position_embeddings",
        "n_positions", "original_max_position_embeddings", "context_length", "floor_scale",
        "attn_temperature_floor", "mm_tokens_per_image")),
}
_LIMITS = {name: (limit, kind) for kind, (limit, names) in _KINDS.items() for name in names}


def limit_of(name: str) -> tuple[int, str]:
    """(the largest value allowed, what kind of size it is) for a field or config key;
    a dotted GGUF key ("llama.attention.head_count") is looked up by its last part."""
    return _LIMITS.get(name.rsplit(".", 1)[-1], (MAX_OTHER_INTEGER, "an integer field"))


def too_large(name: str, value: int) -> str:
    """Why an integer is out of bounds, or "" when it is not."""
    limit, kind = limit_of(name)
    if abs(value) <= limit:
        return ""
    return f"{_shown(value)} exceeds the bound of {limit:,} on {kind}"


def number_problem(value: Any) -> str:
    """Why a real number is unusable (not finite), or ""."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, found {value!r}"
    return ""


def size_problems(spec) -> list[Problem]:
    """Every integer out of its bound and every real number not finite, anywhere in the
    spec: checked before any rule does arithmetic on them or anything is built."""
    problems: list[Problem] = []
    if len(spec.layers) > MAX_LAYERS:
        problems.append(Problem("layers", f"{len(spec.layers):,} layers exceed the limit of {MAX_LAYERS:,}"))
        return problems
    _walk(spec, "", problems)
    return problems


def _walk(value: Any, path: str, problems: list[Problem], name: str = "") -> None:
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _walk(getattr(value, f.name), f"{path}.{f.name}" if path else f.name, problems, f.name)
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", problems, name)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        message = too_large(name, value)
        if message:
            problems.append(Problem(path, message))
    elif isinstance(value, float):
        message = number_problem(value)
        if message:
            problems.append(Problem(path, message))


def nested_too_deeply(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether a decoded JSON value nests deeper than `limit`, found without recursion
    (a 100,000-deep list would exhaust Python's stack in any recursive reader)."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return False


def brief(value: Any) -> str:
    """A value for an error message, at most about 60 characters, whatever its size."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _shown(value)
    return f"{value!r:.60}"


def _shown(value: int) -> str:
    """A huge integer in a few characters: printing 10**400 whole helps nobody."""
    if abs(value) < 10**15:
        return f"{value:,}"
    return f"{'-' if value < 0 else ''}about 2**{abs(value).bit_length() - 1}"
