"""Tiny random transformers models written with save_pretrained: the reference side of
every parity test."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def perturb(model) -> None:
    """Move every weight off its initial value, so norms are not identities and biases not
    zero; and draw the router's score-correction bias -- a buffer, left at zero otherwise --
    large enough to change which experts win (DeepSeek's e_score_correction_bias, LFM2-MoE's
    expert_bias), and Gemma 4's block-output scalars (layer_scalar, buffers at 1)."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
        for name, buffer in model.named_buffers():
            if name.endswith(("e_score_correction_bias", "feed_forward.expert_bias")):
                buffer.copy_(torch.randn_like(buffer) * 0.1)
            if name.endswith("layer_scalar"):  # Gemma 4's learned block-output scale, 1 at init
                buffer.copy_(1.0 + torch.rand_like(buffer))


def save_reference(config: dict, directory: Path, seed: int = 0, shard_bytes: str | None = None,
                   dtype=None):
    """Build transformers' model for `config`, perturb it, save it as safetensors (in
    `dtype` if given), return it in eval mode."""
    torch.manual_seed(seed)
    hf_config = transformers.AutoConfig.for_model(**config)
    hf_config._attn_implementation = "eager"
    hf_config._experts_implementation = "eager"  # MoE: its grouped_mm default wants aligned (not odd) widths
    # a multimodal config: its whole model, vision front-end included
    auto = transformers.AutoModelForImageTextToText if "vision_config" in config else transformers.AutoModelForCausalLM
    model = auto.from_config(hf_config)
    perturb(model)
    if dtype is not None:
        model = model.to(dtype)
    kwargs = {"max_shard_size": shard_bytes} if shard_bytes else {}
    model.save_pretrained(directory, safe_serialization=True, **kwargs)
    return model.eval()


def reference_pair(reference, directory: Path, vocab_size: int, seq_len: int):
    """(reference, our model loaded from its checkpoint, a batch of 2 random sequences)."""
    from app.weights import load_pretrained

    ours = load_pretrained(directory).model
    input_ids = torch.randint(0, vocab_size, (2, seq_len), generator=torch.Generator().manual_seed(1))
    return reference, ours, input_ids


def assert_cache_holds_what_the_analysis_counts(ours, input_ids, prefill: int) -> None:
    """A prompt of `prefill` tokens, then the rest one by one: before each step, every
    layer's cache holds the bytes the analysis predicts at that length. Returns the cache."""
    from app.spec.analysis import analyze

    batch, length = input_ids.shape
    rows = analyze(ours.spec).layers
    element = ours.embed_tokens.weight.element_size()
    cache = ours.new_cache(batch=batch, max_len=length)
    with torch.no_grad():
        ours(input_ids[:, :prefill], cache=cache)
        for seen in range(prefill, length):
            assert cache.layer_nbytes() == [batch * row.kv_bytes_at(seen, element) for row in rows]
            ours(input_ids[:, seen:seen + 1], cache=cache)
    return cache


def assert_every_checkpoint_tensor_is_used(directory: Path, extra_names=None) -> set[str]:
    """The name map of the model that `directory`'s config.json describes consumes the whole
    checkpoint there: nothing it holds is silently dropped, nothing it lacks is asked for.
    extra_names(spec): names loaded beside the parameters (a router's bias buffers). Returns
    the checkpoint's tensor names."""
    import json

    from safetensors import safe_open

    from app.model.build import construct
    from app.spec.hf import spec_from_hf_config
    from app.weights.name_maps import NAME_MAPS

    config = json.loads((directory / "config.json").read_text())
    spec = spec_from_hf_config(config)
    ours = [name for name, _ in construct(spec, "meta").named_parameters()]
    ours += extra_names(spec) if extra_names is not None else []
    used = set()
    for theirs, _ in NAME_MAPS[config["model_type"]](spec, ours).values():
        used.update(theirs if isinstance(theirs, tuple) else (theirs,))  # a tensor split or stacked
    with safe_open(directory / "model.safetensors", "pt") as file:
        stored = set(file.keys())
    assert stored - used == set()
    assert used - stored == set()
    return stored


def tiny_checkpoints(configs: dict, seq_len: int, sharpen=None):
    """The two module fixtures of a parity file over tiny configs: `checkpoint`, one per
    config (transformers' perturbed model saved as safetensors, its folder, the config), and
    `pair`, reference_pair on it. In the file: checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN).
    sharpen(reference, config name): weights to move further before saving (under no_grad),
    where transformers' initial values leave a feature too faint for the tolerance to see."""

    @pytest.fixture(scope="module", params=sorted(configs))
    def checkpoint(request, tmp_path_factory):
        directory = tmp_path_factory.mktemp(request.param)
        reference = save_reference(configs[request.param], directory)
        if sharpen is not None:
            with torch.no_grad():
                sharpen(reference, request.param)
            reference.save_pretrained(directory, safe_serialization=True)
        return reference, directory, configs[request.param]

    @pytest.fixture(scope="module")
    def pair(checkpoint):
        reference, directory, config = checkpoint
        return reference_pair(reference, directory, config["vocab_size"], seq_len)

    return checkpoint, pair


def reference_logits(model, input_ids):
    with torch.no_grad():
        return model(input_ids=input_ids, use_cache=False).logits


TOLERANCE = 1e-4  # float32 logits


def assert_one_forward_matches(reference, ours, input_ids):
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids), reference_logits(reference, input_ids), atol=TOLERANCE, rtol=0)


def assert_token_by_token_matches(reference, ours, input_ids):
    """Every token fed alone through the cache gives the logits of the full forward."""
    batch, length = input_ids.shape
    cache = ours.new_cache(batch=batch, max_len=length)
    with torch.no_grad():
        steps = [ours(input_ids[:, i:i + 1], cache=cache) for i in range(length)]
    torch.testing.assert_close(torch.cat(steps, dim=1), reference_logits(reference, input_ids), atol=TOLERANCE,
                               rtol=0)


def assert_prefill_then_decode_matches(reference, ours, input_ids, prefill: int):
    """A prompt of `prefill` tokens in one forward, then the rest one by one."""
    batch, length = input_ids.shape
    cache = ours.new_cache(batch=batch, max_len=length)
    with torch.no_grad():
        first = ours(input_ids[:, :prefill], cache=cache)
        rest = [ours(input_ids[:, i:i + 1], cache=cache) for i in range(prefill, length)]
    torch.testing.assert_close(torch.cat([first, *rest], dim=1), reference_logits(reference, input_ids),
                               atol=TOLERANCE, rtol=0)


# The three checks every parity module runs on its `pair` fixture (reference, ours, input ids,
# then anything else); a module imports them by name, and sets PREFILL for the third.
def test_one_forward_matches(pair):
    assert_one_forward_matches(*pair[:3])


def test_token_by_token_through_the_cache_matches(pair):
    assert_token_by_token_matches(*pair[:3])


def test_prefill_then_decode_matches(pair, request):
    assert_prefill_then_decode_matches(*pair[:3], prefill=request.module.PREFILL)
