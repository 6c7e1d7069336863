"""`dire compile FILE`: show what each rule means as a formula tree, with its fuzzy operators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.cli.output import OutputFormat, fail
from dire_dsl.errors import ExitCode


def compile_rules(
    path: Annotated[Path, typer.Argument(help="One .rules file.")],
    emit: Annotated[OutputFormat, typer.Option("--emit", help="text (a tree per rule) or json.")] = OutputFormat.text,
) -> None:
    """Print the compiled formula tree of every rule: measurements, comparisons, connectives, quantifiers."""
    from dire_dsl.lang.program import RulesFileError, check_file
    from dire_dsl.lang.render import render_all_text
    from dire_dsl.logic.plan import program_plan, render_plan_text

    try:
        result = check_file(path)
    except RulesFileError as error:
        fail(str(error))
        raise typer.Exit(ExitCode.USER_ERROR) from None
    if not result.ok or result.program is None:
        typer.echo(render_all_text(result.diagnostics, result.source))
        fail(f"{path}: not compiled, fix the errors above first")
        raise typer.Exit(ExitCode.USER_ERROR)
    plan = program_plan(result.program)
    if emit is OutputFormat.json:
        typer.echo(json.dumps(plan, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_plan_text(plan), nl=False)
