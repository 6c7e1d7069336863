"""Run configuration: rules-file settings, command-line overrides, input shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dire_dsl.lang.program import check_source
from dire_dsl.train.api import slots_for
from dire_dsl.run.config import (MAX_INPUT_SIDE, MAX_SEED, MAX_SLOTS, ConfigError, TrainConfig, input_shape,
                                   settings_for)
from dire_dsl.run.folder import RunDirError, create_run_dir

SOURCE = 'category c\nobject pin "p"\nrule r:\n    count(pin) == 1\n\ntrain { epochs = 3, lambda = 5e-7 }\n'


def test_rules_settings_then_overrides() -> None:
    program = check_source(SOURCE).program
    config = settings_for(program, "/data", {"epochs": 7, "lr": None})
    assert config.epochs == 7 and config.lambda_ == 5e-7 and config.lr == program.train["lr"]
    assert config.category == "c" and config.rules_sha256 == program.source_sha256
    assert config.dump()["lambda"] == 5e-7


@pytest.mark.parametrize(("override", "words"), [
    ({"epochs": 0}, "`epochs` = 0: input should be greater than or equal to 1"),
    ({"seed": -1}, "`seed` = -1"),
    ({"image_size": 5000}, "less than or equal to 4096"),
    ({"lambda": float("nan")}, "`lambda` = nan: input should be a finite number"),
])
def test_invalid_override_is_one_clear_error(override: dict, words: str) -> None:
    program = check_source(SOURCE).program
    with pytest.raises(ConfigError, match="invalid training setting") as info:
        settings_for(program, "/data", override)
    assert words in str(info.value)


def test_input_shape_keeps_the_aspect_ratio() -> None:
    assert input_shape((1000, 1700), 160) == (96, 160)
    assert input_shape((1600, 800), 128) == (128, 64)
    assert input_shape((100, 100), 20) == (16, 16)


@pytest.mark.parametrize(("field", "value", "bound"), [
    ("input_height", 200_000, MAX_INPUT_SIDE), ("input_width", 10**9, MAX_INPUT_SIDE), ("slots", 10**9, MAX_SLOTS),
    ("image_size", 10**6, 4096), ("batch_size", 10**7, 4096), ("epochs", 10**30, 10_000), ("seed", 10**30, MAX_SEED),
    ("pseudo_labels", 10**9, 100_000), ("rank", 10**4, 64),
])
def test_sizes_in_a_runs_config_json_are_bounded(tmp_path: Path, field: str, value: int, bound: int) -> None:
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
