"""`dire demo [--category pushpins] [--out DIR]`: synthesize → train → eval → report, in minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.errors import ExitCode


def demo_command(
    category: Annotated[str, typer.Option(help="A built-in category: breakfast_box, juice_bottle, pushpins, "
                                               "screw_bag, splicing_connectors.")] = "pushpins",
    out: Annotated[Path, typer.Option("--out", help="Folder for the data, the run, the metrics and the report.")]
        = Path("dire-demo"),
    seed: Annotated[int, typer.Option(min=0, help="Seed of the data and of training.")] = 0,
) -> None:
    """The main job: a synthetic data set, a trained detector, its metrics and an HTML report."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.eval_cmd import print_report
    from dire_dsl.cli.output import err_console
    from dire_dsl.cli.output_paths import output_dir_or_exit, output_files_or_exit
    from dire_dsl.cli.progress import PlainLines
    from dire_dsl.workflows.demo import demo

    plain = PlainLines() if not err_console().is_terminal else None  # a bar shows nothing off a terminal
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console(), transient=True, disable=plain is not None)
    tasks = [progress.add_task("starting", total=None)]
    counting = ["images"]  # what the current phase counts, e.g. `synthesizing`, `evaluating`

    def phase(text: str) -> None:  # one bar per phase; the previous one is hidden
        if plain is not None:  # the time stamps of the phases and the closing summary say how long each took
            plain.say(text)
        else:
            progress.console.print(f"[bold]›[/] {escape(text)}", markup=True, highlight=False)
        progress.update(tasks[-1], visible=False)
        counting[:] = [text.split(" (")[0].split(":")[0]]
        tasks.append(progress.add_task(counting[0], total=None))

    def count(done: int, total: int) -> None:
        if plain is not None:
            plain.count(counting[0], done, total)
        progress.update(tasks[-1], completed=done, total=total)

    def step(record: dict) -> None:
        if plain is not None:
            plain.step(record)
        progress.update(tasks[-1], description=f"training epoch {record['epoch'] + 1}", completed=record["step"],
                        total=record.get("total_steps"))

    output_dir_or_exit(out, "--out")
    output_files_or_exit([out / "metrics.json", out / "report.html"], "--out",
                         replace_hint="move it away or give another --out")
    with user_errors("the built-in rules has errors; fix it first"), progress:
        result = demo(category, out, seed=seed, on_phase=phase, on_synth=count, on_step=step, on_eval=count)
    console = Console()
    print_report(result.report, console)
    times = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    typer.echo(f"done in {result.total_seconds:.0f} s ({times})")
    typer.echo(f"metrics: {result.metrics_path}")
    typer.echo(f"report:  {result.report_path}")
    raise typer.Exit(ExitCode.OK)
