"""Run configuration: rules-file settings, command-line overrides, input shape."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dire_dsl.lang.program import check_source
from dire_dsl.train.config import input_shape, settings_for

SOURCE = 'category c\nobject pin "p"\nrule r:\n    count(pin) == 1\n\ntrain { epochs = 3, lambda = 5e-7 }\n'


def test_rules_settings_then_overrides() -> None:
    program = check_source(SOURCE).program
    config = settings_for(program, "/data", {"epochs": 7, "lr": None})
    assert config.epochs == 7 and config.lambda_ == 5e-7 and config.lr == program.train["lr"]
    assert config.category == "c" and config.rules_sha256 == program.source_sha256
    assert config.dump()["lambda"] == 5e-7


def test_invalid_override_is_rejected() -> None:
    program = check_source(SOURCE).program
    with pytest.raises(ValidationError):
        settings_for(program, "/data", {"epochs": 0})


def test_input_shape_keeps_the_aspect_ratio() -> None:
    assert input_shape((1000, 1700), 160) == (96, 160)
    assert input_shape((1600, 800), 128) == (128, 64)
    assert input_shape((100, 100), 20) == (16, 16)
