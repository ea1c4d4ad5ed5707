"""Tiny random transformers models written with save_pretrained: the reference side of
every parity test."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def save_reference(config: dict, directory: Path, seed: int = 0, shard_bytes: str | None = None):
    """Build transformers' model for `config`, perturb every weight (so norms are not
    identities and biases not zero), save it as safetensors, return it in eval mode."""
    torch.manual_seed(seed)
    hf_config = transformers.AutoConfig.for_model(**config)
    hf_config._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(hf_config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    kwargs = {"max_shard_size": shard_bytes} if shard_bytes else {}
    model.save_pretrained(directory, safe_serialization=True, **kwargs)
    return model.eval()


def reference_logits(model, input_ids):
    with torch.no_grad():
        return model(input_ids=input_ids, use_cache=False).logits
