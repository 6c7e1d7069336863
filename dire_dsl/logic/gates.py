"""Rule gates: how much each rule counts in S_logic, learnt and λ-pruned for soft rules.

g_r = |w_r| for a soft rule (w_r starts at the rule's weight and trains); a hard rule's
gate is its weight, fixed, never penalised, never pruned.

    S_logic = 1 - Σ_r g_r (1 - S_r) / Σ_r g_r
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dire_dsl.lang import ir

GATE_EPS = 1e-8
"""Keeps S_logic defined when every gate has been driven to zero."""


class RuleGates(nn.Module):
    """One non-negative gate per rule, in program order."""

    def __init__(self, rules: list[ir.RuleDef]) -> None:
        super().__init__()
        self.names = tuple(rule.name for rule in rules)
        self.hard = tuple(rule.hard for rule in rules)
        soft = [rule.weight for rule in rules if not rule.hard]
        fixed = [rule.weight for rule in rules if rule.hard]
        self.soft = nn.Parameter(torch.tensor(soft, dtype=torch.float32))
        self.register_buffer("fixed", torch.tensor(fixed, dtype=torch.float32))
        order = [i for i, rule in enumerate(rules) if not rule.hard] + [i for i, rule in enumerate(rules) if rule.hard]
        self.register_buffer("order", torch.tensor([order.index(i) for i in range(len(rules))], dtype=torch.long))
        self.register_buffer("active", torch.ones(len(rules)))

    def values(self) -> Tensor:
        """Gates [R] in program order (differentiable w.r.t. the soft ones); pruned rules give 0."""
        return torch.cat([self.soft.abs(), self.fixed])[self.order] * self.active

    def aggregate(self, truth: Tensor) -> Tensor:
        """S_logic [B] from rule truths [B, R], in the truths' dtype and device."""
        gates = self.values().to(truth)
        return 1.0 - ((1.0 - truth) * gates).sum(-1) / (gates.sum() + GATE_EPS)

    def penalty(self, lmbda: float) -> Tensor:
        """λ·Σ|g| over the soft rules (hard rules are not pruned, so not penalised)."""
        return lmbda * self.soft.abs().sum()

    def pruned(self, threshold: float) -> list[tuple[str, float, str]]:
        """(rule, gate, reason) for every soft rule whose gate is below `threshold`."""
        gates = self.values().detach().cpu().tolist()
        active = self.active.bool().tolist()
        return [
            (name, gate, f"gate {gate:.3g} < prune_threshold {threshold:g}" if on else "switched off by prune()")
            for name, gate, hard, on in zip(self.names, gates, self.hard, active)
            if not hard and gate < threshold
        ]

    def prune(self, threshold: float) -> list[tuple[str, float, str]]:
        """Switch pruned rules off for good (their gate becomes exactly 0); returns them."""
        found = self.pruned(threshold)
        for name, _, _ in found:
            self.active[self.names.index(name)] = 0.0
        return found
