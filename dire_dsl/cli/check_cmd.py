"""`dire check PATH...`: report every problem in rules files, like a compiler does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.cli.output import OutputFormat, fail
from dire_dsl.cli.paths import rules_files_or_exit
from dire_dsl.errors import ExitCode


def check(
    paths: Annotated[list[Path], typer.Argument(help="Rules files or folders holding them.")],
    output_format: Annotated[OutputFormat,
                             typer.Option("--format", help="text (default) or json.")] = OutputFormat.text,
    deny_warnings: Annotated[bool, typer.Option("--deny-warnings", help="Count warnings as errors.")] = False,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop after the first file with errors.")] = False,
) -> None:
    """Check rules files and print every error and warning, with its code, line and column."""
    from dire_dsl.lang.program import RulesFileError, check_file
    from dire_dsl.lang.render import render_all_text

    files = rules_files_or_exit(paths)
    reports, n_errors, n_warnings, failed, unreadable = [], 0, 0, False, 0
    for file in files:
        try:
            result = check_file(file)
        except RulesFileError as error:
            fail(str(error))
            failed, unreadable = True, unreadable + 1
            if output_format is OutputFormat.json:
                reports.append({"file": str(file), "ok": False, "diagnostics": [], "unreadable": str(error)})
            continue
        errors, warnings = len(result.errors), len(result.warnings)
        n_errors, n_warnings = n_errors + errors, n_warnings + warnings
        if output_format is OutputFormat.json:
            diagnostics = [d.to_dict() for d in result.diagnostics]
            reports.append({"file": str(file), "ok": result.ok, "diagnostics": diagnostics})
        elif result.diagnostics:
            typer.echo(render_all_text(result.diagnostics, result.source) + "\n")
        if errors or (deny_warnings and warnings):
            failed = True
            if fail_fast:
                break
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"files": reports, "errors": n_errors, "warnings": n_warnings, "unreadable": unreadable},
                              indent=2, ensure_ascii=False))
    else:
        cannot = f", {unreadable} file(s) could not be read" if unreadable else ""
        typer.echo(f"checked {len(files)} file(s): {n_errors} error(s), {n_warnings} warning(s){cannot}")
    raise typer.Exit(ExitCode.USER_ERROR if failed else ExitCode.OK)
