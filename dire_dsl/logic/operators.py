"""The fuzzy semantics as callables: LTN's connectives, weighted quantifiers, smooth comparisons.

Built once per program from `semantics.py`'s operator names. Connectives are LTNtorch's
own `ltn.fuzzy_ops` (stable variants) applied to aligned tensors: `ltn.Connective` would
add a range check that syncs the device on every call and copy operands to the joint
domain. Quantifiers follow LTN's stable p-mean(-error) with a domain weight per member
(presence × `where` probability for instances, 1 for cells):

    forall: 1 - (Σ (w·(1 - π₁(x)))^p / n(Σ w) + ε^p)^(1/p)    (presence → body)
    exists:     (Σ (w·π₀(x))^p       / n(Σ w) + ε^p)^(1/p)    (presence ∧ body)

where n(s) = s for s ≥ 1 (a smooth floor below, see `soft_size`).

With every w = 1 this is exactly `ltn.Quantifier(AggregPMeanError(p) | AggregPMean(p))`;
with w ∈ {0, 1} it is LTN's guarded quantifier over the present members. Dividing by the
soft size of the domain rather than by the number of slots keeps the value independent
of how many empty slots a vision model carries. ∀ over an empty domain is 1 - ε, ∃ is ε
(ε = ROOT_EPS keeps the root's gradient finite there).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import ltn
import torch
from torch import Tensor

from dire_dsl.logic.semantics import Semantics

ROOT_EPS = 1e-7
"""ε above: the empty-domain offset of a quantifier's truth value (ε^p is floored at float's tiny)."""


def _fuzzy_op(name: str) -> object:
    cls = getattr(ltn.fuzzy_ops, name)
    return cls(stable=True) if "stable" in inspect.signature(cls).parameters else cls()


class FuzzyLogic:
    """Every operator a compiled rule uses, with the parameters of its `logic {}` block."""

    def __init__(self, semantics: Semantics) -> None:
        self.semantics = semantics
        self.and_ = _fuzzy_op(semantics.and_op)
        self.or_ = _fuzzy_op(semantics.or_op)
        self.implies = _fuzzy_op(semantics.implies_op)
        self.not_ = _fuzzy_op(semantics.not_op)
        self.sigma, self.tau = semantics.sigma, semantics.tau

    # ------------------------------------------------------------ comparisons
    def compare(self, op: str, a: Tensor, b: Tensor, scale: float = 1.0, integer: bool = False) -> Tensor:
        """Truth of `a op b`. `scale` is the magnitude of the threshold (see `threshold_scale`):
        τ and σ are relative to it, so one τ suits counts, positions and small areas alike;
        equality of whole numbers (counts) keeps the absolute σ."""
        if op == "==":
            return self.equal(a, b, 1.0 if integer else scale)
        if op == "!=":
            return 1.0 - self.equal(a, b, 1.0 if integer else scale)
        if op in ("<", "<="):
            return torch.sigmoid((b - a) / (self.tau * scale))
        return torch.sigmoid((a - b) / (self.tau * scale))

    def equal(self, a: Tensor, b: Tensor, scale: float = 1.0) -> Tensor:
        return torch.exp(-((a - b) ** 2) / (2.0 * (self.sigma * scale) ** 2))

    def in_range(self, value: Tensor, low: Tensor, high: Tensor, low_scale: float = 1.0,
                 high_scale: float = 1.0) -> Tensor:
        above_low = torch.sigmoid((value - low) / (self.tau * low_scale))
        return above_low * torch.sigmoid((high - value) / (self.tau * high_scale))

    # ------------------------------------------------------------ quantifiers
    def forall(self, truth: Tensor, weights: Tensor, dims: Sequence[int]) -> Tensor:
        error = weights * (1.0 - ltn.fuzzy_ops.pi_1(truth))
        return 1.0 - _weighted_root_mean(error, weights, dims, self.semantics.p_forall)

    def exists(self, truth: Tensor, weights: Tensor, dims: Sequence[int]) -> Tensor:
        support = weights * ltn.fuzzy_ops.pi_0(truth)
        return _weighted_root_mean(support, weights, dims, self.semantics.p_exists)


SCALE_FLOOR = 0.01
"""Thresholds closer to 0 than this are treated as this far (keeps τ·scale away from 0)."""


def threshold_scale(*constants: float | None) -> float:
    """The magnitude that makes τ relative: the largest |constant| among a comparison's
    constant operands (floored at SCALE_FLOOR), or 1 when both sides are measured."""
    known = [abs(c) for c in constants if c is not None]
    return max(max(known), SCALE_FLOOR) if known else 1.0


def soft_size(total: Tensor) -> Tensor:
    """The domain size a quantifier averages over: Σw when Σw ≥ 1, else (1 + (Σw)²)/2.

    Exact from one member on (so hard presences give LTN's guarded mean), at least 1/2 for
    an empty domain, and continuously differentiable, unlike max(Σw, 1).
    """
    return torch.where(total >= 1.0, total, (1.0 + total**2) / 2.0)


def _weighted_root_mean(values: Tensor, weights: Tensor, dims: Sequence[int], p: float) -> Tensor:
    """(Σ values^p / n(Σ weights) + ε)^(1/p) over `dims`, n = soft_size."""
    size = soft_size(weights.sum(dim=tuple(dims)))
    floor = max(ROOT_EPS**p, torch.finfo(values.dtype).tiny)
    return (values.pow(p).sum(dim=tuple(dims)) / size + floor).pow(1.0 / p)
