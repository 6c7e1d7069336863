"""Run configuration: rules-file settings, command-line overrides, input shape."""

from __future__ import annotations

import pytest

from dire_dsl.lang.program import check_source
from dire_dsl.train.config import ConfigError, input_shape, settings_for

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
