"""A GGUF file's metadata as the model it describes: the `{general.architecture}.*` fields
rewritten as the Hugging Face config.json of the same model, which app/spec/hf turns into
an ArchSpec. Going through the config keeps one reading of every model's numbers; what
llama.cpp leaves out of the metadata (Gemma 3's window pattern, Qwen3 MoE's routing) is
filled in here from the published releases.
"""

from __future__ import annotations

import numpy as np

from ..spec import ArchSpec, SpecError
from ..spec.hf import spec_from_hf_config
from .errors import WeightsError
from .gguf_reader import GGUFFile

# general.architecture -> the Hugging Face model_type whose converter reads the config.
GGUF_ARCHITECTURES = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "qwen3moe": "qwen3_moe",
                      "gemma3": "gemma3_text"}


def _float32(value) -> float:
    """GGUF keeps float32: 1e-6 comes back as 9.99999997e-07. The shortest decimal that
    reads back as the same float32 is the number the published config wrote."""
    return float(str(np.float32(value)))


def _uniform(file: GGUFFile, key: str, default=...):
    value = file.field(key, default, kind=(int, np.integer, np.ndarray, list))
    if isinstance(value, (np.ndarray, list)):  # some files list a value per layer
        if isinstance(value, list) or value.dtype.kind not in "iu":
            raise WeightsError(f"{file.path}: metadata field {key!r} is an array of non-integers; expected an "
                               "integer or one integer per layer")
        values = {int(v) for v in value}
        if len(values) != 1:
            raise WeightsError(f"{file.path}: metadata field {key!r} differs between layers ({sorted(values)}); "
                               "only a single value per model is supported")
        return values.pop()
    return int(value)


def hf_config_from_gguf(file: GGUFFile) -> dict:
    """The config.json that describes the same model as the file's metadata."""
    arch = file.field("general.architecture", kind=str)
    parts = file.field("split.count", 1, kind=(int, np.integer))
    if parts > 1:
        part = file.field("split.no", 0, kind=(int, np.integer)) + 1
        raise WeightsError(f"{file.path}: part {part} of a GGUF split into {parts} files; merge them into one "
                           "first (llama.cpp: llama-gguf-split --merge FIRST-PART.gguf MERGED.gguf)")
    if arch not in GGUF_ARCHITECTURES:
        raise WeightsError(f"{file.path}: metadata field 'general.architecture' is {arch!r}; supported GGUF "
                           f"architectures: {', '.join(GGUF_ARCHITECTURES)}")
    if "rope_freqs.weight" in file.tensors:
        raise WeightsError(f"{file.path}: tensor rope_freqs.weight (per-frequency RoPE factors, Llama 3.1 style) "
                           "is not supported")
    key = lambda name: f"{arch}.{name}"  # noqa: E731
    heads = _uniform(file, key("attention.head_count"))
    d_model = _uniform(file, key("embedding_length"))
    config = {
        "model_type": GGUF_ARCHITECTURES[arch],
        "vocab_size": file.tensors["token_embd.weight"].shape[0] if "token_embd.weight" in file.tensors else
        _uniform(file, key("vocab_size")),
        "hidden_size": d_model,
        "num_hidden_layers": _uniform(file, key("block_count")),
        "intermediate_size": _uniform(file, key("feed_forward_length"), 0 if arch == "qwen3moe" else ...),
        "num_attention_heads": heads,
        "num_key_value_heads": _uniform(file, key("attention.head_count_kv"), heads),
        "head_dim": _uniform(file, key("attention.key_length"), 0) or
        _uniform(file, key("rope.dimension_count"), 0) or d_model // heads,
        "max_position_embeddings": _uniform(file, key("context_length"), 0),
        "rms_norm_eps": _float32(file.field(key("attention.layer_norm_rms_epsilon"), kind=(float, np.floating))),
        "rope_theta": _float32(file.field(key("rope.freq_base"), 10000.0, kind=(float, np.floating))),
        "tie_word_embeddings": "output.weight" not in file.tensors,
    }
    scaling = file.field(key("rope.scaling.type"), "none", kind=str)
    if scaling not in ("none", ""):
        config["rope_scaling"] = {"rope_type": scaling,
                                  "factor": _float32(file.field(key("rope.scaling.factor"), kind=(float, np.floating)))}
        original = _uniform(file, key("rope.scaling.original_context_length"), 0)
        if original:
            config["rope_scaling"]["original_max_position_embeddings"] = original
    if arch == "llama":
        config |= {"hidden_act": "silu", "attention_bias": "blk.0.attn_q.bias" in file.tensors, "mlp_bias": False}
    elif arch == "qwen3":
        config |= {"attention_bias": "blk.0.attn_q.bias" in file.tensors}
    # qwen2 needs nothing more: its q/k/v biases are part of the architecture, not the config.
    elif arch == "qwen3moe":
        # Every layer routed (llama.cpp has no dense-layer list for it) and the chosen
        # experts' weights renormalized to sum to one, as in every Qwen3 MoE release. The
        # stacked expert tensor [experts, width, d] says what a missing field would.
        experts = file.tensors.get("blk.0.ffn_gate_exps.weight")
        count, width = (experts.shape[0], experts.shape[1]) if experts is not None else (..., ...)
        config |= {
            "attention_bias": "blk.0.attn_q.bias" in file.tensors,
            "num_experts": _uniform(file, key("expert_count"), count),
            "num_experts_per_tok": _uniform(file, key("expert_used_count")),
            "moe_intermediate_size": _uniform(file, key("expert_feed_forward_length"), width),
            "norm_topk_prob": True, "decoder_sparse_step": 1, "mlp_only_layers": [],
        }
        config["intermediate_size"] = config["intermediate_size"] or config["moe_intermediate_size"]  # unused
    elif arch == "gemma3":
        config |= {
            # llama.cpp does not store these: every Gemma 3 has five local layers per global
            # one, local RoPE at theta 10k, and scales queries by head_dim ** -0.5 -- except
            # the 27B (62 layers), which scales by (d_model / heads) ** -0.5.
            "sliding_window": _uniform(file, key("attention.sliding_window")),
            "sliding_window_pattern": 6,
            "rope_local_base_freq": 10_000.0,
            "query_pre_attn_scalar": d_model // heads if config["num_hidden_layers"] == 62 else config["head_dim"],
            "hidden_activation": "gelu_pytorch_tanh",
            "final_logit_softcapping": file.field(key("final_logit_softcapping"), None, kind=(float, np.floating)),
            "attn_logit_softcapping": file.field(key("attn_logit_softcapping"), None, kind=(float, np.floating)),
        }
    return config


def spec_from_gguf(file: GGUFFile) -> ArchSpec:
    config = hf_config_from_gguf(file)
    name = file.field("general.name", file.path.stem, kind=str)
    try:
        return spec_from_hf_config(config, name=name)
    except SpecError as error:
        raise WeightsError(f"{file.path}: metadata describes no valid model: {error}") from None
