"""What a rule means as a formula tree: measurements → comparisons → connectives → quantifiers.

`dire compile` prints this tree (text) or emits it (JSON), with the fuzzy operator and
parameters each node actually uses. Pure Python: it reads the IR, not tensors.
"""

from __future__ import annotations

from typing import Any

from dire_dsl.lang import ir
from dire_dsl.lang.signatures import REGISTRY
from dire_dsl.logic.semantics import Semantics, semantics_from_settings


def _node(kind: str, label: str, item: ir.IRNode | None = None, fuzzy: str | None = None,
          children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"node": kind, "label": label}
    if fuzzy is not None:
        node["fuzzy"] = fuzzy
    if item is not None:
        node["source"] = item.text
        node["line"] = item.span.line
        node["column"] = item.span.column
    node["children"] = children or []
    return node


# What each built-in computes (docs/logic.md has the details); `{tau}` is filled in.
BUILTIN_FORMULAS = {
    "count": "Σ_k presence·P(where)·share inside the region",
    "area": "Σ mask / (H·W)",
    "x": "mass-weighted mean pixel x",
    "y": "mass-weighted mean pixel y",
    "top": "expected first occupied row, scanning down",
    "bottom": "expected last occupied row, scanning up",
    "left": "expected first occupied column, scanning right",
    "right": "expected last occupied column, scanning left",
    "length": "sqrt(12·λ_max(pixel covariance)) / W",
    "ratio": "a·b / (b² + ε²)",
    "abs": "sqrt(a² + δ²) - δ",
    "inside": "Σ a·b / Σ a",
    "overlaps": "Σ a·b / min(Σ a, Σ b)",
    "touches": "min(1, (Σ (max5×5(a)·b)^8)^(1/8))",
    "joins": "max over paths a→b through via of min(via) (widest path, 3×3 steps)",
    "left_of": "sigmoid((x(b) - x(a))/τ), τ={tau}",
    "right_of": "sigmoid((x(a) - x(b))/τ), τ={tau}",
    "above": "sigmoid((y(b) - y(a))/τ), τ={tau}",
    "below": "sigmoid((y(a) - y(b))/τ), τ={tau}",
}


def _call_formula(func: str, sem: Semantics) -> str:
    signature = REGISTRY.get(func)
    if signature is not None and signature.source != "dire_dsl":
        return f"plugin from {signature.source}"
    return BUILTIN_FORMULAS[func].format(tau=f"{sem.tau:g}")


def _region_label(sel: ir.RegionSelection) -> str:
    if sel.var is not None:
        return f"{sel.region} cell bound to {sel.var}"
    if sel.cell is not None:
        return f"{sel.region}[{sel.cell[0] + 1}, {sel.cell[1] + 1}]"
    return sel.region


def _objects_label(objects: ir.ObjectSet) -> str:
    label = objects.object
    if objects.region is not None:
        label += f" in {_region_label(objects.region)}"
    if objects.where is not None:
        label += f" where {objects.where.attribute} {objects.where.op} {objects.where.value}"
    return label


def term_tree(term: Any, sem: Semantics) -> dict[str, Any]:
    """A numeric term or an argument as a tree node."""
    if isinstance(term, ir.Constant):
        return _node("constant", f"{term.value:g}", term)
    if isinstance(term, ir.ObjectSet):
        return _node("objects", _objects_label(term), term)
    if isinstance(term, ir.Instance):
        return _node("instance", f"{term.var} (a {term.object})", term)
    if isinstance(term, ir.RegionSelection):
        return _node("region", _region_label(term), term)
    if isinstance(term, ir.Measure):
        return _node("measurement", term.func, term, _call_formula(term.func, sem),
                     [term_tree(a, sem) for a in term.args])
    if isinstance(term, ir.Arithmetic):
        return _node("arithmetic", term.op, term, children=[term_tree(term.left, sem), term_tree(term.right, sem)])
    if isinstance(term, ir.Negation):
        return _node("arithmetic", "negate", term, children=[term_tree(term.operand, sem)])
    if isinstance(term, ir.AttributeDistribution):
        subject = term.subject.var if isinstance(term.subject, ir.Instance) else term.subject.object
        return _node("attribute", f"P({subject}.{term.attribute}) over {{{', '.join(term.values)}}}", term)
    raise TypeError(f"unknown term {type(term).__name__}")


def formula_tree(formula: Any, sem: Semantics) -> dict[str, Any]:
    """A formula as a tree node with its fuzzy operator."""
    ops = sem.describe()
    if isinstance(formula, ir.Truth):
        return _node("constant", "true" if formula.value else "false", formula)
    if isinstance(formula, ir.Comparison):
        return _node("comparison", formula.op, formula, ops[formula.op],
                     [term_tree(formula.left, sem), term_tree(formula.right, sem)])
    if isinstance(formula, ir.Range):
        return _node("comparison", "in range", formula, ops["in"],
                     [term_tree(formula.value, sem), term_tree(formula.low, sem), term_tree(formula.high, sem)])
    if isinstance(formula, ir.AttributeIs):
        op = "!=" if formula.negated else "=="
        fuzzy = "1 - P(value)" if formula.negated else "P(value)"
        return _node("attribute test", f"{op} {formula.value}", formula, fuzzy, [term_tree(formula.subject, sem)])
    if isinstance(formula, ir.AttributeSame):
        fuzzy = "1 - Σ_v P(a=v)·P(b=v)" if formula.negated else "Σ_v P(a=v)·P(b=v)"
        return _node("attribute test", "!= (same attribute)" if formula.negated else "== (same attribute)", formula,
                     fuzzy, [term_tree(formula.left, sem), term_tree(formula.right, sem)])
    if isinstance(formula, ir.Table):
        pairs = ", ".join(f"{a}→{b}" for a, b in formula.pairs)
        return _node("mapping table", pairs, formula, "Σ_(u,v)∈table P(src=u)·P(dst=v)",
                     [term_tree(formula.source, sem), term_tree(formula.target, sem)])
    if isinstance(formula, ir.Predicate):
        return _node("relation", formula.func, formula, _call_formula(formula.func, sem),
                     [term_tree(a, sem) for a in formula.args])
    if isinstance(formula, ir.Not):
        return _node("connective", "not", formula, ops["not"], [formula_tree(formula.operand, sem)])
    if isinstance(formula, ir.Connective):
        return _node("connective", formula.op, formula, ops[formula.op],
                     [formula_tree(formula.left, sem), formula_tree(formula.right, sem)])
    if isinstance(formula, ir.Quantifier):
        domain = formula.domain
        what = f"instances of {domain.name}" if domain.kind == "objects" else f"cells of {domain.name}"
        if domain.where is not None:
            what += f" where {domain.where.attribute} {domain.where.op} {domain.where.value}"
        pairs = " (ordered pairs of distinct members)" if len(formula.variables) == 2 else ""
        fuzzy = ops[formula.quantifier]
        if domain.kind == "objects":
            weight = "presence" if domain.where is None else "presence·P(where)"
            if len(formula.variables) == 2:
                weight = "·".join(f"{weight}({v})" for v in formula.variables)
            guard = "→" if formula.quantifier == "forall" else "∧"
            fuzzy += f" of ({weight} {guard} body), mean over Σ {weight} (≥ 1, smooth below) members"
        return _node("quantifier", f"{formula.quantifier} {', '.join(formula.variables)} in {what}{pairs}", formula,
                     fuzzy, [formula_tree(formula.body, sem)])
    raise TypeError(f"unknown formula {type(formula).__name__}")


def program_plan(program: ir.CheckedProgram) -> dict[str, Any]:
    """The whole compiled program as plain data (what `dire compile --emit json` prints)."""
    sem = semantics_from_settings(program.logic)
    return {
        "category": program.category,
        "source": program.source_name,
        "sha256": program.source_sha256,
        "semantics": {"name": sem.name, "operators": sem.describe()},
        "objects": [o.model_dump(mode="json") for o in program.objects],
        "regions": [r.model_dump(mode="json") for r in program.regions],
        "train": program.train,
        "rules": [
            {"name": rule.name, "weight": rule.weight, "hard": rule.hard, "line": rule.span.line,
             "source": rule.source, "formula": formula_tree(rule.formula, sem)}
            for rule in program.rules
        ],
        "aggregate": {"S_logic": "1 - Σ_r g_r·(1 - S_r) / Σ_r g_r, gate g_r = |w_r| (hard rules: fixed)",
                      "penalty": "λ·Σ_r |g_r| over soft rules",
                      "pruned": f"soft rules with g_r < prune_threshold = {program.train['prune_threshold']:g}"},
    }


def render_plan_text(plan: dict[str, Any]) -> str:
    """The plan as an indented tree, one rule after another."""
    lines = [f"category {plan['category']}  ({plan['source']})",
             f"semantics: {plan['semantics']['name']}"]
    for rule in plan["rules"]:
        lines.append("")
        kind = "hard" if rule["hard"] else "soft"
        lines.append(f"rule {rule['name']}  [weight {rule['weight']:g}, {kind}, line {rule['line']}]")
        lines.append(f"  {rule['source']}")
        _render_node(rule["formula"], "  ", True, lines)
    return "\n".join(lines) + "\n"


def _render_node(node: dict[str, Any], prefix: str, last: bool, lines: list[str]) -> None:
    branch = "└─ " if last else "├─ "
    fuzzy = f"   ⟨{node['fuzzy']}⟩" if "fuzzy" in node else ""
    lines.append(f"{prefix}{branch}{node['node']}: {node['label']}{fuzzy}")
    child_prefix = prefix + ("   " if last else "│  ")
    for index, child in enumerate(node["children"]):
        _render_node(child, child_prefix, index == len(node["children"]) - 1, lines)
