"""Ling 2.5 / 2.6's lightning attention (inclusionAI's BailingMoeV2_5LinearAttention), pinned
from first principles: no transformers model exists to compare with.

Where it differs from MiniMax's lightning attention, each difference has a hand-worked case:
ALiBi's slopes for a head count that is not a power of two and the layer offset by one in
the depth factor (`decay="alibi"`), plain q, k, v (no SiLU), q and k RMSNorm-ed per head,
q.k scaled by head_dim ** -0.5, RoPE on q and k, and the output RMSNorm taken in groups.
"""

import math

import pytest
import torch

from app.model.lightning import LightningAttention, alibi_slopes, decay_rates
from app.model.rope import RotaryTable
from app.model.step import Step
from app.spec.mixers import LightningAttention as LightningSpec
from app.spec.parts import Rope

EPS = 1e-6


def test_alibi_slopes_for_a_power_of_two_are_minimax_slopes():
    assert alibi_slopes(4) == [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]
    torch.testing.assert_close(decay_rates(8, 3, 7, style="alibi") / decay_rates(8, 3, 7, style="alibi")[0],
                               decay_rates(8, 3, 7) / decay_rates(8, 3, 7)[0])


def test_alibi_slopes_for_six_heads_take_every_other_slope_of_eight():
    # the 4 slopes of 4 heads, then 2^-1 and 2^-3: every other one of 8 heads' 2^-1 .. 2^-8
    assert alibi_slopes(6) == [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8]
    # MiniMax's formula would give 2^(-8 h / 6) instead
    assert decay_rates(6, 2, 5)[4].item() != pytest.approx(decay_rates(6, 2, 5, style="alibi")[4].item())


@pytest.mark.parametrize("layer, factor", [(0, 1 + 1 / 4 + 1e-5), (1, 1 + 1e-5), (4, 1 / 4 + 1e-5)])
def test_the_alibi_depth_factor_counts_layers_from_minus_one(layer, factor):
    """Ling: slope * (1 - (l - 1) / (L - 1) + 1e-5), here for L = 5: the first layer decays
    faster than its slope, the second exactly at it."""
    expected = torch.tensor([s * factor for s in alibi_slopes(6)], dtype=torch.float32)
    torch.testing.assert_close(decay_rates(6, layer, 5, style="alibi"), expected)


def ling_spec(**changes) -> LightningSpec:
    fields = dict(num_heads=1, head_dim=2, norm_eps=EPS, qkv_activation="none", qk_norm=True, scaled=True,
                  decay="alibi")
    return LightningSpec(**(fields | changes))


def identity_module(spec: LightningSpec) -> LightningAttention:
    """q = k = v = the input, a gate of sigmoid(0) = 1/2, an identity output projection."""
    module = LightningAttention(spec, d_model=2)
    with torch.no_grad():
        module.qkv_proj.weight.copy_(torch.eye(2).repeat(3, 1))
        module.gate_proj.weight.zero_()
        module.o_proj.weight.copy_(torch.eye(2))
    module.set_depth(0, 2)
    return module


def run(module: LightningAttention, x: torch.Tensor) -> torch.Tensor:
    rope = module.spec.rope
    rotary = {rope: RotaryTable(rope, "cpu").at(0, x.shape[1], x.dtype)} if rope is not None else {}
    return module(x, Step(torch.arange(x.shape[1]), rotary))


def rms_normed(vector: list[float], eps: float = EPS) -> torch.Tensor:
    values = torch.tensor(vector)
    return values / torch.sqrt(values.pow(2).mean() + eps)


@pytest.mark.parametrize("rotate", [False, True])
@torch.no_grad()
def test_two_tokens_by_hand(rotate):
    """x1 = (1, 0), x2 = (1, 1) through q = k = v = x, one head of 2 channels, layer 0 of 2,
    every norm's eps e = 1/4 (large, so that the q.k scale shows through the output norm).

    q and k are RMS-normed: k1 = (n1, 0), k2 = (n2, n2) with n1 = (1/2 + e) ** -1/2,
    n2 = (1 + e) ** -1/2; q is that times s = 2 ** -1/2. With RoPE over both channels
    (frequency 1), token 2 turns by 1 radian: its own q.k is unchanged, q2.k1 gains a factor
    c = cos 1 - sin 1 (else c = 1). Over one step the state decays by
    lambda = exp(-2^-8 * (1 - (0 - 1)/1 + 1e-5)):
        o1 = (q1.k1) v1 = (s n1^2, 0)
        o2 = lambda (q2.k1) v1 + (q2.k2) v2 = (lambda c s n1 n2 + 2 s n2^2, 2 s n2^2).
    The output is each o RMS-normed (eps e), times the gate 1/2.
    """
    eps = 0.25
    spec = ling_spec(norm_eps=eps, rope=Rope(theta=10_000.0, rotary_dim=2) if rotate else None)
    x = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    n1, n2, s = (0.5 + eps) ** -0.5, (1 + eps) ** -0.5, 2 ** -0.5
    decay = math.exp(-(2 ** -8) * (1 - (0 - 1) / 1 + 1e-5))
    cross = math.cos(1) - math.sin(1) if rotate else 1.0
    expected = torch.stack([rms_normed([s * n1 * n1, 0.0], eps),
                            rms_normed([decay * cross * s * n1 * n2 + 2 * s * n2 * n2, 2 * s * n2 * n2], eps)]) / 2
    torch.testing.assert_close(run(identity_module(spec), x)[0], expected, atol=1e-6, rtol=1e-6)


@torch.no_grad()
def test_minimax_defaults_silu_the_inputs_and_leave_q_k_unscaled():
    """The same two tokens with MiniMax's choices: q = k = v = silu(x), no norms, no scale,
    MiniMax's depth factor. silu(1) = 1 / (1 + e^-1) =: a, silu(0) = 0."""
    spec = LightningSpec(num_heads=1, head_dim=2, norm_eps=EPS)
    x = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    a = 1 / (1 + math.exp(-1))
    decay = math.exp(-(2 ** -8) * (1 - 0 / (1 + 1e-5) + 1e-5))
    o1 = [a * a * a, 0.0]  # (q1.k1) v1 with q1 = k1 = v1 = (a, 0)
    o2 = [decay * (a * a) * a + 2 * a * a * a, 2 * a * a * a]  # q2 = (a, a)
    expected = torch.stack([rms_normed(o1), rms_normed(o2)]) / 2
    torch.testing.assert_close(run(identity_module(spec), x)[0], expected, atol=1e-6, rtol=1e-6)


@torch.no_grad()
def test_the_output_norm_in_groups_normalizes_each_group_alone():
    """Four outputs in two groups: (3, 4) and (0.06, 0.08) each become (0.8485, 1.1314)
    (divided by their own rms, 12.5 ** 0.5 and 0.005 ** 0.5); one group would leave the
    second pair near zero."""
    out = torch.tensor([[3.0, 4.0, 0.06, 0.08]])
    grouped = LightningAttention(ling_spec(num_heads=2, norm_groups=2), d_model=2)._normalize(out)
    pair = [3 / 12.5 ** 0.5, 4 / 12.5 ** 0.5]
    torch.testing.assert_close(grouped, torch.tensor([pair + pair]), atol=1e-4, rtol=1e-4)
    whole = LightningAttention(ling_spec(num_heads=2, norm_groups=1), d_model=2)._normalize(out)
    assert whole[0, 2].abs() < 0.05


@pytest.mark.parametrize("spec", [ling_spec(num_heads=4, head_dim=8, norm_groups=2, rope=Rope(1e4, 4)),
                                  LightningSpec(num_heads=4, head_dim=8)])
def test_the_analysis_counts_the_modules_parameters(spec):
    module = LightningAttention(spec, d_model=16)
    assert sum(p.numel() for p in module.parameters()) == spec.params(16)
