"""LongCat-Flash-Lite's N-gram embedding has no reference in transformers: its hashing is
checked here against numbers worked by hand from Meituan's modeling_longcat_ngram.py, and the
model with its token history against the same model recomputing every step without a cache."""

import pytest
import torch

from app.model import build_model
from app.model.ngram_embedding import NgramEmbedding, shifted_within_segment
from app.spec import scale
from app.spec.analysis import analyze
from app.spec.catalog.deepseek import LONGCAT_FLASH_LITE
from app.spec.hf import spec_from_hf_config
from app.spec.ngram_embedding import NgramEmbedding as NgramSpec

EOS = 2
# vocab 11, 2..3-grams, 2 splits, tables of 2 x 11 + 2 * index + 1 rows: 23, 25, 27, 29
SMALL = NgramSpec(orders=3, splits=2, table_ratio=2, boundary_token=EOS)
TOKENS = [5, 7, 9, EOS, 4, 6]


def test_the_shift_stops_at_the_last_end_of_sequence_before_a_token():
    """A segment ends at its EOS: the EOS still sees the tokens before it, the token after it
    none; the start of the row reads 0."""
    context = torch.tensor([TOKENS])
    assert shifted_within_segment(context, 1, EOS).tolist() == [[0, 5, 7, 9, 0, 4]]
    assert shifted_within_segment(context, 2, EOS).tolist() == [[0, 0, 5, 7, 0, 0]]


def test_table_ids_worked_by_hand():
    """id = (x_t + x_{t-1} * (11 mod rows) + x_{t-2} * (121 mod rows)) mod rows, the older
    tokens 0 across the EOS. Table 0 (bigrams, 23 rows): 7 + 5*11 = 62 -> 16; 9 + 7*11 = 86
    -> 17; EOS: 2 + 9*11 = 101 -> 9; after it 4 alone; 6 + 4*11 = 50 -> 4. Table 2 (trigrams,
    27 rows, 121 mod 27 = 13): 9 + 7*11 + 5*13 = 151 -> 16; 2 + 9*11 + 7*13 = 192 -> 3;
    6 + 4*11 + 0 = 50 -> 23."""
    module = NgramEmbedding(SMALL, vocab_size=11, d_model=8)
    assert module.moduli == [23, 25, 27, 29]
    assert module.powers == [[11], [11], [11, 13], [11, 5]]
    ids = module.table_ids(torch.tensor([TOKENS]))
    assert ids[0].tolist() == [[5, 16, 17, 9, 4, 4]]
    assert ids[2].tolist() == [[5, 8, 16, 3, 4, 23]]


def test_without_the_end_of_sequence_the_ngrams_reach_back():
    """The same row with a 3 in place of the EOS: positions 4 and 5 hash their predecessors
    (4 + 3*11 = 37 -> 14 in table 0), so the restart above is the EOS's doing."""
    module = NgramEmbedding(SMALL, vocab_size=11, d_model=8)
    ids = module.table_ids(torch.tensor([[5, 7, 9, 3, 4, 6]]))
    assert ids[0].tolist() == [[5, 16, 17, 10, 14, 4]]


def test_the_sum_is_divided_by_one_plus_the_tables():
    """With every table row and projection zero, the output is the token embedding / 13
    for the published 4 splits of 2..4-grams."""
    spec = NgramSpec(orders=4, splits=4, table_ratio=1, boundary_token=EOS)
    module = NgramEmbedding(spec, vocab_size=16, d_model=24)
    for projection in module.post_projs:
        torch.nn.init.zeros_(projection.weight)
    embedding = torch.randn(1, 3, 24)
    out = module(embedding, torch.tensor([[1, 2, 3]]), None, torch.arange(3))
    torch.testing.assert_close(out, embedding / 13)


@pytest.fixture(scope="module")
def lite():
    spec = scale.explore(spec_from_hf_config(LONGCAT_FLASH_LITE))
    return build_model(spec, torch.device("cpu"), torch.float32, seed=0)


# The EOS at 3 and 9 (before, inside and across the prefill of 5); two rows that differ.
SEQUENCE = torch.tensor([[11, 523, 901, EOS, 44, 7, 88, 4, 31, EOS, 300, 12, 5, 6],
                         [9, 8, 7, 6, 5, EOS, EOS, 1, 2, 3, 4, 5, 6, 7]])


def test_cached_steps_equal_one_forward_without_a_cache(lite):
    """Prefill then decode, and token by token: the history of the last 3 ids gives the
    logits of the whole sequence recomputed without a cache."""
    batch, length = SEQUENCE.shape
    with torch.no_grad():
        whole = lite(SEQUENCE)
        for prefill in (1, 5):
            cache = lite.new_cache(batch, length)
            steps = [lite(SEQUENCE[:, :prefill], cache=cache)]
            steps += [lite(SEQUENCE[:, i:i + 1], cache=cache) for i in range(prefill, length)]
            torch.testing.assert_close(torch.cat(steps, dim=1), whole, atol=1e-5, rtol=0)


def test_the_history_changes_the_logits(lite):
    """The n-gram tables are not a bystander: the last token's logits depend on the tokens
    before it through them (a step whose history is emptied gives other logits)."""
    with torch.no_grad():
        cache = lite.new_cache(1, 8)
        lite(SEQUENCE[:1, :6], cache=cache)
        kept = lite(SEQUENCE[:1, 6:7], cache=cache)
        cache = lite.new_cache(1, 8)
        lite(SEQUENCE[:1, :6], cache=cache)
        cache.tokens.reset()
        emptied = lite(SEQUENCE[:1, 6:7], cache=cache)
    assert (kept - emptied).abs().max() > 1e-2


def test_greedy_generation_with_the_cache_equals_recomputing(lite):
    prompt = SEQUENCE[:, :6]
    cached, recomputed = prompt, prompt
    with torch.no_grad():
        cache = lite.new_cache(2, 6 + 10)
        logits = lite(prompt, cache=cache, last_only=True)
        for _ in range(10):
            token = logits[:, -1:].argmax(-1)
            cached = torch.cat((cached, token), dim=1)
            logits = lite(token, cache=cache)
            again = lite(recomputed)[:, -1:].argmax(-1)
            recomputed = torch.cat((recomputed, again), dim=1)
    assert torch.equal(cached, recomputed)


def test_the_replayable_step_reads_and_writes_the_history_as_the_ordinary_step(lite):
    """Positions on the device (the CUDA-graph step): the same logits, step after step."""
    batch, length = SEQUENCE.shape
    with torch.no_grad():
        ordinary, replayed = lite.new_cache(batch, length), lite.new_cache(batch, length)
        lite(SEQUENCE[:, :3], cache=ordinary)
        lite(SEQUENCE[:, :3], cache=replayed)
        for table in lite.rotary_tables().values():
            table.ensure(length)
        position = torch.zeros(1, dtype=torch.long)
        for i in range(3, length):
            expected = lite(SEQUENCE[:, i:i + 1], cache=ordinary)
            position.fill_(i)
            got = lite(SEQUENCE[:, i:i + 1], cache=replayed, position=position)
            replayed.advance(i + 1)
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_the_cache_holds_what_the_analysis_counts(lite):
    """The latent caches grow per token; the 3 token ids (int64) per row are held from the
    first step on, and counted once in the analysis' state."""
    batch, length = SEQUENCE.shape
    analysis = analyze(lite.spec)
    assert analysis.context_token_bytes == 3 * 8
    cache = lite.new_cache(batch, length)
    with torch.no_grad():
        lite(SEQUENCE[:, :4], cache=cache)
        for seen in range(4, length):
            assert cache.nbytes() == batch * analysis.kv_bytes_at(seen, 4)
            lite(SEQUENCE[:, seen:seen + 1], cache=cache)
