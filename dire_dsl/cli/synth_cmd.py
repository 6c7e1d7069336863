"""`dire synth SPEC_OR_CATEGORY --out ROOT`: generate a SynLOCO data set in MVTec LOCO's layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.errors import ExitCode


def synth(
    spec_or_category: Annotated[str, typer.Argument(
        metavar="SPEC_OR_CATEGORY",
        help="A scene spec file (.toml/.json) or a built-in category: breakfast_box, juice_bottle, pushpins, "
             "screw_bag, splicing_connectors.")],
    out: Annotated[Path, typer.Option("--out", help="Root folder; the data set goes to ROOT/<category>/.")],
    seed: Annotated[int, typer.Option("--seed", min=0,
                                      help="Random seed; the same seed gives byte-identical files.")] = 0,
    size: Annotated[int, typer.Option("--size", min=16, max=4096, help="Longer image side in pixels.")] = 256,
    n_train: Annotated[int, typer.Option("--n-train", min=0, help="Good training images.")] = 350,
    n_val: Annotated[int, typer.Option("--n-val", min=0, help="Good validation images.")] = 60,
    n_test: Annotated[int, typer.Option("--n-test", min=0, help="Test images (good, logical, structural).")] = 300,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Processes; 0 = one per CPU.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Generate a synthetic MVTec LOCO-style data set (images, masks, COCO annotations, records)."""
    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output import err_console
    from dire_dsl.cli.output_paths import output_dir_or_exit
    from dire_dsl.cli.progress import PlainLines
    from dire_dsl.synth.generate import check_layout, check_recipes, synthesize
    from dire_dsl.synth.spec.load import load_spec, resolve_spec_path

    with user_errors():  # a spec's problems, every one of them, before anything is written
        spec = load_spec(spec_or_category)
        check_layout(spec, resolve_spec_path(spec_or_category))
        if n_test > 0:
            check_recipes(spec, resolve_spec_path(spec_or_category))

    output_dir_or_exit(out, "--out")
    progress_bar = None
    task = None
    plain = PlainLines() if not err_console().is_terminal else None  # a bar shows nothing off a terminal

    def on_progress(done: int, total: int) -> None:
        nonlocal progress_bar, task
        if quiet:
            return
        if plain is not None:
            plain.count(f"synth {spec.category}", done, total)
            return
        if progress_bar is None:  # started here, after the worker processes exist
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            progress_bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                    TimeElapsedColumn(), console=err_console(), transient=False)
            progress_bar.start()
            task = progress_bar.add_task(f"synth {spec.category}", total=total)
        progress_bar.update(task, completed=done)

    # an OSError is a full disk or a read-only folder: nothing of the new tree is left behind
    left_as_it_was = f"{out / spec.category} is left as it was (check the folder's permissions and the free space)"
    with user_errors(where=out, disk_hint=left_as_it_was):
        try:
            root = synthesize(spec, out, seed=seed, size=size, n_train=n_train, n_val=n_val, n_test=n_test,
                              workers=workers or None, progress=on_progress, check=False)
        finally:
            if progress_bar is not None:
                progress_bar.stop()
    typer.echo(f"wrote {root} ({n_train} train, {n_val} validation, {n_test} test images at {size} px)")
    raise typer.Exit(ExitCode.OK)
