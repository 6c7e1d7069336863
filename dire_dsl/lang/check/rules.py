"""The rule pass: rule names, weights, and each rule's formula typed into IR.

It runs after the declarations, which it only reads. A rule that no image can change
(always true or false as a whole) is reported here, once, unless a part of it already was.
"""

from __future__ import annotations

from dire_dsl.lang import ast, ir
from dire_dsl.lang.check.context import CheckContext
from dire_dsl.lang.check.formulas import FormulaChecker
from dire_dsl.lang.check.terms import Scope
from dire_dsl.lang.check.typed import ERROR

MIN_WEIGHT, MAX_WEIGHT = 1e-6, 1e6
"""Rule weights start float32 gates, and only their ratios matter: beyond this range a gate
reads as 0 (the rule silently off) or a sum of gates as inf (S_logic NaN)."""


def check_rules(ctx: CheckContext) -> list[ir.RuleDef]:
    """Every rule in file order; E211 for a name used twice (both rules are still checked)."""
    checker = FormulaChecker(ctx)
    rules: list[ir.RuleDef] = []
    rule_names: dict[str, ast.RuleDecl] = {}
    for item in ctx.program.items:
        if isinstance(item, ast.RuleDecl):
            if item.name.text in rule_names:
                first = rule_names[item.name.text].name.span.line
                ctx.bag.error("E211", f"rule `{item.name.text}` is already declared on line {first}",
                              item.name.span, help="give each rule its own name")
            rule_names.setdefault(item.name.text, item)
            rule = _rule(ctx, checker, item)
            if rule is not None:
                rules.append(rule)
    return rules


def _rule(ctx: CheckContext, checker: FormulaChecker, decl: ast.RuleDecl) -> ir.RuleDef | None:
    ctx.check_name(decl.name)
    weight = 1.0
    if decl.weight is not None:
        if not MIN_WEIGHT <= decl.weight.value <= MAX_WEIGHT:
            ctx.bag.error("E315", f"a rule weight must be in [{MIN_WEIGHT:g}, {MAX_WEIGHT:g}]; got {decl.weight.text}",
                          decl.weight.span, help="weights count relative to each other; to switch a rule off, "
                                                 "delete it or comment it out")
        weight = decl.weight.value
    before = len(ctx.bag.items)
    typed = checker.formula(decl.body, Scope(), "a rule")
    if typed.kind == ERROR:
        return None
    trivial_inside = any(d.code in ("W403", "W404") for d in ctx.bag.items[before:])
    if typed.decided is not None and not trivial_inside:
        code, word = ("W403", "true") if typed.decided else ("W404", "false")
        ctx.bag.warning(code, f"rule `{decl.name.text}` is always {word}, whatever the image shows", decl.body.span,
                        help="a rule that cannot change does not help detect anything")
    if ctx.bag.has_errors:
        return None
    return ir.RuleDef(name=decl.name.text, weight=weight, hard=decl.hardness == "hard", formula=typed.node,
                      span=decl.span, source=ctx.text(decl.span))
