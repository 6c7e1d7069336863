"""`dire measure RULES --data ROOT` / `--run RUN`: what every rule measures on good images,
against the bounds written in the rules file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dire_dsl.cli.output import OutputFormat, fail
from dire_dsl.errors import ExitCode

if TYPE_CHECKING:
    from dire_dsl.lang import ir
    from dire_dsl.measure.good_groundings import GoodImages


class Split(str, Enum):
    train = "train"
    validation = "validation"


def measure_command(
    rules: Annotated[Path, typer.Argument(help="The category's .rules file (its bounds are the ones compared).")],
    data: Annotated[Path | None, typer.Option("--data", help="Folder holding the category folders; read the split's "
                                                             "annotated masks (or, with --run, its images).")] = None,
    run: Annotated[Path | None, typer.Option("--run", help="Read the split's images through this trained run's "
                                                           "grounding instead of the annotations.")] = None,
    category: Annotated[str | None, typer.Option(help="Category folder name (default: the rules' category, "
                                                      "or the run's).")] = None,
    split: Annotated[Split | None, typer.Option(help="Good images to read (default: train for annotations, "
                                                     "validation for a run).")] = None,
    output_format: Annotated[OutputFormat,
                             typer.Option("--format", help="text (default) or json.")] = OutputFormat.text,
    deny_false: Annotated[bool, typer.Option("--deny-false", help="Exit 1 when a rule is false on some good image "
                                                                  "(for pipelines that check rules files).")] = False,
) -> None:
    """Read every rule on good images: how often it holds, and what each comparison measures against its bound."""
    from dire_dsl.cli.errors import user_errors
    from dire_dsl.measure.measurements import read_rules
    from dire_dsl.measure.report import render_json, render_text

    if data is None and run is None:
        fail("give --data (read the annotated masks) or --run (read a trained run's grounding)")
        raise typer.Exit(ExitCode.USAGE_ERROR)
    with user_errors():
        program, good = _good_images(rules, data, run, category, split)
        reader = read_rules(program, good.groundings, good.unannotated)
    render = render_json if output_format is OutputFormat.json else render_text
    typer.echo(render(reader, good.source), nl=False)
    false_somewhere = any(r.holds_on < len(r.truths) for r in reader.readings.values())
    raise typer.Exit(ExitCode.USER_ERROR if deny_false and false_somewhere else ExitCode.OK)


def _good_images(rules: Path, data: Path | None, run: Path | None, category: str | None,
                 split: Split | None) -> tuple[ir.CheckedProgram, GoodImages]:
    from dire_dsl.data.errors import DataError
    from dire_dsl.data.loco import native_size
    from dire_dsl.lang.program import load_rules
    from dire_dsl.measure.good_groundings import annotated_images, run_images
    from dire_dsl.run.config import input_shape, settings_for

    program = load_rules(rules)
    if run is not None:
        trained_program, good = run_images(run, (split or Split.validation).value, data, category)
        if _vocabulary(trained_program) != _vocabulary(program):
            raise DataError(f"{rules} declares other objects or attribute values than the run {run} was trained on; "
                            "measure with the run's own rules (its rules.rules), changing only bounds and rules")
        return program, good
    assert data is not None
    name = category or program.category
    config = settings_for(program, str(data), {})
    hw = input_shape(native_size(data, name), config.image_size)
    return program, annotated_images(program, data, name, (split or Split.train).value, hw)


def _vocabulary(program: ir.CheckedProgram) -> list[tuple[str, dict[str, Any]]]:
    """What a grounding model was built to see: objects and their attributes' values."""
    return [(o.name, {attr: list(values) for attr, values in o.attributes.items()}) for o in program.objects]
