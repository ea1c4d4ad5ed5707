"""A long prompt's prefill goes through the cache in chunks: the logits are those of a
one-shot prefill, and a cancel is looked at inside every chunk."""

from __future__ import annotations

import pytest
import torch

from app.model import build_model
from app.runtime import prefill
from app.runtime.prefill import prefill_all_but_last_chunk
from app.runtime.probe import CancelCheck, Cancelled
from app.runtime.session import RunConfig, Session
from app.spec import catalog

PROMPT_TOKENS = 300
CHUNK = 48  # under the explore windows (64 for Gemma 3, 16 for MiMo) and across them


@pytest.mark.parametrize("name", [
    "llama3-8b",  # dense, full cache
    "gemma3-27b",  # 5:1 sliding-window (64 tokens) and global layers
    "qwen3-next-80b-a3b",  # Gated DeltaNet recurrent state beside gated attention
    "nemotron-3-nano-30b-a3b",  # Mamba-2
    "deepseek-v3",  # MLA's latent cache, MoE
])
def test_chunked_prefill_gives_the_one_shot_logits(monkeypatch, name):
    monkeypatch.setitem(prefill.PREFILL_CHUNK_TOKENS, "cpu", CHUNK)
    spec = catalog.get(name, "explore")
    model = build_model(spec, "cpu", torch.float32, seed=0).eval()
    ids = torch.randint(0, spec.vocab_size, (2, PROMPT_TOKENS), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        one_shot_cache = model.new_cache(2, PROMPT_TOKENS + 1)
        one_shot = model(ids, cache=one_shot_cache, last_only=True)
        chunked_cache = model.new_cache(2, PROMPT_TOKENS + 1)
        last, times = prefill_all_but_last_chunk(model, ids, chunked_cache, CancelCheck(lambda: False), timed=False)
        assert last.shape[1] == PROMPT_TOKENS - 6 * CHUNK and times == []
        chunked = model(last, cache=chunked_cache, last_only=True)
        assert chunked_cache.position == one_shot_cache.position == PROMPT_TOKENS
        torch.testing.assert_close(chunked, one_shot, rtol=1e-4, atol=1e-4)
        # and the cache each left behind decodes the next token alike
        token = one_shot[:, -1].argmax(-1, keepdim=True)
        torch.testing.assert_close(model(token, cache=chunked_cache), model(token, cache=one_shot_cache),
                                   rtol=1e-4, atol=1e-4)


def test_a_profiled_run_records_one_prefill_step_with_every_chunks_layers(monkeypatch):
    session = Session.from_arch("gemma3-27b", "explore", "cpu")
    config = RunConfig(prompt="x" * PROMPT_TOKENS, max_new_tokens=3)
    monkeypatch.setitem(prefill.PREFILL_CHUNK_TOKENS, "cpu", PROMPT_TOKENS)  # one shot
    whole = session.run(config)
    monkeypatch.setitem(prefill.PREFILL_CHUNK_TOKENS, "cpu", CHUNK)
    chunked = session.run(config)
    assert [s.tokens for s in chunked.steps] == [s.tokens for s in whole.steps]
    first = chunked.steps[0]
    assert first.phase == "prefill" and first.seq_len == PROMPT_TOKENS
    assert len(first.layer_ms) == session.spec.num_layers and all(ms > 0 for ms in first.layer_ms)
    assert first.layer_ms == pytest.approx([m + f for m, f in zip(first.mixer_ms, first.ffn_ms)], abs=1e-3)


@pytest.mark.parametrize("probe", [True, False])
def test_cancel_is_looked_at_in_every_chunk_of_a_long_prefill(monkeypatch, probe):
    """The flag is read as each layer of each chunk starts, so a cancel waits at most one
    layer over one chunk, whatever the prompt's length."""
    monkeypatch.setitem(prefill.PREFILL_CHUNK_TOKENS, "cpu", CHUNK)
    session = Session.from_arch("llama3-8b", "explore", "cpu")
    looks = []
    session.run(RunConfig(prompt="x" * PROMPT_TOKENS, max_new_tokens=1, probe=probe),
                cancelled=lambda: looks.append(1) and False)
    chunks = -(-PROMPT_TOKENS // CHUNK)
    assert len(looks) >= chunks * session.spec.num_layers

    asked = []

    def cancel_in_the_second_chunk() -> bool:
        asked.append(1)
        return len(asked) > session.spec.num_layers

    positions = []
    original = session.model.forward
    monkeypatch.setattr(session.model, "forward", lambda ids, cache=None, **kw: (
        positions.append(cache.position), original(ids, cache=cache, **kw))[1])
    with pytest.raises(Cancelled):
        session.run(RunConfig(prompt="x" * PROMPT_TOKENS, max_new_tokens=4, probe=probe),
                    cancelled=cancel_in_the_second_chunk)
    assert positions == [0, CHUNK]  # stopped inside the second chunk, the rest of the prompt never ran
