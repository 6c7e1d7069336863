"""W407: where a missing part would make a rule hold by itself.

On an empty set a relation, an attribute test or a position is false (docs/language.md,
"Empty sets"), `forall` is true and `exists` false. So a rule can hold *because* a part is
missing in two ways: a `forall` over the instances of an object, and a test about a set
where the rule reads it negated (under `not`, or before `implies`). Both are fine when the
file says elsewhere that the part is there: a count with a lower bound (`count(pin) == 15`,
`count(pin where color == red) >= 1`, a range above 0), an `exists` over it, or a `sorted`
list that names it. Otherwise the checker says so, once per rule and set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dire_dsl.lang import ir
from dire_dsl.lang.check.context import CheckContext

SetKey = tuple[str, ir.Filter | None]


def warn_vacuous_rules(ctx: CheckContext, rules: list[ir.RuleDef]) -> None:
    """W407 for every rule that holds when a set no rule requires is empty."""
    required = {key for rule in rules for key in _required(rule.formula)}
    for rule in rules:
        seen: set[tuple[SetKey, str]] = set()
        for key, why, node in _vacuous(rule.formula, positive=True):
            if _guaranteed(key, required) or (key, why) in seen:
                continue
            seen.add((key, why))
            ctx.bag.warning("W407", f"rule `{rule.name}` holds when the image has no `{_set_text(key)}`: {why}",
                            node.span, help=f"if one must be there, say so: `count({_set_text(key)}) >= 1` "
                                 "(or `== n`) in this rule or another")


def _guaranteed(key: SetKey, required: set[SetKey]) -> bool:
    """Some part of the set is required (any required part of an object makes it non-empty)."""
    return key in required or (key[1] is None and any(obj == key[0] for obj, _ in required))


def _set_text(key: SetKey) -> str:
    obj, where = key
    return obj if where is None else f"{obj} where {where.attribute} {where.op} {where.value}"


def _key(objects: ir.ObjectSet) -> SetKey:
    return objects.object, objects.where


def _required(formula: Any) -> Iterator[SetKey]:
    """Sets the formula says are not empty, wherever it holds: lower-bounded counts and
    `exists` domains among its conjuncts (also inside quantifier bodies)."""
    if isinstance(formula, ir.Connective) and formula.op == "and":
        yield from _required(formula.left)
        yield from _required(formula.right)
    elif isinstance(formula, ir.Quantifier):
        if formula.quantifier == "exists" and formula.domain.kind == "objects":
            yield formula.domain.name, formula.domain.where
        yield from _required(formula.body)
    elif isinstance(formula, ir.Comparison):
        for counted, op, bound in ((formula.left, formula.op, formula.right),
                                   (formula.right, _MIRROR[formula.op], formula.left)):
            value = ir.constant_value(bound)
            if _is_count(counted) and value is not None and _at_least_one(op, value):
                yield _key(counted.args[0])
    elif isinstance(formula, ir.Range):
        low = ir.constant_value(formula.low)
        if _is_count(formula.value) and low is not None and low > 0:
            yield _key(formula.value.args[0])


_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _is_count(term: Any) -> bool:
    return isinstance(term, ir.Measure) and term.func == "count" and isinstance(term.args[0], ir.ObjectSet)


def _at_least_one(op: str, value: float) -> bool:
    return (op == "==" and value >= 0.5) or (op == ">=" and value > 0) or (op == ">" and value >= 0)


def _vacuous(formula: Any, positive: bool) -> Iterator[tuple[SetKey, str, Any]]:
    """(set, why, node) for each place where the set being empty makes `formula` hold
    (`positive`: the formula is read as it is; else negated)."""
    if isinstance(formula, ir.Not):
        yield from _vacuous(formula.operand, not positive)
    elif isinstance(formula, ir.Connective):
        yield from _vacuous(formula.left, positive if formula.op != "implies" else not positive)
        yield from _vacuous(formula.right, positive)
    elif isinstance(formula, ir.Quantifier):
        if formula.domain.kind == "objects" and positive == (formula.quantifier == "forall"):
            key = (formula.domain.name, formula.domain.where)
            word = "`forall` over no instance is true" if positive else "`exists` over no instance is false"
            yield key, word, formula
        yield from _vacuous(formula.body, positive)
    elif not positive:
        for objects in _sets_tested(formula):
            yield _key(objects), f"`{formula.text}` is false on an empty set, so its negation holds", formula


def _sets_tested(formula: Any) -> list[ir.ObjectSet]:
    """Object sets an atom is false without (see `ir.EMPTY_IS_ZERO`)."""
    if isinstance(formula, ir.Predicate):
        return [arg for arg in formula.args if isinstance(arg, ir.ObjectSet)]
    if isinstance(formula, ir.Comparison):
        return ir.measured_sets(formula.left) + ir.measured_sets(formula.right)
    if isinstance(formula, ir.Range):
        return [found for term in (formula.value, formula.low, formula.high) for found in ir.measured_sets(term)]
    subjects = {ir.AttributeIs: lambda f: [f.subject], ir.AttributeSame: lambda f: [f.left, f.right],
                ir.Table: lambda f: [f.source, f.target]}
    for kind, get in subjects.items():
        if isinstance(formula, kind):
            return [dist.subject for dist in get(formula) if isinstance(dist.subject, ir.ObjectSet)]
    return []
