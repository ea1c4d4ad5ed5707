"""xLSTM (mLSTM blocks, NX-AI's xLSTM 7B) against transformers: tiny random checkpoints load
through load_pretrained and give the same logits in one forward, token by token through the
recurrent state, and prefill then decode; the state holds what the analysis counts; the name
map consumes the whole checkpoint.

transformers' prefill runs its chunkwise kernel over whole chunks and steps through the rest,
so with chunks of 4 and 3 tokens the 11-token sequence spans whole chunks and a remainder,
and the 6-token prefill ends inside a chunk. The configs differ in every key the converter
reads: widths (queries and keys as wide as values, or half), heads, norm and denominator
epsilons, the feed-forward's factor and rounding, tied or untied head; the second caps its
gates at 3 and its logits at 5, tight enough to act.
"""

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    assert_cache_holds_what_the_analysis_counts,
    assert_every_checkpoint_tensor_is_used,
    assert_prefill_then_decode_matches,
    reference_logits,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 6

TINY = {
    "square": dict(model_type="xlstm", vocab_size=89, hidden_size=64, num_hidden_layers=3, num_heads=4,
                   qk_dim_factor=1.0, v_dim_factor=2.0, ffn_proj_factor=1.5, chunk_size=4,
                   tie_word_embeddings=False),
    "capped": dict(model_type="xlstm", vocab_size=71, hidden_size=128, num_blocks=2, num_heads=2,
                   qk_dim_factor=0.5, v_dim_factor=1.0, ffn_proj_factor=1.3, ffn_round_up_to_multiple_of=16,
                   chunk_size=3, gate_soft_cap=3.0, output_logit_soft_cap=5.0, norm_eps=1e-5, eps=1e-4,
                   tie_word_embeddings=True),
}


def sharpen_gates(reference) -> None:
    """transformers starts the gates at zero weights, input-gate bias -10 and forget-gate bias
    3..6: the memory then writes almost nothing, its read-out falls under the exp(-m) floor,
    and a wrong gate, cap or stabilizer would barely move the logits. Drawn large instead,
    the pre-activations reach several units, where the caps bend them and the input gate's
    exponential makes one token outweigh another."""
    import torch

    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            if "gate_preact" in name and "ogate" not in name:
                scale = 1.0 if name.endswith("weight") else 3.0
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, lambda reference, name: sharpen_gates(reference))


def test_a_prefill_of_whole_chunks_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=8 if pair[1].spec.layers[0].mixer.chunk_size == 4 else 9)


def test_the_state_holds_what_the_analysis_counts(pair):
    _, ours, input_ids = pair
    cache = assert_cache_holds_what_the_analysis_counts(ours, input_ids, prefill=PREFILL)
    assert cache.nbytes() > 0


def test_every_checkpoint_tensor_is_used(checkpoint):
    _, directory, _ = checkpoint
    assert_every_checkpoint_tensor_is_used(directory)


def test_the_gate_and_logit_caps_move_the_logits(pair):
    """The caps the parity rests on are not idle: with either taken away the logits leave the
    tolerance by far, so the checks above would catch a cap applied wrongly or not at all."""
    import dataclasses

    import torch

    reference, ours, input_ids = pair
    expected = reference_logits(reference, input_ids)

    def distance() -> float:
        with torch.no_grad():
            return (ours(input_ids) - expected).abs().max().item()

    mixers = [layer.mixer.spec for layer in ours.layers]
    spec = ours.spec
    try:
        for layer, mixer in zip(ours.layers, mixers):
            layer.mixer.spec = dataclasses.replace(mixer, gate_soft_cap=0.0)
        uncapped_gates = distance()
    finally:
        for layer, mixer in zip(ours.layers, mixers):
            layer.mixer.spec = mixer
    try:
        ours.spec = dataclasses.replace(spec, final_logit_softcap=0.0)
        uncapped_logits = distance()
    finally:
        ours.spec = spec
    assert distance() <= TOLERANCE
    assert uncapped_gates > 100 * TOLERANCE
    assert uncapped_logits > 10 * TOLERANCE
