"""Nemotron 3 Super / Ultra's latent MoE against transformers: tiny random nemotron_h
checkpoints with moe_latent_size load through load_pretrained and give the same logits in
one forward, token by token through the cache, and prefill then decode.

The router and the shared expert read the full token, the routed experts a narrower latent
(the token projected down by fc1_latent_proj, their weighted sum back up by fc2_latent_proj).
"biased" has biased latent projections (mlp_bias), so an up-projection applied per chosen
expert instead of once to their sum would add its bias top_k times and fail; its config also
names an MTP head, which neither transformers nor ArchScope builds. "legacy" spells the
blocks as NVIDIA's own configs do (Ultra's "mamba" and "attention"). The widths of "grouped"
fill the grouped GEMM's 16-byte rows, so its experts run through torch's grouped matmul on
the CPU as well as through the loop.
"""

import pytest

from app.spec.analysis import analyze
from app.spec.hf import spec_from_hf_config

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    assert_cache_holds_what_the_analysis_counts,
    assert_every_checkpoint_tensor_is_used,
    assert_prefill_then_decode_matches,
    reference_logits,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 8

MAMBA = dict(mamba_num_heads=6, mamba_head_dim=6, ssm_state_size=5, conv_kernel=4, chunk_size=4, n_groups=3)
MOE = dict(n_routed_experts=6, num_experts_per_tok=2, routed_scaling_factor=2.5, n_group=2, topk_group=1)

TINY = {
    "grouped": dict(model_type="nemotron_h", vocab_size=89, hidden_size=40, **MAMBA, **MOE,
                    layers_block_type=["linear_attention", "moe", "full_attention", "moe"],
                    num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                    moe_intermediate_size=16, moe_latent_size=12, moe_shared_expert_intermediate_size=18,
                    tie_word_embeddings=False),
    "biased": dict(model_type="nemotron_h", vocab_size=71, hidden_size=32, **MAMBA, **MOE,
                   layers_block_type=["linear_attention", "moe", "full_attention", "mlp", "moe"],
                   num_attention_heads=2, num_key_value_heads=1, head_dim=12, intermediate_size=20,
                   moe_intermediate_size=10, moe_latent_size=7, moe_shared_expert_intermediate_size=12,
                   mlp_bias=True, num_nextn_predict_layers=1, mtp_layers_block_type=["full_attention", "moe"],
                   tie_word_embeddings=False),
    "legacy": dict(model_type="nemotron_h", vocab_size=67, hidden_size=24, **MAMBA, **MOE,
                   layers_block_type=["mamba", "moe", "attention", "moe"],
                   num_attention_heads=2, num_key_value_heads=2, head_dim=12,
                   moe_intermediate_size=9, moe_latent_size=24, moe_shared_expert_intermediate_size=10,
                   tie_word_embeddings=False),
}

# The routed path scaled up before saving: at transformers' initial widths a relu2 expert's
# output is so small (its input squared) that the experts' whole contribution moves the logits
# by about 4e-5, under the tolerance, and a broken latent would pass. Scaled, a 5% error in the
# up-projection moves them by more than 1e-3 (test_a_wrong_latent_placement_would_fail).
ROUTED_SCALE = {"fc1_latent_proj": 3.0, "experts.up_proj": 3.0, "experts.down_proj": 3.0, "fc2_latent_proj": 3.0}


def sharpen(reference, name: str) -> None:
    for parameter_name, parameter in reference.named_parameters():
        for part, scale in ROUTED_SCALE.items():
            if f"mixer.{part}" in parameter_name:
                parameter.mul_(scale)


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen)


def test_the_experts_work_in_the_latent(pair, checkpoint):
    """Our routed experts hold the checkpoint's [E, out, in] at the latent width, and the
    analysis counts what transformers' module holds."""
    reference, ours, _ = pair
    config = checkpoint[2]
    latent, hidden = config["moe_latent_size"], config["hidden_size"]
    index = config["layers_block_type"].index("moe")
    moe = ours.layers[index].ffn
    assert tuple(moe.experts.up_proj.shape) == (6, config["moe_intermediate_size"], latent)
    assert (moe.latent_down.in_features, moe.latent_down.out_features) == (hidden, latent)
    assert (moe.latent_up.in_features, moe.latent_up.out_features) == (latent, hidden)
    theirs = reference.model.layers[index].mixer
    assert analyze(ours.spec).layers[index].params == sum(p.numel() for p in theirs.parameters()) + hidden


def test_the_cache_holds_what_the_analysis_counts(pair):
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def test_grouped_experts_and_packed_decode_match(checkpoint):
    """The grouped-GEMM dispatch (on the CPU when asked) and the decode layout (input-major
    latent projections) give the reference's logits through a prefill and a decode."""
    from app.model.experts import RoutedExperts
    from app.weights import load_pretrained

    reference, directory, config = checkpoint
    if config["moe_intermediate_size"] * 4 % 16 or config["moe_latent_size"] * 4 % 16:
        pytest.skip("widths that do not fill the grouped GEMM's 16-byte rows take the loop")
    import torch

    ours = load_pretrained(directory).model
    experts = [module for module in ours.modules() if isinstance(module, RoutedExperts)]
    for module in experts:
        module.dispatch = "grouped"
    assert experts[0]._grouped_gemm_fits(torch.zeros(1, config["moe_latent_size"]))
    ours.pack_for_decode()
    moe = ours.layers[1].ffn
    assert moe.latent_down.weight.stride() == (1, config["moe_latent_size"])  # [out, in] stored [in, out]
    input_ids = torch.randint(0, config["vocab_size"], (2, SEQ_LEN), generator=torch.Generator().manual_seed(3))
    assert_prefill_then_decode_matches(reference, ours, input_ids, prefill=PREFILL)


def test_the_mtp_head_is_counted_apart(checkpoint):
    """A config naming an MTP head keeps it: counted as mtp_params, outside the model."""
    config = checkpoint[2]
    spec = spec_from_hf_config(config)
    assert spec.mtp_layers == config.get("num_nextn_predict_layers", 0)
    assert (analyze(spec).mtp_params > 0) == bool(spec.mtp_layers)


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint, fc1_latent_proj and fc2_latent_proj included."""
    stored = assert_every_checkpoint_tensor_is_used(checkpoint[1])
    assert any(name.endswith("mixer.fc1_latent_proj.weight") for name in stored)
    assert any(name.endswith("mixer.fc2_latent_proj.weight") for name in stored)


def test_a_wrong_latent_placement_would_fail(pair):
    """The check can fail: with the up-projection's bias or weight disturbed, the logits move
    past the tolerance."""
    import torch

    reference, ours, input_ids = pair
    moe = next(block.ffn for block in ours.layers if getattr(block.ffn, "latent_up", None) is not None)
    with torch.no_grad():
        saved = moe.latent_up.weight.clone()
        moe.latent_up.weight.mul_(1.05)
        moved = (ours(input_ids) - reference_logits(reference, input_ids)).abs().max().item()
        moe.latent_up.weight.copy_(saved)
    assert moved > 1e-3
