"""The settings table is the one source of every key's type, default and bounds: a pydantic
model derived from it accepts and refuses exactly what the checker does."""

from __future__ import annotations

import math

import pydantic
import pytest

from dire_dsl.lang.settings import BLOCKS, SettingSpec, defaults, model_fields


def _model(block: str) -> type[pydantic.BaseModel]:
    config = pydantic.ConfigDict(populate_by_name=True, extra="forbid", allow_inf_nan=False)
    return pydantic.create_model(f"{block}_settings", __config__=config, **model_fields(block))


def _edges(spec: SettingSpec) -> list[float]:
    """Each finite bound, and just beyond it on either side."""
    values = []
    for bound in (spec.low, spec.high):
        if math.isfinite(bound):
            step = 1 if spec.type is int else max(abs(bound), 1.0) * 1e-6
            values += [bound - step, bound, bound + step]
    return values


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_a_derived_model_defaults_to_the_table(block: str) -> None:
    assert _model(block)().model_dump(by_alias=True) == defaults(block)


@pytest.mark.parametrize(("block", "key"), [(block, key) for block in sorted(BLOCKS) for key in BLOCKS[block]])
def test_a_derived_model_keeps_the_checkers_bounds_and_choices(block: str, key: str) -> None:
    spec, model = BLOCKS[block][key], _model(block)
    values = _edges(spec) + ([*spec.choices, "not-a-choice"] if spec.choices else [])
    for value in values:
        value = spec.coerce(value) if spec.type is int else value
        try:
            model(**{key: value})
            accepted = True
        except pydantic.ValidationError:
            accepted = False
        assert accepted == (spec.problem(value) is None), (key, value)
