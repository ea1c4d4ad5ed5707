"""Checkpoint names of DeepSeek V4 (deepseek_v4). transformers' save_pretrained writes DeepSeek's
own published names (its conversion mapping, reversed) under a model.layers.N. prefix: attn.wq_a,
attn.wkv, attn.compressor.wkv / wgate / ape, attn.indexer.compressor.*, hc_attn_fn, ffn.gate
(with tid2eid on the hash-routed layers and its correction bias as gate.bias on the others),
each expert's w1 / w3 / w2 (gate, up, down) on its own; head.weight beside model.embed_tokens.
"""

from __future__ import annotations

from ..spec import ArchSpec
from ..spec.ffn import MoE
from .names_llama import NameMap

# our path inside a layer's attention -> the checkpoint's (longest match renamed)
ATTENTION = {
    "sinks": "attn_sink", "q_a_proj": "wq_a", "q_norm": "q_norm", "q_b_proj": "wq_b", "kv_proj": "wkv",
    "kv_norm": "norm", "o_a_proj": "wo_a", "o_b_proj": "wo_b",
    "compressor.kv_proj": "compressor.wkv", "compressor.gate_proj": "compressor.wgate",
    "compressor.position_bias": "compressor.ape", "compressor.norm": "compressor.norm",
    "indexer.kv_proj": "indexer.compressor.wkv", "indexer.gate_proj": "indexer.compressor.wgate",
    "indexer.position_bias": "indexer.compressor.ape", "indexer.norm": "indexer.compressor.norm",
    "index_q_proj": "indexer.wq_b", "index_weights": "indexer.weights_proj",
}
LAYER = {"pre_mixer_norm": "attn_norm", "pre_ffn_norm": "ffn_norm", "token_experts": "ffn.gate.tid2eid",
         "mixer_streams.fn": "hc_attn_fn", "mixer_streams.base": "hc_attn_base", "mixer_streams.scale": "hc_attn_scale",
         "ffn_streams.fn": "hc_ffn_fn", "ffn_streams.base": "hc_ffn_base", "ffn_streams.scale": "hc_ffn_scale"}
FEED_FORWARD = {"router.proj": "gate", "router.score_correction_bias": "gate.bias",
                "shared.gate_proj": "shared_experts.w1", "shared.up_proj": "shared_experts.w3",
                "shared.down_proj": "shared_experts.w2"}
EXPERTS = {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2"}
MODEL = {"embed_tokens.weight": "model.embed_tokens.weight", "final_norm.weight": "model.norm.weight",
         "lm_head.weight": "head.weight", "hyper_head.fn": "model.hc_head.hc_fn",
         "hyper_head.base": "model.hc_head.hc_base", "hyper_head.scale": "model.hc_head.hc_scale"}


def _rename(rest: str, names: dict[str, str]) -> str | None:
    for ours in sorted(names, key=len, reverse=True):
        if rest == ours or rest.startswith(ours + "."):
            return names[ours] + rest[len(ours):]
    return None


def buffers(spec: ArchSpec) -> list[str]:
    """Our buffers the checkpoint holds: the learned routers' correction biases and the hash
    layers' token-to-experts tables."""
    names = []
    for i, layer in enumerate(spec.layers):
        if isinstance(layer.ffn, MoE):
            if layer.ffn.router.score_correction_bias:
                names.append(f"layers.{i}.ffn.router.score_correction_bias")
            if layer.ffn.router.hash_routed:
                names.append(f"layers.{i}.token_experts")
    return names


def deepseek_v4(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for name in list(our_names) + [b for b in buffers(spec) if b not in our_names]:
        if name in MODEL:
            mapping[name] = (MODEL[name], None)
            continue
        _, index, rest = name.split(".", 2)
        prefix = f"model.layers.{index}."
        group, _, inner = rest.partition(".")
        if group == "mixer":
            mapping[name] = (prefix + "attn." + (_rename(inner, ATTENTION) or inner), None)
        elif group == "ffn" and inner.startswith("experts."):
            leaf = EXPERTS[inner[len("experts."):]]
            count = spec.layers[int(index)].ffn.num_experts
            mapping[name] = (tuple(f"{prefix}ffn.experts.{e}.{leaf}.weight" for e in range(count)), None)
        elif group == "ffn":
            mapping[name] = (prefix + "ffn." + (_rename(inner, FEED_FORWARD) or inner), None)
        else:
            mapping[name] = (prefix + (_rename(rest, LAYER) or rest), None)
    return mapping


NAME_MAPS = {"deepseek_v4": deepseek_v4}
