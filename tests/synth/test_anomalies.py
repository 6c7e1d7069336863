"""Every anomaly recipe of every spec produces its anomaly: a visible change, marked by the
ground truth, and (for logical recipes) a change of the recorded counts/attributes/geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dire_dsl.synth.image import make_image, record_of
from dire_dsl.synth.scene import link_partners
from dire_dsl.synth.spec.load import load_spec
from dire_dsl.synth.spec.models import STRUCTURAL_OPS
from tests.synth.conftest import CATEGORIES, EXAMPLE_SPECS

SPECS = [*CATEGORIES, *[str(p) for p in EXAMPLE_SPECS]]
CASES = [(s, a.name) for s in SPECS for a in load_spec(s).anomalies]
SIZE = 96


def _counts_by_id(scene) -> dict[str, int]:
    out: dict[str, int] = {}
    for inst in scene.instances:
        out[inst.obj] = out.get(inst.obj, 0) + 1
    return out


def _step_ids(spec, step) -> list[str]:  # type: ignore[no-untyped-def]
    """The object ids a step acts on: its `object`, its `objects`, or the family it names."""
    if getattr(step, "object", None):
        return [step.object]
    if getattr(step, "objects", None):
        return list(step.objects)
    return [obj.id for obj in spec.objects if obj.coco_name == step.name]


@pytest.mark.parametrize(("spec_name", "recipe_name"), CASES, ids=[f"{Path(s).stem}-{r}" for s, r in CASES])
def test_recipe_produces_its_anomaly(spec_name: str, recipe_name: str) -> None:
    spec = load_spec(spec_name)
    recipe = next(a for a in spec.anomalies if a.name == recipe_name)
    for index in (0, 1):
        good = make_image(spec, SIZE, 11, "test", index)
        bad = make_image(spec, SIZE, 11, "test", index, recipe)
        assert bad.regions, "no ground-truth region"
        union = np.any(bad.regions, axis=0)
        assert all(r.any() for r in bad.regions)
        diff = np.abs(good.image.astype(int) - bad.image.astype(int)).sum(axis=2)
        assert diff[union].mean() > 12, "the marked region does not change visibly"
        n0, n1 = _counts_by_id(good.scene), _counts_by_id(bad.scene)
        for step in recipe.steps:
            ids = _step_ids(spec, step)  # `object`, `objects`, or every member of the family `name`
            before_n, after_n = sum(n0.get(o, 0) for o in ids), sum(n1.get(o, 0) for o in ids)
            if step.op == "remove":
                assert after_n == (0 if step.n == "all" else before_n - step.n)
            elif step.op == "add":
                assert after_n == before_n + step.n
            elif step.op == "count":
                assert after_n == step.n
            elif step.op == "attr":
                before = [i.attributes[step.attribute] for o in ids for i in good.scene.of(o)]
                after = [i.attributes[step.attribute] for o in ids for i in bad.scene.of(o)]
                assert before != after
                partners = link_partners(spec, step.object, step.attribute) if step.object else []
                if partners:  # the edited value no longer satisfies the link table
                    link = spec.link_of(step.object, step.attribute)
                    row = {f"{o}.{a}": bad.scene.of(o)[0].attributes[a] for o, a in
                           [tuple(r.split(".")) for r in link.attributes] if bad.scene.of(o)}
                    assert [row.get(r) for r in link.attributes] not in link.rows
            elif step.op in ("modify", "swap", "mirror"):
                geo0 = [(i.cx, i.cy, i.w, i.h, i.angle, tuple(sorted(i.params.items()))) for o in ids
                        for i in good.scene.of(o)]
                geo1 = [(i.cx, i.cy, i.w, i.h, i.angle, tuple(sorted(i.params.items()))) for o in ids
                        for i in bad.scene.of(o)]
                assert geo0 != geo1
        if all(s.op in STRUCTURAL_OPS for s in recipe.steps):  # pixels only: same scene
            assert _counts_by_id(good.scene) == _counts_by_id(bad.scene)
            outside = ~np.any([np.pad(r, 0) for r in bad.regions], axis=0)
            assert (diff[outside] == 0).mean() > 0.97


def test_missing_marks_where_the_object_was() -> None:
    spec = load_spec("pushpins")
    recipe = next(a for a in spec.anomalies if a.name == "missing_pushpin")
    good = make_image(spec, 128, 2, "test", 0)
    bad = make_image(spec, 128, 2, "test", 0, recipe)
    gone = [i for i in good.scene.of("pushpin") if bad.scene.get(i.uid) is None]
    assert len(gone) == 1 and len(bad.regions) == 1
    assert (bad.regions[0] & good.visible[gone[0].uid]).sum() == good.visible[gone[0].uid].sum()
    assert bad.missing_areas and bad.missing_areas[0] < bad.regions[0].sum()


def test_extra_objects_are_marked_one_by_one() -> None:
    spec = load_spec("pushpins")
    recipe = next(a for a in spec.anomalies if a.name == "2_additional_pushpins")
    bad = make_image(spec, 128, 2, "test", 3, recipe)
    assert len(bad.regions) == 2
    added = [i for i in bad.scene.of("pushpin") if i.added]
    assert len(added) == 2


def test_wrong_combination_marks_the_union() -> None:
    spec = load_spec("juice_bottle")
    recipe = next(a for a in spec.anomalies if a.name == "wrong_juice_type")
    bad = make_image(spec, 128, 2, "test", 5, recipe)
    assert len(bad.regions) == 1
    region = bad.regions[0]
    for obj in ("juice", "icon"):
        uid = bad.scene.of(obj)[0].uid
        assert (region & bad.visible[uid]).sum() >= 0.9 * bad.visible[uid].sum()


def test_records_are_exact_after_edits() -> None:
    spec = load_spec("screw_bag")
    recipe = next(a for a in spec.anomalies if a.name == "2_missing_nuts")
    res = make_image(spec, 96, 0, "test", 1, recipe)
    rec = record_of(spec, res, "test/logical_anomalies/000.png", "test", "logical_anomalies", recipe.name)
    assert rec["counts"] == {"screw": 2, "nut": 0, "washer": 2}
    assert rec["defect"] == "2_missing_nuts"
