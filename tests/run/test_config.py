"""Run configuration: rules-file settings, command-line overrides, input shape; every `train {}`
key refused alike by the rules file, the command line, a sweep's grid and a run's config.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dire_dsl.cli.app import app
from dire_dsl.lang.program import check_source
from dire_dsl.lang.settings import TRAIN_SETTINGS, SettingSpec
from dire_dsl.run.config import MAX_INPUT_SIDE, MAX_SLOTS, SettingError, TrainConfig, input_shape, settings_for
from dire_dsl.run.folder import RunDirError, create_run_dir
from dire_dsl.train.api import slots_for

SOURCE = 'category c\nobject pin "p"\nrule r:\n    count(pin) == 1\n\ntrain { epochs = 3, lambda = 5e-7 }\n'


def test_rules_settings_then_overrides() -> None:
    program = check_source(SOURCE).program
    config = settings_for(program, "/data", {"epochs": 7, "lr": None})
    assert config.epochs == 7 and config.lambda_ == 5e-7 and config.lr == program.train["lr"]
    assert config.category == "c" and config.rules_sha256 == program.source_sha256
    assert config.dump()["lambda"] == 5e-7


@pytest.mark.parametrize(("override", "words"), [
    ({"epochs": 0}, "`epochs` must be in [1, 10000]; got 0"),
    ({"seed": -1}, "`seed` must be in [0, 4294967295]; got -1"),
    ({"image_size": 5000}, "`image_size` must be in [16, 4096]; got 5000"),
    ({"lambda": float("nan")}, "`lambda` must be a finite number; got nan"),
    ({"device": 3}, "`device` = 3: input should be a valid string"),
])
def test_invalid_override_is_one_clear_error(override: dict, words: str) -> None:
    program = check_source(SOURCE).program
    with pytest.raises(SettingError, match="invalid training setting") as info:
        settings_for(program, "/data", override)
    assert words in str(info.value)


def test_input_shape_keeps_the_aspect_ratio() -> None:
    assert input_shape((1000, 1700), 160) == (96, 160)
    assert input_shape((1600, 800), 128) == (128, 64)
    assert input_shape((100, 100), 20) == (16, 16)


@pytest.mark.parametrize(("field", "value", "bound"), [
    ("input_height", 200_000, MAX_INPUT_SIDE), ("input_width", 10**9, MAX_INPUT_SIDE), ("slots", 10**9, MAX_SLOTS),
])
def test_derived_sizes_in_a_runs_config_json_are_bounded(tmp_path: Path, field: str, value: int, bound: int) -> None:
    program = check_source(SOURCE).program
    run = create_run_dir(tmp_path / "run")
    run.write_config(settings_for(program, "/data", {}))
    path = tmp_path / "run" / "config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, field: value}))
    with pytest.raises(RunDirError, match=rf"config\.json is damaged \({field}: input should be less than or equal "
                                          rf"to {bound}\); restore it"):
        run.read_config(TrainConfig)
    path.write_text(json.dumps({**config, field: bound}))
    assert getattr(run.read_config(TrainConfig), field) == bound


def test_slots_never_exceed_the_bound_a_run_is_read_with() -> None:
    assert slots_for(10) == 17 and slots_for(10**6) == MAX_SLOTS


def _beyond(spec: SettingSpec, bound: float, direction: int) -> int | float:
    """The nearest value past `bound`: a whole number, or a millionth of the bound's size."""
    step = 1 if spec.type is int else 1e-6 * max(abs(bound), 1)
    return spec.coerce(bound + direction * step)


def _just_out_of_range(spec: SettingSpec) -> list[Any]:
    """Each finite bound's nearest refused value, a choice the key lacks, and true for a number
    (which pydantic alone would read as 1)."""
    values: list[Any] = []
    if math.isfinite(spec.low):
        values.append(spec.coerce(spec.low) if spec.low_open else _beyond(spec, spec.low, -1))
    if math.isfinite(spec.high):
        values.append(_beyond(spec, spec.high, +1))
    if spec.choices:
        values.append("not_a_mode")
    if spec.key in ("epochs", "fusion"):
        values.append(True)
    return values


REFUSED = [(key, value) for key, spec in TRAIN_SETTINGS.items() for value in _just_out_of_range(spec)]
TRAIN_OPTIONS = {"epochs": "--epochs", "lambda": "--lambda", "seed": "--seed", "image_size": "--image-size"}
"""The `train {}` keys `dire train` has an option for; every key can be given to `dire sweep --grid`."""


def _text(value: Any) -> str:
    """`value` as typed in a rules file or on the command line."""
    return "true" if value is True else repr(value) if isinstance(value, float) else str(value)


def _cli_refusal(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.output.count("error:") == 1, result.output
    return " ".join(result.output.split())  # the console wraps long lines


def test_the_refused_values_cover_every_bounded_key() -> None:
    unbounded = {key for key, spec in TRAIN_SETTINGS.items() if not _just_out_of_range(spec)}
    assert unbounded == {"backbone"}  # any text names a backbone; loading it says whether it exists


@pytest.mark.parametrize(("key", "value"), REFUSED, ids=[f"{key}={_text(value)}" for key, value in REFUSED])
def test_a_setting_is_refused_alike_by_the_rules_file_command_line_grid_and_config_json(
        tmp_path: Path, key: str, value: Any) -> None:
    problem = TRAIN_SETTINGS[key].problem(value)
    assert problem is not None and str(TRAIN_SETTINGS[key].key) in problem

    literal = f'"{value}"' if isinstance(value, str) else _text(value)
    diagnostics = check_source(SOURCE.replace("epochs = 3, lambda = 5e-7", f"{key} = {literal}")).diagnostics
    assert [(d.code, d.message) for d in diagnostics] == [("E311", problem)]

    rules, data = tmp_path / "c.rules", tmp_path / "data"
    rules.write_text(SOURCE)
    data.mkdir()
    grid = _cli_refusal(["sweep", str(rules), "--data", str(data), "--out", str(tmp_path / "sweep"),
                         "--grid", f"{key}={_text(value)}"])
    assert problem in grid, grid
    if key in TRAIN_OPTIONS and not isinstance(value, bool):
        option = _cli_refusal(["train", str(rules), "--data", str(data), "--out", str(tmp_path / "run"),
                               TRAIN_OPTIONS[key], _text(value)])
        assert problem in option and not (tmp_path / "run").exists(), option

    run = create_run_dir(tmp_path / "saved")
    run.write_config(settings_for(check_source(SOURCE).program, "/data", {}))
    path = tmp_path / "saved" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), TRAIN_SETTINGS[key].field_name: value}))
    with pytest.raises(RunDirError, match="config.json is damaged") as info:
        run.read_config(TrainConfig)
    assert problem in str(info.value)
