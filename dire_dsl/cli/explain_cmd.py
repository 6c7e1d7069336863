"""`dire explain RUN IMAGE...`: why each image got its score, rule by rule, with overlays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.cli.output import OutputFormat
from dire_dsl.errors import ExitCode


def explain_command(
    run: Annotated[Path, typer.Argument(help="A run folder written by `dire train`.")],
    images: Annotated[list[Path], typer.Argument(help="Image files to explain.")],
    out: Annotated[Path | None,
                   typer.Option("--out", help="Write an overlay PNG per image into this folder.")] = None,
    output_format: Annotated[OutputFormat,
                             typer.Option("--format", help="text (default) or json.")] = OutputFormat.text,
    violated_only: Annotated[bool, typer.Option("--violated-only", help="Text: list only the violated rules.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace existing files in --out that dire did not write "
                                                        "(never an input image).")] = False,
) -> None:
    """Score each image and list every rule's truth, its measurements and source line, violated first."""
    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output_paths import Inputs, output_dir_or_exit, output_files_or_exit
    from dire_dsl.explain.explain import explain, overlay_paths, render_json, render_text

    if out is not None:
        inputs = Inputs(files=tuple(images), run=run)
        output_dir_or_exit(out, "--out", inputs)
        output_files_or_exit(overlay_paths(images, out), "--out", inputs, force)
    with user_errors("the run's rules has errors; fix it first"):
        explanations = explain(run, images, out_dir=out)
    if output_format is OutputFormat.json:
        typer.echo(render_json(explanations), nl=False)
    else:
        typer.echo(render_text(explanations, all_rules=not violated_only), nl=False)
    raise typer.Exit(ExitCode.OK)
