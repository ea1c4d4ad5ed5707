"""Cohere2 MoE (Command A+, transformers' cohere2_moe) against transformers: tiny random
checkpoints written here load through load_pretrained and give the same logits in one
forward, token by token through the cache, and prefill then decode.

The family's parts, each exercised and each with a check below that breaking it moves the
logits past the tolerance: the parallel block (attention and the feed-forward on one norm
of the input), sliding layers under interleaved RoPE beside global layers without
positions, the routed experts (top-k of the logits, weighed by sigmoids renormalised or
not, or by a softmax over the chosen) and the shared experts joined by "average" (the sum
halved) or "sum", a dense prefix whose global layers keep RoPE (prefix pattern 1), and
LayerNorm or RMSNorm. The sequences run past the window, so sliding layers drop keys.

- command-a-plus: Command A+'s form as the public validators of its text_config require
  (sigmoid, norm_topk_prob, shared experts averaged, no dense prefix, LayerNorm, tied
  embeddings, three sliding layers then a global one), at tiny widths;
- north: North Mini Code's form (a dense first layer, global with RoPE; RMSNorm; sigmoid
  without renormalising; no shared expert; a global layer first in every four; untied);
- softmax-sum: softmax routing, one shared expert summed, two dense layers under their own
  pattern (the global one without positions), the older sliding_window_pattern key and
  attention biases.
"""

from dataclasses import replace

import pytest
import torch

from app.spec.ffn import MLP, MoE

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    TOLERANCE,
    assert_cache_holds_what_the_analysis_counts,
    assert_every_checkpoint_tensor_is_used,
    assert_prefill_then_decode_matches,
    reference_logits,
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 6
_S, _F = "sliding_attention", "full_attention"
ROPE = {"rope_type": "default", "rope_theta": 50_000.0}

TINY = {
    "command-a-plus": dict(model_type="cohere2_moe", vocab_size=97, hidden_size=48, num_hidden_layers=5,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=12, intermediate_size=20,
                           num_experts=6, num_experts_per_tok=2, num_shared_experts=2,
                           shared_expert_combination_strategy="average", expert_selection_fn="sigmoid",
                           norm_topk_prob=True, first_k_dense_replace=0, layer_types=[_S, _S, _S, _F, _S],
                           sliding_window=4, logit_scale=0.25, rope_parameters=ROPE, tie_word_embeddings=True,
                           max_position_embeddings=64),
    "north": dict(model_type="cohere2_moe", vocab_size=89, hidden_size=32, num_hidden_layers=5,
                  num_attention_heads=4, num_key_value_heads=1, head_dim=16, intermediate_size=12,
                  prefix_dense_intermediate_size=40, first_k_dense_replace=1, prefix_dense_sliding_window_pattern=1,
                  num_experts=8, num_experts_per_tok=3, num_shared_experts=0, expert_selection_fn="sigmoid",
                  norm_topk_prob=False, layer_types=[_F, _S, _S, _S, _F], sliding_window=3, rms_norm_eps=1e-6,
                  layer_norm_eps=1e-5, logit_scale=1.0, rope_parameters=ROPE, tie_word_embeddings=False,
                  max_position_embeddings=64),
    "softmax-sum": dict(model_type="cohere2_moe", vocab_size=83, hidden_size=32, num_hidden_layers=6,
                        num_attention_heads=4, num_key_value_heads=4, head_dim=8, intermediate_size=16,
                        prefix_dense_intermediate_size=28, first_k_dense_replace=2,
                        prefix_dense_sliding_window_pattern=2, sliding_window_pattern=3, num_experts=5,
                        num_experts_per_tok=2, num_shared_experts=1, shared_expert_combination_strategy="sum",
                        expert_selection_fn="softmax", attention_bias=True, sliding_window=3,
                        layer_norm_eps=1e-6, logit_scale=0.5, rope_parameters={"rope_type": "default",
                                                                                  "rope_theta": 10_000.0},
                        tie_word_embeddings=True, max_position_embeddings=64),
}



def sharpen(reference, name):
    """Sharper attention and routing than transformers' initial weights give: positions and
    the router's weights then move the logits well past the tolerance when wrong."""
    for layer in reference.model.layers:
        layer.self_attn.q_proj.weight.mul_(3.0)
        layer.self_attn.k_proj.weight.mul_(3.0)
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None:
            gate.weight.mul_(5.0)


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint: the experts one by one (as transformers'
    save_pretrained writes them), the router, the shared experts, the dense prefix, the one
    norm per layer."""
    _, directory, config = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(directory)
    assert any(name.endswith("mlp.experts.0.gate_proj.weight") for name in stored)
    assert any(name.endswith("mlp.gate.weight") for name in stored)
    assert any(".mlp.shared_experts." in name for name in stored) == bool(config["num_shared_experts"])


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Sliding layers stop at their window, global ones keep every token."""
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def test_the_spec_holds_what_the_config_says(checkpoint, pair):
    _, _, config = checkpoint
    spec = pair[1].spec
    assert all(layer.parallel for layer in spec.layers)
    moe = [layer.ffn for layer in spec.layers if isinstance(layer.ffn, MoE)]
    dense = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MLP)]
    assert len(dense) == config.get("first_k_dense_replace", 0) and dense == list(range(len(dense)))
    router = moe[0].router
    assert router.scoring == config["expert_selection_fn"]
    assert router.normalize_top_k == (config.get("norm_topk_prob", True) or router.scoring == "softmax")
    shared = config["num_shared_experts"]
    assert (moe[0].shared is not None) == bool(shared)
    assert moe[0].output_scale == (0.5 if shared and config.get("shared_expert_combination_strategy") == "average"
                                   else 1.0)
    prefix_rope = config.get("prefix_dense_sliding_window_pattern", 1) == 1
    for i, layer in enumerate(spec.layers):
        attention = layer.mixer
        assert (attention.rope is not None) == (attention.is_local or (i in dense and prefix_rope))
        assert attention.rope is None or attention.rope.interleaved
    assert spec.layers[0].norm.kind == ("rmsnorm" if config.get("rms_norm_eps") else "layernorm")


def _drift(pair, spec) -> float:
    """How far a model of `spec` with the checkpoint's weights lands from the reference."""
    from app.model.build import build_model

    reference, ours, input_ids = pair
    model = build_model(spec)
    model.load_state_dict(ours.state_dict())
    with torch.no_grad():
        return (model(input_ids) - reference_logits(reference, input_ids)).abs().max().item()


def _router(spec):
    return next(layer.ffn for layer in spec.layers if isinstance(layer.ffn, MoE)).router


def _with_ffn(spec, change):
    return replace(spec, layers=tuple(replace(layer, ffn=change(layer.ffn)) if isinstance(layer.ffn, MoE) else layer
                                      for layer in spec.layers))


MUTATIONS = {
    # the shared and routed outputs summed where transformers halves them, or halved where it sums
    "shared combination": lambda spec: _with_ffn(spec, lambda moe: replace(moe, output_scale=1.5 - moe.output_scale))
    if any(isinstance(layer.ffn, MoE) and layer.ffn.shared is not None for layer in spec.layers) else None,
    # sigmoid routing: the chosen weights renormalised where transformers leaves them, or the reverse
    "renormalisation": lambda spec: _with_ffn(spec, lambda moe: replace(
        moe, router=replace(moe.router, normalize_top_k=not moe.router.normalize_top_k)))
    if _router(spec).scoring == "sigmoid" else None,
    # the chosen weighed by the other selection function (both renormalised)
    "selection function": lambda spec: _with_ffn(spec, lambda moe: replace(moe, router=replace(
        moe.router, scoring={"sigmoid": "softmax", "softmax": "sigmoid"}[moe.router.scoring], normalize_top_k=True))),
    # the dense prefix's global layers without the RoPE that prefix pattern 1 keeps on them
    "dense global rope": lambda spec: replace(spec, layers=tuple(
        replace(layer, mixer=replace(layer.mixer, rope=None)) if isinstance(layer.ffn, MLP) else layer
        for layer in spec.layers)) if any(isinstance(layer.ffn, MLP) and layer.mixer.rope is not None
                                          and not layer.mixer.is_local for layer in spec.layers) else None,
    # RoPE on the global MoE layers too, which transformers leaves without positions
    "global nope": lambda spec: replace(spec, layers=tuple(
        replace(layer, mixer=replace(layer.mixer, rope=next(l.mixer.rope for l in spec.layers if l.mixer.is_local)))
        if isinstance(layer.ffn, MoE) and not layer.mixer.is_local else layer for layer in spec.layers)),
    # the sliding layers' window dropped
    "sliding window": lambda spec: replace(spec, layers=tuple(
        replace(layer, mixer=replace(layer.mixer, sliding_window=0)) for layer in spec.layers)),
}


@pytest.mark.parametrize("part", sorted(MUTATIONS))
def test_each_distinctive_part_moves_the_logits(pair, part):
    """Break one part with the weights unchanged and the logits leave the reference's by far
    more than the tolerance: the parity above cannot pass with that part wrong."""
    spec = pair[1].spec
    mutated = MUTATIONS[part](spec)
    if mutated is None:
        pytest.skip(f"{part}: not in this config")
    drift = _drift(pair, mutated)
    assert drift > 20 * TOLERANCE, f"{part}: the logits moved only {drift}"


def test_a_serial_block_would_fail_the_tolerance(pair):
    """The same weights run as a serial block (the feed-forward reading the norm of the
    attention's residual sum) move the logits well past the tolerance."""
    import copy

    reference, ours, input_ids = pair
    serial = copy.deepcopy(ours)
    for block in serial.layers:
        block.layer = replace(block.layer, parallel=False)
        block.pre_ffn_norm = block.pre_mixer_norm
    with torch.no_grad():
        drift = (serial(input_ids) - reference_logits(reference, input_ids)).abs().max().item()
    assert drift > 20 * TOLERANCE


@pytest.mark.parametrize("name", sorted(TINY))
def test_the_config_converts_both_ways(name):
    """spec from the config and back: the config written builds the same spec, and
    transformers builds it with the parameters the analysis counts."""
    import transformers

    from app.spec.analysis import analyze
    from app.spec.hf import hf_config_from_spec, spec_from_hf_config

    spec = spec_from_hf_config(TINY[name])
    written = hf_config_from_spec(spec)
    assert spec_from_hf_config(written) == spec
    for config in (TINY[name], written):
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**config))
        assert analyze(spec).total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("key, value, expected", [
    ("expert_selection_fn", "sqrtsoftplus", "expert_selection_fn"),
    ("shared_expert_combination_strategy", "max", "shared_expert_combination_strategy"),
    ("mlp_layer_types", ["dense", "moe"], "mlp_layer_types"),
    ("layer_types", ["sliding_attention", "chunked"], "layer_types"),
])
def test_hostile_keys_are_refused_by_name(key, value, expected):
    from app.spec.errors import SpecError
    from app.spec.hf import spec_from_hf_config

    with pytest.raises(SpecError, match=expected):
        spec_from_hf_config(dict(TINY["command-a-plus"]) | {key: value})


def test_the_release_layout_loads(checkpoint, tmp_path):
    """Command A+'s release is a cohere2_vision model: the decoder under model.language_model.
    beside a vision tower and projector left unread, its config the text_config of the
    wrapper's. Its experts are read here in transformers 5's fused layout (gate_up_proj
    [E, 2I, d] and down_proj [E, d, I] per layer), the other form the loader accepts."""
    import json

    from safetensors.torch import load_file, save_file

    from app.weights import load_pretrained

    from .reference import assert_one_forward_matches

    reference, directory, config = checkpoint
    stored = load_file(directory / "model.safetensors")
    tensors = {}
    for name, tensor in stored.items():
        stem, expert, leaf = name.partition(".experts.")
        if expert and leaf.split(".")[0] != "0":
            continue  # gathered with expert 0 below
        if expert:
            count = config["num_experts"]
            stacked = {part: torch.stack([stored[f"{stem}.experts.{e}.{part}.weight"] for e in range(count)])
                       for part in ("gate_proj", "up_proj", "down_proj")}
            if leaf.startswith("0.gate_proj"):
                tensors[f"{stem}.experts.gate_up_proj"] = torch.cat([stacked["gate_proj"], stacked["up_proj"]], dim=1)
                tensors[f"{stem}.experts.down_proj"] = stacked["down_proj"]
            continue
        tensors[name] = tensor
    tensors = {"model.language_model." + name.removeprefix("model.") if name.startswith("model.") else name: tensor
               for name, tensor in tensors.items()}
    tensors["model.vision_tower.embeddings.patch_embedding.weight"] = torch.zeros(3, 2)
    tensors["model.multi_modal_projector.linear_1.weight"] = torch.zeros(2, 2)
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    text_config = json.loads((directory / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "cohere2_vision", "text_config": text_config,
                                                      "tie_word_embeddings": True,
                                                      "vision_config": {"model_type": "siglip_vision_model"}}))
    for extra in directory.iterdir():
        if extra.name not in ("config.json", "model.safetensors"):
            (tmp_path / extra.name).write_bytes(extra.read_bytes())
    assert any(name.endswith("experts.gate_up_proj") for name in tensors)
    ours = load_pretrained(tmp_path).model
    input_ids = torch.randint(0, config["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(2))
    assert_one_forward_matches(reference, ours, input_ids)
