"""`dire eval RUN --data ROOT`: metrics JSON, official-layout TIFF maps and an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dire_dsl.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from dire_dsl.eval.evaluate import EvalReport


def print_report(report: EvalReport, console: Console) -> None:
    """The metrics, separation, results per defect type, warnings and per-rule table as rich tables."""
    from rich.table import Table

    table = Table(title=f"{report.category}: {sum(report.n_images.values())} test images", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.summary():
        table.add_row(name, value)
    console.print(table)
    sep = Table(title="separation (image score = max of the anomaly map)", title_justify="left")
    for column in ("vs good", "d'", "gap", "relative gap", "mean normal", "std normal", "mean anomaly"):
        sep.add_column(column, justify="right" if column != "vs good" else "left")
    for kind, block in (("logical", report.separation.logical), ("structural", report.separation.structural)):
        if block is not None:
            sep.add_row(kind, f"{block.d_prime:.2f}", f"{block.gap:.3f}", f"{block.relative_gap:.3f}",
                        f"{block.mean_normal:.3f}", f"{block.std_normal:.3f}", f"{block.mean_anomaly:.3f}")
    console.print(sep)
    console.print(_defect_table(report))
    for warning in report.warnings:
        console.print(f"[bold red]warning:[/] {warning}", markup=True, highlight=False)
    if report.rules.rules:
        console.print(_rule_table(report))
    for pruned in report.rules.pruned:
        console.print(f"pruned rule `{pruned.rule}` (gate {pruned.gate:.4f}): {pruned.reason}", highlight=False)


def _defect_table(report: EvalReport) -> Table:
    """Each defect type against the good images: what the detector finds, and through which rule."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="by defect type (vs the good test images)", title_justify="left")
    for column in ("defect type", "kind", "images", "AUROC", "detected", "mostly decided by"):
        table.add_column(column, justify="right" if column in ("images", "AUROC", "detected") else "left")
    for block in report.defect_types:
        decider = report.rules.deciding_rule(block.defect_type)
        table.add_row(escape(block.defect_type), block.kind.split("_")[0], str(block.images), f"{block.auroc:.3f}",
                      f"{block.detected} ({block.detection_rate:.0%})",
                      "–" if decider is None else f"{decider[0]} ({decider[1]:.0%})")
    return table


def _rule_table(report: EvalReport) -> Table:
    """Per rule and kind, how often it is violated (`evidence.rule_violated`) and decides a flagged image."""
    from rich.table import Table

    table = Table(title="rule violation rate: % violated (z ≥ 3 normal spreads) / % deciding (violated, the "
                        "largest z, image flagged)", title_justify="left")
    kinds = [k for k in ("logical_anomalies", "structural_anomalies") if k in report.rules.counts]
    for column in ("rule", "good", *kinds):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for row in report.rules.rules:
        table.add_row(row.rule, f"{row.normal_rate:.0%} / {row.normal_deciding:.0%}",
                      *(f"{row.anomaly_rates.get(k, 0):.0%} / {row.anomaly_deciding.get(k, 0):.0%}" for k in kinds))
    return table


def evaluate_command(
    run: Annotated[Path, typer.Argument(help="A run folder written by `dire train`.")],
    data: Annotated[Path, typer.Option("--data", help="Folder holding the category folders (MVTec LOCO layout).")],
    category: Annotated[str | None, typer.Option(help="Category folder name (default: the run's).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON here.")] = None,
    report_path: Annotated[Path | None, typer.Option("--report", help="Write the HTML report here.")] = None,
    maps: Annotated[Path | None, typer.Option("--maps", help="Write float32 TIFF anomaly maps under this folder "
                                                               "(<maps>/<category>/test/<split>/<id>.tiff).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images per forward pass.")] = 32,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files that dire did not write "
                                                        "(never the run's files or the data).")] = False,
) -> None:
    """Evaluate a run on the test split: AUROC, AU-sPRO, separation, per-rule stats, timing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output import err_console
    from dire_dsl.cli.output_paths import (
        Inputs,
        distinct_outputs_or_exit,
        output_dir_or_exit,
        output_file_or_exit,
        output_files_or_exit,
    )
    from dire_dsl.cli.progress import PlainLines
    from dire_dsl.eval.evaluate import evaluate
    from dire_dsl.eval.report import write_report

    bar: Progress | None = None  # started with the first scored batch, so errors come without a bar
    plain = PlainLines() if not err_console().is_terminal else None  # a bar shows nothing off a terminal

    def on_progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if plain is not None:
            plain.count("scoring test images", done, total)
            return
        if bar is None:
            bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=err_console())
            bar.start()
            bar.add_task("scoring test images", total=total)
        bar.update(bar.task_ids[0], completed=done, total=total)

    inputs = Inputs(data_root=data, run=run)
    distinct_outputs_or_exit({"--json": json_path, "--report": report_path})
    output_file_or_exit(json_path, "--json", inputs, force)
    output_file_or_exit(report_path, "--report", inputs, force)
    output_dir_or_exit(maps, "--maps", inputs)
    if maps is not None:  # the maps an earlier evaluation left there are replaced; anything else needs --force
        output_files_or_exit(sorted(maps.glob(f"{category or '*'}/test/*/*.tiff")), "--maps", inputs, force)
    with user_errors("the run's rules has errors; fix it first"):
        try:
            report = evaluate(run, data, category, maps_dir=maps, batch_size=batch_size, on_progress=on_progress)
        finally:
            if bar is not None:
                bar.stop()
        if json_path is not None:
            report.write_json(json_path)
        if report_path is not None:
            write_report(report, report_path, run=run)
    console = Console()
    print_report(report, console)
    for what, path in (("metrics", json_path), ("report", report_path), ("maps", maps)):
        if path is not None:
            typer.echo(f"{what}: {path}")
    raise typer.Exit(ExitCode.OK)
