"""GGUF files the tests write: a random model of a transformers config, stored as llama.cpp
names its tensors and header fields, each tensor in the format the test chooses; and a fast
run of such a file kept low-bit."""

from __future__ import annotations

from typing import Callable

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter

from app.model.build import build_model
from app.spec.hf import spec_from_hf_config
from app.weights.gguf_names import gguf_name

# (GGUF tensor name, float values, a seed of its own) -> (raw blocks, their format), or None
# to store the tensor as float32
Encoder = Callable[[str, np.ndarray, int], "tuple[np.ndarray, GGMLQuantizationType] | None"]


def write_tiny_gguf(path, config: dict, arch: str, encode: Encoder) -> None:
    """The model build_model makes of `config` with seed 0, written to path as GGUF `arch`
    (a tied output head is not written: llama.cpp reads the embedding's)."""
    model = build_model(spec_from_hf_config(config), seed=0)
    writer = GGUFWriter(str(path), arch)
    write_header(writer, config)
    for seed, (name, tensor) in enumerate(model.state_dict().items()):
        if name == "lm_head.weight" and config["tie_word_embeddings"]:
            continue
        theirs = gguf_name(name)
        values = tensor.detach().float().numpy()
        encoded = encode(theirs, values, seed)
        if encoded is None:
            writer.add_tensor(theirs, values)
        else:
            writer.add_tensor(theirs, encoded[0], raw_dtype=encoded[1])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_header(writer: GGUFWriter, config: dict, sized_by_tensors: bool = False) -> None:
    """The header fields llama.cpp writes for a transformers config. sized_by_tensors: leave
    out the ones the tensors' shapes also give (the feed-forward and expert widths, the
    expert count), as some files do."""
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    if not sized_by_tensors:
        writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    if "head_dim" in config:
        writer.add_key_length(config["head_dim"])
        writer.add_value_length(config["head_dim"])
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    if "num_experts" in config:
        writer.add_expert_used_count(config["num_experts_per_tok"])
        if not sized_by_tensors:
            writer.add_expert_count(config["num_experts"])
            writer.add_expert_feed_forward_length(config["moe_intermediate_size"])


def tail(gguf_tensor_name: str) -> str:
    """What a tensor is within its block: "attn_v" of "blk.3.attn_v.weight"."""
    return gguf_tensor_name.split(".")[-2]


def fast_low_bit_decode_steps(path, num_layers: int) -> tuple:
    """(session, decode steps) of a 6-token fast-mode run of the file loaded low-bit, checked
    to have compiled the whole step (nothing runs eagerly) with every layer timed."""
    from app.runtime.session import RunConfig, Session

    session = Session.from_source(str(path), device="cpu")
    assert session.weights == "low-bit"
    snapshot = session.run(RunConfig(max_new_tokens=6, stop_at_eos=False, mode="fast"))
    assert snapshot.run["mode"] == "fast"
    assert any("compiled" in note for note in snapshot.notes)
    assert not any("eagerly" in note for note in snapshot.notes), snapshot.notes
    decode = [step for step in snapshot.steps if step.phase == "decode"]
    assert decode and all(len(step.layer_ms) == num_layers for step in decode)
    return session, decode
