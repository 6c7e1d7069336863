"""The checker: AST → diagnostics, and a CheckedProgram (IR) when there are no errors.

It collects every problem in one run of passes over the file, in this order:

- `declarations`: the category line, objects, attributes, then regions (`regions`) and
  `train {}` / `logic {}` blocks (`settings`) in file order;
- `rules`: each rule's weight and formula, typed by `formulas` and `terms` (`sequences` for
  `sorted` and `distinct`), with the intervals, constants and decisions of `typed`;
- `vacuity`: the rules that a missing part would make hold by themselves (W407).

`context` holds what the passes share: the diagnostics and the declared names.
"""

from __future__ import annotations

import hashlib

from dire_dsl.lang import ast, ir
from dire_dsl.lang.check.context import CheckContext
from dire_dsl.lang.check.declarations import check_category, check_declarations
from dire_dsl.lang.check.rules import check_rules
from dire_dsl.lang.check.vacuity import warn_vacuous_rules
from dire_dsl.lang.diagnostics import Diagnostic, DiagnosticBag
from dire_dsl.lang.signatures import REGISTRY


def check_program(program: ast.Program, source: str, file: str) -> tuple[ir.CheckedProgram | None, list[Diagnostic]]:
    """Run the passes over one parsed file: the checked program (None on errors) and every diagnostic, sorted."""
    ctx = CheckContext(program, source, DiagnosticBag(file))
    REGISTRY.load_plugins()
    for message in REGISTRY.plugin_errors:
        ctx.bag.warning("W406", message, None, help="fix or reinstall the plugin package")
    category = check_category(ctx)
    check_declarations(ctx)
    rules = check_rules(ctx)
    warn_vacuous_rules(ctx, rules)
    if ctx.bag.has_errors or category is None:
        return None, ctx.bag.sorted()
    checked = ir.CheckedProgram(
        category=category,
        objects=[
            ir.ObjectDef(name=name, prompts=decl.prompts, attributes=ctx.attributes.get(name, {}))
            for name, decl in ctx.objects.items()
        ],
        regions=list(ctx.regions.values()),
        rules=rules,
        train=ctx.settings["train"],
        logic=ctx.settings["logic"],
        source_name=file,
        source_sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(),
    )
    return checked, ctx.bag.sorted()
