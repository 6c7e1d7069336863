"""`dire sweep RULES --data ROOT --grid lambda=5e-7,5e-6`: one run per setting, chosen on validation data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.errors import ExitCode


class CriterionChoice(str, Enum):
    auroc = "auroc"
    d_prime = "d_prime"


def sweep_command(
    rules: Annotated[Path, typer.Argument(help="The category's .rules file.")],
    data: Annotated[Path, typer.Option("--data", help="Folder holding the category folders (MVTec LOCO layout).")],
    grid: Annotated[list[str], typer.Option("--grid", help="KEY=V1,V2,... (repeatable), e.g. lambda=5e-7,5e-6; "
                                                           "keys are train settings, e.g. epochs, lr, use_rules.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the runs and the table "
                                                              "(default: sweep-<rules file name>).")] = None,
    category: Annotated[str | None,
                        typer.Option(help="Category folder name (default: the rules' category).")] = None,
    criterion: Annotated[CriterionChoice,
                         typer.Option(help="auroc (the mean of validation normals vs rule-derived anomalies "
                                           "and vs generic defects; ties: d') or d_prime.")] = CriterionChoice.auroc,
    write_back: Annotated[bool, typer.Option("--write-back", help="Write the winner into the rules file's "
                                                                  "train {} block.")] = False,
    no_test: Annotated[bool, typer.Option("--no-test", help="Do not score the test split at all.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a sweep.json or sweep.md in --out that dire did "
                                                        "not write.")] = False,
) -> None:
    """Train each setting of the grid; choose by a validation criterion (never the test set)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output import err_console
    from dire_dsl.cli.output_paths import Inputs, output_dir_or_exit, output_files_or_exit
    from dire_dsl.workflows.sweep import parse_grid, sweep

    out = out or Path(f"sweep-{rules.stem}")
    inputs = Inputs(files=(rules,), data_root=data)
    output_dir_or_exit(out, "--out", inputs)
    output_files_or_exit([out / "sweep.json", out / "sweep.md"], "--out", inputs, force)
    with user_errors(f"{rules} has errors; fix it first"):
        parsed = parse_grid(grid)
        result = sweep(rules, data, parsed, out, category=category,
                       criterion=criterion.value, evaluate_test=not no_test, write_back_winner=write_back,
                       on_phase=lambda phase: err_console().print(f"[dim]{escape(phase)}[/]", markup=True,
                                                                  highlight=False))
    header, rows = result.table()
    table = Table(title=f"sweep of {rules} (criterion: validation {result.criterion})", title_justify="left")
    for column in header:
        table.add_column(column, justify="left" if column in ("category", "setting") else "right")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    typer.echo(f"chosen: {result.winner} (validation anomalies: {result.rows[0].validation.source})")
    if result.written_back:
        typer.echo(f"wrote {', '.join(f'{k} = {v}' for k, v in result.written_back.items())} into {rules}")
    typer.echo(f"table: {out / 'sweep.md'}")
    raise typer.Exit(ExitCode.OK)
