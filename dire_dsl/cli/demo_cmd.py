"""`dire demo [--category pushpins] [--out DIR]`: synthesize → train → eval → report, in minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.cli.app import app
from dire_dsl.cli.exit_codes import ExitCode


@app.command("demo")
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

    from dire_dsl.cli.eval_cmd import print_report
    from dire_dsl.cli.eval_errors import user_errors
    from dire_dsl.cli.output import err_console
    from dire_dsl.cli.output_paths import output_dir_or_exit
    from dire_dsl.eval.demo import demo

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console(), transient=True)
    tasks = [progress.add_task("starting", total=None)]

    def phase(text: str) -> None:  # one bar per phase; the previous one is hidden
        progress.console.print(f"[bold]›[/] {escape(text)}", markup=True, highlight=False)
        progress.update(tasks[-1], visible=False)
        tasks.append(progress.add_task(text.split(" (")[0].split(":")[0], total=None))

    def count(done: int, total: int) -> None:
        progress.update(tasks[-1], completed=done, total=total)

    def step(record: dict) -> None:
        progress.update(tasks[-1], description=f"training epoch {record['epoch'] + 1}", completed=record["step"],
                        total=record.get("total_steps"))

    output_dir_or_exit(out, "--out")
    with user_errors("the built-in rules"), progress:
        result = demo(category, out, seed=seed, on_phase=phase, on_synth=count, on_step=step, on_eval=count)
    console = Console()
    print_report(result.report, console)
    times = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    typer.echo(f"done in {result.total_seconds:.0f} s ({times})")
    typer.echo(f"metrics: {result.metrics_path}")
    typer.echo(f"report:  {result.report_path}")
    raise typer.Exit(ExitCode.OK)
