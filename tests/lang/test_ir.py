"""The IR refuses programs beyond the size limits even when built or loaded without the checker."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dire_dsl.lang import ir
from dire_dsl.lang.program import check_source

WHOLE = (0.0, 0.0, 1.0, 1.0)


def checked_data(rules: str) -> dict[str, Any]:
    result = check_source('category c\nobject pin "a pin"\nregion g = grid(4, 8)\n' + rules)
    assert result.ok
    return result.program.model_dump()


@pytest.mark.parametrize("rows, cols", [(99999999999999999999, 5), (65, 1), (0, 3), (40, 40)])
def test_a_region_beyond_the_grid_limits_cannot_be_built(rows: int, cols: int) -> None:
    with pytest.raises(ValidationError):
        ir.RegionDef(name="g", box=WHOLE, rows=rows, cols=cols)


def test_the_largest_grid_can_be_built() -> None:
    assert ir.RegionDef(name="g", box=WHOLE, rows=16, cols=64).cells == 1024


def test_a_program_whose_regions_hold_too_many_cells_is_refused() -> None:
    data = checked_data("rule r: count(pin) >= 1\n")
    data["regions"] = [{"name": f"g{i}", "box": WHOLE, "rows": 32, "cols": 32} for i in range(5)]
    with pytest.raises(ValidationError, match="5120 cells"):
        ir.CheckedProgram.model_validate(data)


def test_a_program_whose_rule_iterates_too_many_cells_is_refused() -> None:
    data = checked_data("rule r: forall a, b in g: count(pin in a) <= count(pin in b) + 1\n")
    ir.CheckedProgram.model_validate(data)  # 32 cells in pairs: 1024, the limit
    data["regions"][0]["rows"] = 8  # 64 cells in pairs: 4096
    with pytest.raises(ValidationError, match="rule `r` iterates 4096 grid cells"):
        ir.CheckedProgram.model_validate(data)
