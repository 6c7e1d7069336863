"""Scene sampling: deterministic, grids and walls, no overlaps, linked attributes, overrides."""

from __future__ import annotations

import math

import pytest

from dire_dsl.synth.scene import ObjectOverride, SceneSampler, obb_overlap, transform_scene
from dire_dsl.synth.spec.load import load_spec
from tests.synth.conftest import CATEGORIES


@pytest.mark.parametrize("category", CATEGORIES)
def test_same_seed_same_scene(category: str) -> None:
    spec = load_spec(category)
    a = SceneSampler(spec, (1, 1, 7)).scene()
    b = SceneSampler(spec, (1, 1, 7)).scene()
    c = SceneSampler(spec, (1, 1, 8)).scene()
    key = [(i.uid, i.cx, i.cy, i.w, i.h, i.angle, i.color) for i in a.instances]
    assert key == [(i.uid, i.cx, i.cy, i.w, i.h, i.angle, i.color) for i in b.instances]
    assert key != [(i.uid, i.cx, i.cy, i.w, i.h, i.angle, i.color) for i in c.instances]


def test_pushpins_grid_and_walls() -> None:
    spec = load_spec("pushpins")
    scene = SceneSampler(spec, (0, 1, 0)).scene()
    pins = scene.of("pushpin")
    walls = scene.of("separator")
    assert len(pins) == 15 and len(walls) == 22
    assert sorted(tuple(p.cell) for p in pins) == [(r, c) for r in range(3) for c in range(5)]
    assert sum(1 for w in walls if w.cell[0] == "v") == 12
    x0, y0, x1, y1 = spec.object("pushpin").placement.region
    for p in pins:  # each pin inside its own compartment
        r, c = p.cell
        cx = x0 + (c + 0.5) * (x1 - x0) / 5
        cy = (y0 + (r + 0.5) * (y1 - y0) / 3) / spec.canvas.aspect
        assert abs(p.cx - cx) < (x1 - x0) / 10 and abs(p.cy - cy) < (y1 - y0) / 6 / spec.canvas.aspect


@pytest.mark.parametrize("index", range(6))
def test_screw_bag_parts_do_not_overlap(index: int) -> None:
    spec = load_spec("screw_bag")
    scene = SceneSampler(spec, (0, 1, index)).scene()
    parts = [i for i in scene.instances if i.annotate]
    assert [p.name for p in parts].count("screw") == 2 and len(parts) == 6
    for k, a in enumerate(parts):
        for b in parts[k + 1:]:
            assert not obb_overlap(a.corners(), b.corners()), (a.uid, b.uid)


def test_links_tie_attributes_together() -> None:
    spec = load_spec("splicing_connectors")
    code = {"2": "yellow", "3": "blue", "5": "red"}
    seen = set()
    for index in range(12):
        scene = SceneSampler(spec, (0, 1, index)).scene()
        left, right, cable = scene.of("left_connector")[0], scene.of("right_connector")[0], scene.of("cable")[0]
        assert left.attributes["clamps"] == right.attributes["clamps"]
        assert code[left.attributes["clamps"]] == cable.attributes["color"]
        seen.add(cable.attributes["color"])
        ha, hb = cable.path[0], cable.path[-1]
        assert abs(ha[1] - hb[1]) < 0.03  # mirrored attachment heights
    assert seen == {"yellow", "blue", "red"}


def test_modify_override_touches_only_its_object() -> None:
    spec = load_spec("screw_bag")
    layout = SceneSampler(spec, (0, 3, 4))
    good = layout.scene()
    longer = layout.scene({"long_screw": ObjectOverride(sets=[("all", {"size": [0.46, 0.05]})])})
    assert math.isclose(longer.of("long_screw")[0].w, 0.46 * 1, rel_tol=0.03)
    for inst in good.instances:
        if inst.obj not in ("long_screw",):
            other = longer.get(inst.uid)
            assert other is not None and other.color == inst.color


def test_count_override_and_forced_attribute() -> None:
    spec = load_spec("breakfast_box")
    scene = SceneSampler(spec, (0, 3, 1)).scene({"tangerine": ObjectOverride(count=4)})
    assert len(scene.of("tangerine")) == 4
    juice = load_spec("juice_bottle")
    layout = SceneSampler(juice, (0, 3, 2))
    scene = layout.scene()
    other = "red" if scene.of("juice")[0].attributes["color"] != "red" else "white"
    forced = layout.scene({"juice": ObjectOverride(attrs={0: {"color": other}})})
    assert forced.of("juice")[0].attributes["color"] == other
    assert forced.of("icon")[0].attributes == scene.of("icon")[0].attributes


def test_children_follow_their_parent() -> None:
    spec = load_spec("juice_bottle")
    scene = SceneSampler(spec, (0, 1, 0)).scene()
    bottle, label, icon = scene.of("bottle")[0], scene.of("fruit_label")[0], scene.of("icon")[0]
    assert label.parent == bottle.uid and icon.parent == label.uid
    assert abs(label.w - bottle.w) < 1e-9  # the label spans the bottle's width
    assert abs(icon.cx - label.cx) < 0.05 * label.w + 1e-9


def test_scene_transform_is_shared_by_seed() -> None:
    spec = load_spec("pushpins")
    a, b = SceneSampler(spec, (0, 1, 0)).scene(), SceneSampler(spec, (0, 1, 0)).scene()
    transform_scene(a, spec, (0, 1, 0))
    transform_scene(b, spec, (0, 1, 0))
    assert [(i.cx, i.cy) for i in a.instances] == [(i.cx, i.cy) for i in b.instances]
