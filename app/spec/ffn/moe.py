"""The mixture of experts and its router, with everything the rest of ArchScope asks of
them. Its torch module is `app/model/moe.py` (experts in `experts.py`, the router in
`router.py`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from ..checks import Checker, at
from ..cost import Cost, Step
from ..parts import Norm, norm_params
from .mlp import MLP

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class Router:
    """How a token picks its experts. DeepSeek V3: sigmoid scores, a correction bias
    that only affects selection (aux-loss-free balancing), group-limited top-k,
    normalized weights times routed_scaling."""

    # DeepSeek V4: "sqrtsoftplus", sqrt(softplus(logit))
    scoring: Literal["softmax", "sigmoid", "sqrtsoftplus"] = "softmax"
    normalize_top_k: bool = True
    num_groups: int = 1
    top_k_groups: int = 1
    score_correction_bias: bool = False
    routed_scaling: float = 1.0
    bias: bool = False  # gpt-oss's router has a bias term
    weight_inputs: bool = False  # Llama 4 scales the expert's input, not its output
    logit_softcap: float = 0.0  # Grok 2.5: cap * tanh(logits / cap) before the softmax; 0: none
    # Added to the chosen weights' sum before normalize_top_k divides by it: DeepSeek V3's
    # 1e-20 guards only against zero; LFM2-MoE's 1e-6 also shrinks the weights a little.
    normalize_epsilon: float = 1e-20
    # Gemma 4: the router reads its own norm of the token (a learned per-channel scale, the
    # checkpoint's router.scale) times 1/sqrt(d_model); None: the token as it comes
    input_norm: Norm | None = None
    # Gemma 4: each chosen weight, after normalize_top_k, times a learned scale of its expert
    per_expert_scale: bool = False
    # DeepSeek V4's first layers (num_hash_layers): a fixed table of top_k experts per token
    # id (tid2eid, a buffer the checkpoint holds) chooses; the learned scores only weigh
    hash_routed: bool = False

    # ZAYA1: a small network instead of one projection. The token goes down to mlp_width (with
    # a bias), then an RMSNorm (mlp_norm_eps), two GELU layers of that width (with biases) and
    # a projection to the slots (without one); 0: one linear projection of the token.
    mlp_width: int = 0
    mlp_norm_eps: float = 1e-5
    # ZAYA1's depth mixing ("EDA"): the down-projected token plus the previous MoE layer's
    # router state (its down-projection plus what it received) times a learned vector. The
    # first MoE layer has none to receive.
    depth_state: bool = False

    def vector_params(self, d: int, num_experts: int) -> int:
        """The router's learned values that scale rather than project: its input norm's
        scale and the per-expert scales; an MLP router's norm and depth-state scale."""
        mlp = (self.mlp_width * (1 + self.depth_state)) if self.mlp_width else 0
        return norm_params(self.input_norm, d) + (num_experts if self.per_expert_scale else 0) + mlp


def expected_experts_reached(num_experts: int, top_k: int, assignments_rows: int) -> float:
    """Experts that at least one of `rows` tokens picks, each token choosing top_k of
    num_experts uniformly: an expert is missed by one token with probability 1 - k/E."""
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** assignments_rows)


@dataclass(frozen=True)
class MoE:
    """Mixture of experts: top_k of num_experts routed experts per token, plus shared
    experts every token passes through (their widths summed into one `shared` MLP)."""

    kind: ClassVar[str] = "moe"
    canvas_style: ClassVar[str] = "moe"
    point_kind: ClassVar[str] = "MoE"
    title: ClassVar[str] = "Mixture of experts"
    num_experts: int
    top_k: int
    expert: MLP
    router: Router = Router()
    shared: MLP | None = None
    shared_gate: bool = False  # Qwen3-Next: sigmoid(x . w) scales the shared expert
    output_scale: float = 1.0  # Grok 2.5: (shared + routed) / sqrt(2), its "residual MoE"
    # Gemma 4 (enable_moe_block): the shared MLP (the layer's dense MLP) and the routed experts
    # are two branches with norms of their own. The layer's pre-norm feeds the shared MLP only;
    # the router and the experts read the layer's un-normed input, the experts through a
    # pre-norm of this kind; each branch's output is normed before the two are summed.
    # None: one normed input for all, the outputs summed as they are.
    branch_norm: Norm | None = None
    # Nemotron 3 Super / Ultra's LatentMoE (moe_latent_size): the routed experts work at this
    # width. Each token is projected down to it before the experts and their weighted sum back
    # up to d_model after them (fc1_latent_proj, fc2_latent_proj); the router and the shared
    # expert read the full token. 0: no latent, the experts work at d_model.
    latent_size: int = 0
    latent_bias: bool = False  # biases on the two latent projections (transformers: mlp_bias)
    # LongCat-Flash's zero-computation experts (zero_expert_num): routing slots past
    # num_experts whose "expert" is the identity, the token times its weight. They hold no
    # parameters but compete for the top_k slots, so a token computes fewer real experts.
    zero_experts: int = 0
    # LongCat-Flash's shortcut-connected MoE (ScMoE): the routed experts read this layer's
    # normed input, but their weighted sum joins the residual at the end of the *next* layer,
    # after its attention and MLP, so their all-to-all overlaps that layer's compute. The
    # shared MLP (LongCat's first dense MLP) joins here, as any shared expert does.
    shortcut: bool = False
    # ZAYA1's skip expert: routing slots after the real and zero experts whose output is
    # nothing, so a token that picks one passes the feed-forward by. No parameters.
    skip_experts: int = 0

    @property
    def routing_slots(self) -> int:
        """What the router scores: the real experts, then the zero and skip experts."""
        return self.num_experts + self.zero_experts + self.skip_experts

    @property
    def expected_routed_experts(self) -> float:
        """Real experts a token computes when its top_k land uniformly over the slots: the
        share LongCat's router bias steers towards (for zero experts, top_k * E / (E + Z))."""
        return self.top_k * self.num_experts / self.routing_slots if self.routing_slots else 0.0

    @property
    def reads_residual(self) -> bool:
        """Whether the router and experts read the layer's un-normed input (branch_norm)."""
        return self.branch_norm is not None

    def expert_width(self, d: int) -> int:
        """The width the routed experts read and write: the latent, or the token's own."""
        return self.latent_size or d

    def expert_params(self, d: int) -> int:
        """One routed expert's parameters, at the width it works in."""
        return self.expert.params(self.expert_width(d))

    def _latent_params(self, d: int) -> tuple[int, int]:
        """(down, up) projections' parameters, biases included; (0, 0) without a latent."""
        latent = self.latent_size
        if not latent:
            return 0, 0
        bias = self.latent_bias
        return d * latent + (latent if bias else 0), latent * d + (d if bias else 0)

    # --- the analysis ---

    def _router_projection_params(self, d: int) -> int:
        # The score-correction bias is not counted: it is updated by a balancing rule, not by
        # gradients, and every reference implementation keeps it as a buffer.
        slots = self.routing_slots  # the zero and skip experts are scored like the others
        width = self.router.mlp_width
        if width:  # down (biased), two square layers (biased), out to the slots
            return d * width + width + 2 * (width * width + width) + width * slots
        return d * slots + (slots if self.router.bias else 0)

    def _shared_params(self, d: int) -> int:
        return (self.shared.params(d) if self.shared is not None else 0) + (d if self.shared_gate else 0)

    def _vector_params(self, d: int) -> int:
        """What scales rather than projects: the router's vectors and the branch norms (the
        experts' pre- and post-norm, the shared MLP's post-norm)."""
        branch_norms = (2 + (self.shared is not None)) * norm_params(self.branch_norm, d)
        return self.router.vector_params(d, self.num_experts) + branch_norms

    def _every_token_params(self, d: int) -> int:
        """Parameters every token passes through: all but the routed experts."""
        return (self._router_projection_params(d) + self._shared_params(d) + self._vector_params(d)
                + sum(self._latent_params(d)))

    def params(self, d: int) -> int:
        return self._every_token_params(d) + self.num_experts * self.expert_params(d)

    def active_params(self, d: int) -> int:
        """Parameters a token passes through: its top_k experts, not all. With zero experts,
        the real experts among the top_k under uniform routing (LongCat-Flash-Lite: 8 of 12);
        a token that draws only zero experts computes none, one that draws none of them 12."""
        if self.zero_experts:
            return self._every_token_params(d) + round(self.expected_routed_experts * self.expert_params(d))
        return self._every_token_params(d) + self.top_k * self.expert_params(d)

    # --- the roofline ---

    def step_cost(self, step: Step, d: int, routed: list[int] | None = None) -> Cost:
        """routed: tokens per expert as a profile measured them (the experts really read);
        None: the number expected under uniform routing."""
        cost = step.matmul(self._router_projection_params(d), d, self.routing_slots)
        vectors = self._vector_params(d)
        if self.router.per_expert_scale:  # gathered: the chosen experts' scales, at most all of them
            vectors -= self.num_experts - min(self.num_experts, step.rows * self.top_k)
        cost = cost + Cost(weight_bytes=vectors * step.dtype_bytes)  # read, not multiplied
        if self.router.score_correction_bias:  # a buffer, not a parameter, but read all the same
            cost = cost + Cost(weight_bytes=self.routing_slots * step.dtype_bytes)
        if self.shared is not None:
            cost = cost + step.matmul(self._shared_params(d), d, d)
        width = self.expert_width(d)
        if self.latent_size:  # every token down to the latent, and its experts' weighted sum back up
            down, up = self._latent_params(d)
            cost = cost + step.matmul(down, d, width) + step.matmul(up, width, d)
        # A zero expert reads no weights and multiplies nothing: only the real experts' share
        # of the slots reaches weights (each real expert is missed by a token with 1 - k/(E+Z)).
        reached = (sum(1 for count in routed if count) if routed is not None
                   else self.num_experts * (1.0 - (1.0 - self.top_k / self.routing_slots) ** step.rows))
        expert = self.expert_params(d)
        assignments = (sum(routed) if routed is not None else step.rows * self.expected_routed_experts)
        # low-bit experts (a GGUF file's, kept in their bits) at their real bytes per weight:
        # the layer's feed-forward average, which the experts all but make up
        element = step.dtype_bytes if step.matrix_bytes is None else step.matrix_bytes
        return cost + Cost(weight_bytes=round(reached * expert * element), flops=round(2 * assignments * expert),
                           activation_bytes=round(assignments * (2 * width + self.expert.intermediate_size)
                                                  * step.dtype_bytes))

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_experts", "top_k", "output_scale")
        self.expert.check(check, at(path, "expert"))
        if self.shared is not None:
            self.shared.check(check, at(path, "shared"))
        elif self.shared_gate:
            check.add(at(path, "shared_gate"), "gates a shared expert, but the MoE has none")
        check.non_negative(self, path, "zero_experts", "skip_experts")
        if isinstance(self.zero_experts, int) and self.top_k > self.routing_slots > 0:
            slots = f" + zero_experts {self.zero_experts}" if self.zero_experts else ""
            check.add(at(path, "top_k"), f"{self.top_k} exceeds num_experts {self.num_experts}{slots}")
        if self.zero_experts and self.router.num_groups > 1:
            # no published model groups zero experts; where they would fall is undefined
            check.add(at(path, "zero_experts"), "zero experts with grouped routing (router.num_groups > 1)")
        if self.zero_experts and (self.latent_size or self.router.weight_inputs):
            check.add(at(path, "zero_experts"), "a zero expert returns the token itself: it has no latent "
                      "width and no input to weigh")
        if self.shortcut and self.branch_norm is not None:
            check.add(at(path, "shortcut"), "a shortcut MoE reads the layer's normed input, not branch norms")
        if self.branch_norm is not None:
            check.norm(self.branch_norm, at(path, "branch_norm"))
        check.non_negative(self, path, "latent_size")
        if isinstance(self.latent_size, int) and check.d_model > 0 and self.latent_size > check.d_model:
            # a latent wider than the token would widen, not compress, what the experts read
            check.add(at(path, "latent_size"), f"{self.latent_size} exceeds d_model {check.d_model}")
        if self.latent_bias and not self.latent_size:
            check.add(at(path, "latent_bias"), "biases latent projections, but the MoE has no latent_size")
        router, router_path = self.router, at(path, "router")
        if router.input_norm is not None:
            check.norm(router.input_norm, at(router_path, "input_norm"))
        check.positive(router, router_path, "num_groups", "top_k_groups", "routed_scaling")
        check.non_negative(router, router_path, "logit_softcap", "normalize_epsilon", "mlp_width")
        if router.mlp_width:
            check.positive(router, router_path, "mlp_norm_eps")
        elif router.depth_state:
            check.add(at(router_path, "depth_state"), "carries an MLP router's state, but mlp_width is 0")
        check.divides(router_path, "num_groups", router.num_groups, "num_experts", self.num_experts)
        if router.top_k_groups > router.num_groups > 0:
            check.add(at(router_path, "top_k_groups"),
                      f"{router.top_k_groups} exceeds num_groups {router.num_groups}")
        elif router.num_groups > 0 and self.num_experts % router.num_groups == 0 and router.top_k_groups > 0:
            reachable = router.top_k_groups * self.num_experts // router.num_groups
            if self.top_k > reachable:
                check.add(at(path, "top_k"),
                          f"{self.top_k} exceeds the {reachable} experts in the top {router.top_k_groups} groups")

    def explored(self, shrink: Shrinker) -> MoE:
        experts = min(self.num_experts, shrink.max_experts)
        top_k = self.top_k if self.num_experts == experts else min(self.top_k, max(1, experts // 4))
        router = self.router
        groups = min(router.num_groups, experts // 2) or 1
        while experts % groups:
            groups -= 1
        top_groups = max(1, min(groups, round(router.top_k_groups * groups / router.num_groups)))
        while top_groups * experts // groups < top_k:
            top_groups += 1
        # the latent keeps its share of the width (Super: 1024 of 4096 -> 64 of 256)
        latent = min(shrink.width, shrink.multiple(self.latent_size * shrink.ratio)) if self.latent_size else 0
        # zero experts keep their share of the slots (LongCat-Flash-Lite: 128 per 256 real)
        zero = max(1, round(self.zero_experts * experts / self.num_experts)) if self.zero_experts else 0
        # an MLP router keeps its share of the width (ZAYA1: 256 of 2048)
        mlp_width = (min(shrink.width, shrink.multiple(router.mlp_width * shrink.ratio))
                     if router.mlp_width else 0)
        return replace(
            self, num_experts=experts, top_k=top_k, expert=self.expert.explored(shrink),
            shared=self.shared.explored(shrink) if self.shared is not None else None,
            router=replace(router, num_groups=groups, top_k_groups=top_groups, mlp_width=mlp_width),
            latent_size=latent,
            zero_experts=zero,
        )

    # --- words ---

    def box_lines(self) -> list[str]:
        zero = f" + {self.zero_experts} zero experts" if self.zero_experts else ""
        zero += f" + {self.skip_experts} skip" if self.skip_experts else ""
        lines = [f"{self.num_experts} experts{zero} · {self.top_k} active",
                 f"{self.expert.activation_title} hidden {self.expert.intermediate_size}"]
        if self.latent_size:  # the width the experts work in, between the down and up projections
            lines.append(f"experts in latent {self.latent_size}")
        if self.shortcut:
            dense = f"dense MLP {self.shared.intermediate_size} now, " if self.shared is not None else ""
            lines.append(f"shortcut: {dense}experts after the next layer")
        elif self.shared is not None and self.branch_norm is not None:
            lines.append(f"+ dense MLP {self.shared.intermediate_size}, each branch normed")
        elif self.shared is not None:
            lines.append(f"+ shared expert {self.shared.intermediate_size}" + (" (gated)" if self.shared_gate else ""))
        elif self.router.mlp_width:
            lines.append(f"MLP router {self.router.mlp_width}" + (" · depth state" if self.router.depth_state else ""))
        else:
            lines.append(f"{self.router.scoring} router" + (f" · {self.router.num_groups} groups"
                                                             if self.router.num_groups > 1 else ""))
        if self.router.hash_routed:  # DeepSeek V4's first layers: a fixed table, no learned choice
            lines.append("hash-routed: experts looked up by token id")
        return lines

    def label(self) -> str:
        return "MoE"

    def describe(self) -> str:
        shared = f" +{'gated ' if self.shared_gate else ''}shared" if self.shared is not None else ""
        if self.shared is not None and self.branch_norm is not None:
            shared = f" +dense {self.shared.intermediate_size}, normed branches"
        latent = f" in latent {self.latent_size}" if self.latent_size else ""
        zero = f" +{self.zero_experts} zero" if self.zero_experts else ""
        zero += f" +{self.skip_experts} skip" if self.skip_experts else ""
        shortcut = " shortcut" if self.shortcut else ""
        return f"MoE {self.top_k}/{self.num_experts}{zero}x{self.expert.intermediate_size}{latent}{shared}{shortcut}"
