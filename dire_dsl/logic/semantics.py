"""The fuzzy semantics, chosen in one place: which LTN operator each connective uses.

This module is pure data (no torch), so `dire compile` can show the operators without
loading the logic layer; `dire_dsl.logic.operators` turns the names into LTN objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Semantics:
    """Names of the `ltn.fuzzy_ops` classes for each connective, and the quantifier parameters."""

    name: str
    and_op: str
    or_op: str
    implies_op: str
    not_op: str
    sigma: float
    tau: float
    p_forall: float
    p_exists: float

    @property
    def forall_op(self) -> str:
        return "AggregPMeanError"

    @property
    def exists_op(self) -> str:
        return "AggregPMean"

    def describe(self) -> dict[str, str]:
        """Human-readable operator per construct, with the parameters actually used."""
        return {
            "and": f"{self.and_op}()",
            "or": f"{self.or_op}()",
            "implies": f"{self.implies_op}()",
            "not": f"{self.not_op}()",
            "forall": f"{self.forall_op}(p={self.p_forall:g}, stable=True)",
            "exists": f"{self.exists_op}(p={self.p_exists:g}, stable=True)",
            "==": f"exp(-(a-b)²/2(σ·s)²), σ={self.sigma:g} (s = 1 for counts)",
            "!=": f"1 - exp(-(a-b)²/2(σ·s)²), σ={self.sigma:g} (s = 1 for counts)",
            "<=": f"sigmoid((b-a)/(τ·s)), τ={self.tau:g}",
            "<": f"sigmoid((b-a)/(τ·s)), τ={self.tau:g}",
            ">=": f"sigmoid((a-b)/(τ·s)), τ={self.tau:g}",
            ">": f"sigmoid((a-b)/(τ·s)), τ={self.tau:g}",
            "in": f"sigmoid((v-lo)/(τ·s_lo)) · sigmoid((hi-v)/(τ·s_hi)), τ={self.tau:g}",
            "scale": "s = max(|threshold constant|, 0.01); s = 1 when both sides are measured",
        }


# Connectives of each named semantics (all from ltn.fuzzy_ops).
CONNECTIVES: dict[str, tuple[str, str, str, str]] = {
    "product": ("AndProd", "OrProbSum", "ImpliesReichenbach", "NotStandard"),
    "lukasiewicz": ("AndLuk", "OrLuk", "ImpliesLuk", "NotStandard"),
    "godel": ("AndMin", "OrMax", "ImpliesGodel", "NotStandard"),
}


def semantics_from_settings(logic: dict[str, Any]) -> Semantics:
    """Build the Semantics of a checked program's `logic {}` block (defaults filled in)."""
    and_op, or_op, implies_op, not_op = CONNECTIVES[logic["semantics"]]
    return Semantics(
        name=logic["semantics"], and_op=and_op, or_op=or_op, implies_op=implies_op, not_op=not_op,
        sigma=float(logic["sigma"]), tau=float(logic["tau"]),
        p_forall=float(logic["p_forall"]), p_exists=float(logic["p_exists"]),
    )
