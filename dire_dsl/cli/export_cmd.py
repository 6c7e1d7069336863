"""`dire export RUN --out model.onnx`: the run as one ONNX graph, checked for parity first."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.errors import ExitCode


class Quantization(str, Enum):
    int8 = "int8"


def export_command(
    run: Annotated[Path, typer.Argument(help="A run folder written by `dire train`.")],
    out: Annotated[Path, typer.Option("--out", help="The .onnx file to write.")],
    images: Annotated[Path | None, typer.Option(
        "--images", help="Good images to check parity on (default: the run's validation normals).")] = None,
    quantize: Annotated[Quantization | None, typer.Option(
        "--quantize", help="int8: quantize the network's convolutions (calibrated on the parity images); "
                           "prints what it costs.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file dire did not write.")] = False,
) -> None:
    """Export the run as one ONNX graph (network, rules, calibration, metadata), checked against it first."""
    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output_paths import Inputs, output_file_or_exit
    from dire_dsl.deploy.export import export_run

    output_file_or_exit(out, "--out", Inputs(run=run, data_root=images), force)
    with user_errors("the run's rules has errors; fix it first", where=out):
        report = export_run(run, out, images=images, quantize=None if quantize is None else quantize.value,
                            say=lambda line: typer.echo(line, err=True))
    typer.echo(
        f"wrote {report.out} ({report.bytes / 1e6:.1f} MB) in {report.seconds:.0f} s; parity on {report.images} "
        f"image(s): image score within {report.image_score_diff:.2g}, rule truths within {report.rule_truth_diff:.2g}")
    raise typer.Exit(ExitCode.OK)
