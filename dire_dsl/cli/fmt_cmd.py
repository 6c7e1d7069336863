"""`dire fmt PATH...`: rewrite rules files in canonical form (atomically), or `--check` them."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.cli.output import fail
from dire_dsl.cli.paths import rules_files_or_exit
from dire_dsl.errors import ExitCode


def fmt(
    paths: Annotated[list[Path], typer.Argument(help="Rules files or folders holding them.")],
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print what would change as a unified diff; change nothing "
                                                    "(exit 0; with --check, exit 1 if a file would change).")] = False,
) -> None:
    """Put rules files in canonical form; comments are kept and formatting is idempotent."""
    from dire_dsl.atomic import atomic_write_text
    from dire_dsl.lang.diagnostics import RulesSyntaxError
    from dire_dsl.lang.format import format_source
    from dire_dsl.lang.program import RulesFileError, read_rules_text
    from dire_dsl.lang.render import render_all_text

    files = rules_files_or_exit(paths)
    changed, broken, unwritable = [], [], False
    for file in files:
        try:
            source = read_rules_text(file)
            formatted = format_source(source, str(file))
        except RulesFileError as error:
            fail(str(error))
            broken.append(file)
            continue
        except RulesSyntaxError as error:
            typer.echo(render_all_text(error.diagnostics, source) + "\n")
            fail(f"{file}: not formatted, fix the syntax errors first")
            broken.append(file)
            continue
        if formatted == source:
            continue
        changed.append(file)
        if diff:
            typer.echo("".join(difflib.unified_diff(source.splitlines(True), formatted.splitlines(True),
                                                    f"{file} (original)", f"{file} (formatted)")))
        if not (check or diff):
            try:
                atomic_write_text(file, formatted)
            except OSError as error:
                fail(f"{file}: cannot write the formatted file ({error.strerror}); the original is unchanged")
                unwritable = True
                changed.remove(file)
    verb = "would reformat" if check or diff else "reformatted"
    for file in changed:
        typer.echo(f"{verb} {file}")
    unread = f", {len(broken)} not formatted (errors above)" if broken else ""
    typer.echo(f"{len(changed)} file(s) {verb}, {len(files) - len(changed) - len(broken)} unchanged{unread}")
    if unwritable:
        raise typer.Exit(ExitCode.USAGE_ERROR)
    failed = bool(broken) or (check and bool(changed))  # --diff alone previews: not a failure
    raise typer.Exit(ExitCode.USER_ERROR if failed else ExitCode.OK)
