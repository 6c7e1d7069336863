"""`dire train RULES --data ROOT --out RUN`: train a detector with rich progress and a JSONL log."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.cli.output import fail
from dire_dsl.errors import ExitCode
from dire_dsl.lang.settings import TRAIN_SETTINGS


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


Structural = Enum("Structural", {value: value for value in TRAIN_SETTINGS["structural"].choices}, type=str)
"""The `structural` setting's choices, from the one table of settings."""


def train(
    rules: Annotated[Path, typer.Argument(help="The category's .rules file.")],
    data: Annotated[Path, typer.Option("--data", help="Folder holding the category folders (MVTec LOCO layout).")],
    out: Annotated[Path, typer.Option("--out", help="Run folder to create.")],
    category: Annotated[str | None,
                        typer.Option(help="Category folder name (default: the rules' category).")] = None,
    backbone: Annotated[str | None,
                        typer.Option(help="Backbone, e.g. conv-small or open_clip:ViT-B-16@/path.pt.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Override `train { epochs }`.")] = None,
    lmbda: Annotated[float | None, typer.Option("--lambda", help="Override `train { lambda }`.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override `train { seed }`.")] = None,
    image_size: Annotated[int | None, typer.Option(help="Override `train { image_size }`.")] = None,
    structural: Annotated[Structural | None, typer.Option(
        help="Override `train { structural }`: what the structural branch compares (off: an ablation).")] = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help="Ablation: the same model with the rules off.")] = False,
    device: Annotated[Device, typer.Option(help="cpu or cuda.")] = Device.cpu,
    resume: Annotated[bool, typer.Option("--resume", help="Continue RUN from its last checkpoint.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing run in RUN.")] = False,
) -> None:
    """Train a detector: grounding on the backbone, rules as losses, calibrated on validation normals."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output_paths import Inputs, output_dir_or_exit
    from dire_dsl.cli.progress import PlainLines, format_losses
    from dire_dsl.train.api import train as run_training

    output_dir_or_exit(out, "--out", Inputs(files=(rules,), data_root=data))
    if device is Device.cuda:
        import torch

        if not torch.cuda.is_available():
            fail("--device cuda was asked for, but no CUDA device is available here; use --device cpu")
            raise typer.Exit(ExitCode.USAGE_ERROR)
    overrides = {"backbone": backbone, "epochs": epochs, "lambda": lmbda, "seed": seed, "image_size": image_size,
                 "structural": None if structural is None else structural.value, "device": device.value}
    if no_rules:
        overrides["use_rules"] = False
    helper = os.environ.get("RANK", "0") != "0"  # under torchrun, rank 0 alone reports progress and results
    console = Console(stderr=True)
    plain = PlainLines() if not helper and not console.is_terminal else None  # a bar shows nothing off a terminal
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), console=console,
                        disable=helper or plain is not None,
                        transient=True)  # gone when training ends or fails: the summary (or the error) says the rest
    task = progress.add_task("preparing", total=None, losses="")
    last_losses: list[str] = []

    def on_step(record: dict) -> None:
        losses = format_losses(record)
        if plain is not None:
            plain.step(record)
        progress.update(task, description=f"epoch {record['epoch'] + 1}", completed=record["step"],
                        total=record.get("total_steps"), losses=losses)
        last_losses[:] = [f"epoch {record['epoch'] + 1}: {losses}"]

    def on_phase(phase: str) -> None:
        progress.update(task, description=phase)
        if plain is not None:
            plain.phase(phase)

    diverged_hint = (f"; the last good checkpoint (if one was written) is kept in {out / 'checkpoints'} "
                     "(try a lower `lr` in the rules file's train block)")
    # an OSError here is e.g. a full disk while writing the final weights (checkpoints say so themselves)
    with user_errors(f"{rules}: fix the rules file first", diverged_hint=diverged_hint), progress:
        result = run_training(rules, data, out, category=category, overrides=overrides, resume=resume,
                              force=force, on_step=on_step, on_phase=on_phase)
    if helper:
        return
    if plain is not None:
        plain.end_phase()
    calibration = result.calibration
    typer.echo(f"trained {result.program.category} → {out}")
    for line in last_losses:
        typer.echo(f"  last step of {line}")
    typer.echo(f"  threshold {calibration.threshold:.3f} (validation normals: {calibration.n_validation})")
    for name, _gate, reason in calibration.pruned:
        typer.echo(f"  pruned rule `{name}`: {reason}")
    if result.pseudo_labels is not None:
        from dire_dsl.grounding.pseudo import describe

        for line in describe(result.pseudo_labels):
            typer.echo(f"  {line}")
        typer.echo(f"  (which images, instance counts, cluster names: {out / 'pseudo_labels.json'})")
