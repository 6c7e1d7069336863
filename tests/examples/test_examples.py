"""Every example product: its rules check without a warning and speak of what its scene spec
draws (each rules object is an annotated object of the spec, each attribute has the spec's
values), so `dire synth` + `dire train` work on it as the docs say."""

from __future__ import annotations

from pathlib import Path

import pytest

from dire_dsl.lang.program import check_file
from dire_dsl.synth.spec.load import load_spec

ROOT = Path(__file__).parents[2]
PRODUCTS = sorted(p for p in (ROOT / "examples").iterdir() if (p / f"{p.name}.toml").is_file())


def test_the_examples_include_the_three_products_of_issue_18() -> None:
    assert {"crayon_box", "button_card", "spice_rack"} <= {p.name for p in PRODUCTS}


@pytest.mark.parametrize("folder", PRODUCTS, ids=lambda p: p.name)
def test_rules_check_cleanly_and_match_the_spec(folder: Path) -> None:
    result = check_file(folder / f"{folder.name}.rules")
    assert result.ok and not result.diagnostics, [str(d) for d in result.diagnostics]
    spec = load_spec(folder / f"{folder.name}.toml")
    assert result.program.category == spec.category
    drawn: dict[str, dict[str, set[str]]] = {}
    for obj in spec.objects:
        if obj.annotate:
            attributes = drawn.setdefault(obj.coco_name, {})
            for name, attribute in obj.attributes.items():
                attributes.setdefault(name, set()).update(attribute.values)
    for obj in result.program.objects:
        assert obj.name in drawn, f"{obj.name} is not an annotated object of the spec ({sorted(drawn)})"
        for name, values in obj.attributes.items():
            assert set(values) == drawn[obj.name].get(name), (obj.name, name)
