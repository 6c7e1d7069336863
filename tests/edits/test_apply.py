"""apply_edit, kind by kind, checked on the returned components and pixels; determinism;
synthesis; and a property test that ordinary inputs never make it raise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from dire_dsl.data.coco import read_coco_components
from dire_dsl.data.components import Component
from dire_dsl.edits.judge import broken
from dire_dsl.edits.recipes import (
    Cut,
    Duplicate,
    Goal,
    Mapping,
    Move,
    Place,
    Recolour,
    Remove,
    RemoveAll,
    Scale,
    Selection,
    Trim,
)
from dire_dsl.edits.scene import ComponentScene, box_mask
from dire_dsl.edits.synthesize import EditResult, RuleJudge, apply_edit, learn_stats, plan_edits, synthesize_anomalies
from dire_dsl.lang import ir
from tests.edits.test_plan import desk
from tests.edits.test_scene import (
    _one_thread,  # noqa: F401  (autouse fixture: one torch thread)
    canvas,
    ellipse,
    finish,
    normals,
    paint,
    rect,
    shipped,
)

SHAPE = (60, 90)
LEFT = Place("left", ((0.0, 0.0, 0.5, 1.0),))
CELLS = Place("cells", ((0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 1.0, 1.0)))
RED = ir.Filter(attribute="color", op="==", value="red")
BLUE = ir.Filter(attribute="color", op="==", value="blue")
COLOURS = {"red": (200, 40, 40), "blue": (40, 60, 200)}


def scene(variant: int = 0) -> tuple[np.ndarray, list[Component]]:
    """Two red dots on the left (one on a pad), a blue dot on the right, a bar at the top right."""
    rng = np.random.default_rng(variant)
    image = canvas(SHAPE, (190, 180, 160), rng)
    parts = [
        ("pad", rect(SHAPE, 0.05, 0.5, 0.45, 0.95), (90, 140, 90), {}),
        ("dot", ellipse(SHAPE, 0.2, 0.25, 5, 5), COLOURS["red"], {"color": "red"}),
        ("dot", ellipse(SHAPE, 0.3, 0.72, 5, 5), COLOURS["red"], {"color": "red"}),
        ("dot", ellipse(SHAPE, 0.75, 0.5, 5, 5), COLOURS["blue"], {"color": "blue"}),
        ("bar", rect(SHAPE, 0.55, 0.08, 0.95, 0.18), (60, 60, 60), {}),
    ]
    for _, mask, colour, _ in parts:
        paint(image, mask, colour, rng)
    return finish(image), [Component(name, mask, attributes) for name, mask, _, attributes in parts]


def untouched_outside(image: np.ndarray, result: EditResult) -> bool:
    outside = ~result.changed_mask
    return np.array_equal(image[outside], result.image[outside])


def centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return (xs.mean() + 0.5) / mask.shape[1], (ys.mean() + 0.5) / mask.shape[0]


def major_length(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    return float(np.sqrt(12 * np.linalg.eigvalsh(np.cov(np.stack([xs, ys]), bias=True))[-1]) / mask.shape[1])


def changed_components(before: list[Component], after: list[Component]) -> list[tuple[Component, Component]]:
    return [(b, a) for b, a in zip(before, after) if not np.array_equal(b.mask, a.mask)]


def apply(recipe: object, seed: int = 0, stats: object = None) -> tuple[np.ndarray, list[Component], EditResult]:
    image, components = scene()
    result = apply_edit(image, components, recipe, np.random.default_rng(seed), stats)  # type: ignore[arg-type]
    assert result is not None
    assert untouched_outside(image, result)
    return image, components, result


# ---------------------------------------------------------------- remove
def test_remove_takes_one_instance_out_of_its_region() -> None:
    image, components, result = apply(Remove(target=Selection("dot", place=LEFT)))
    selection = Selection("dot", place=LEFT)
    assert len(ComponentScene(result.components, SHAPE).matching(selection)) == 1
    gone = [c for c in components if not any(c is kept for kept in result.components)]
    assert [c.object for c in gone] == ["dot"]
    assert result.changed_mask[gone[0].mask].all()
    assert np.abs(result.image[gone[0].mask].astype(int) - COLOURS["red"]).mean() > 50


def test_removal_fills_with_what_was_underneath() -> None:
    image, components = scene()
    on_pad = components[2]
    for seed in range(4):
        result = apply_edit(image, components, Remove(target=Selection("dot", place=LEFT)), np.random.default_rng(seed))
        assert result is not None
        if not any(c is on_pad for c in result.components):
            pad = image[components[0].mask & ~on_pad.mask].mean(0)
            assert np.abs(result.image[on_pad.mask].mean(0) - pad).max() < 15
            return
    pytest.fail("no seed removed the dot on the pad")


def test_remove_takes_what_lies_on_it() -> None:
    _, components, result = apply(Remove(target=Selection("pad")))
    assert [c.object for c in result.components] == ["dot", "dot", "bar"]
    assert not any(c is components[2] for c in result.components)  # the dot on the pad went with it


def test_remove_all_clears_the_place() -> None:
    _, _, result = apply(RemoveAll(target=Selection("dot", place=LEFT)))
    left = box_mask(SHAPE, LEFT.boxes[0])
    assert not any((c.mask & left).any() for c in result.components if c.object == "dot")
    assert [c.object for c in result.components] == ["pad", "dot", "bar"]


def test_fill_continues_the_background_without_a_flat_blob() -> None:
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[: SHAPE[0], : SHAPE[1]]
    smooth = np.stack([60 + 2 * xs, 80 + 1.5 * ys, 120 + xs - ys], -1).astype(np.float32)
    noisy = smooth + rng.normal(0, 4, (*SHAPE, 3))
    disc = ellipse(SHAPE, 0.5, 0.5, 9, 9)
    noisy[disc] = (250, 250, 20)
    image = finish(noisy)
    result = apply_edit(image, [Component("dot", disc)], Remove(target=Selection("dot")), np.random.default_rng(1))
    assert result is not None and untouched_outside(image, result)
    filled = result.image[disc].astype(np.float32)
    assert np.abs(filled - smooth[disc]).mean() < 8  # continues the gradient
    assert (filled - smooth[disc]).std(0).min() > 2  # with the surroundings' noise, not flat


# ---------------------------------------------------------------- duplicate and move
def test_duplicate_lands_in_the_source_cell() -> None:
    _, components, result = apply(Duplicate(target=Selection("dot", place=CELLS), into=CELLS), seed=2)
    assert len(result.components) == len(components) + 1
    copy = result.components[-1]
    def same_cell(c: Component) -> bool:
        scene = ComponentScene([c, copy], SHAPE)
        return scene.lies_in(0, CELLS) == scene.lies_in(1, CELLS)

    source = next(c for c in components if c.object == "dot" and c.mask.sum() == copy.mask.sum() and same_cell(c))
    assert copy.attributes == source.attributes and copy.attributes is not source.attributes
    assert not any((copy.mask & c.mask).any() for c in result.components[:-1] if c.object != "pad")
    inner = ndimage.binary_erosion(copy.mask, iterations=2)
    assert np.abs(result.image[inner].mean(0) - np.asarray(COLOURS[source.attributes["color"]])).max() < 12


def test_move_leaves_the_region_and_keeps_the_shape() -> None:
    _, components, result = apply(Move(target=Selection("dot", place=LEFT), goal=Goal("leave", place=LEFT)))
    [(before, after)] = changed_components(components, result.components)
    assert before.object == "dot" and after.mask.sum() == before.mask.sum()
    assert centroid(after.mask)[0] > 0.5
    assert (after.mask & box_mask(SHAPE, LEFT.boxes[0])).sum() <= 0.05 * after.mask.sum()


def test_move_past_bounds() -> None:
    goal = Goal("measure", func="y", direction="up", bounds=(0.3, 0.6))
    _, components, result = apply(Move(target=Selection("dot", where=BLUE), goal=goal))
    [(_, after)] = changed_components(components, result.components)
    assert centroid(after.mask)[1] >= 0.65


def test_move_past_a_partner() -> None:
    goal = Goal("measure", func="y", direction="up", partner=Selection("dot", where=BLUE))
    _, components, result = apply(Move(target=Selection("bar"), goal=goal))
    assert centroid(result.components[4].mask)[1] >= centroid(components[3].mask)[1] + 0.05


def test_move_off_a_partner() -> None:
    goal = Goal("off", partner=Selection("pad"))
    _, components, result = apply(Move(target=Selection("dot", where=RED, place=Place("low", ((0, 0.5, 1, 1),))),
                                       goal=goal))
    moved = result.components[2]
    assert (moved.mask & components[0].mask).sum() <= 0.05 * moved.mask.sum()


def test_move_part_of_an_instance() -> None:
    image, components = normals("splicing_connectors", 1)
    goal = Goal("measure", func="y", direction="both")
    recipe = Move(target=Selection("cable"), goal=goal, part=Place("left_end", ((0, 0, 0.5, 1),)))
    result = apply_edit(image[0], components[0], recipe, np.random.default_rng(0))
    assert result is not None and untouched_outside(image[0], result)
    left = box_mask(image[0].shape[:2], (0, 0, 0.5, 1))
    cable_before, cable_after = components[0][2].mask, result.components[2].mask
    assert np.array_equal(cable_before & ~left, cable_after & ~left)  # the right half stays
    assert abs(centroid(cable_after & left)[1] - centroid(cable_before & left)[1]) >= 0.1


def test_move_apart() -> None:
    image, components = normals("splicing_connectors", 1)
    recipe = Move(target=Selection("connector"), goal=Goal("apart", partner=Selection("cable")))
    result = apply_edit(image[0], components[0], recipe, np.random.default_rng(0))
    assert result is not None
    cable = ndimage.binary_dilation(result.components[2].mask, iterations=2)
    assert sum(bool((c.mask & cable).any()) for c in result.components[:2]) == 1


# ---------------------------------------------------------------- trim and scale
def test_trim_moves_the_top_past_its_bound() -> None:
    _, components, result = apply(Trim(target=Selection("pad"), func="top", bounds=(0.45, 0.55)))
    before, after = components[0].mask, result.components[0].mask
    assert np.nonzero(after)[0].min() / SHAPE[0] >= 0.6
    assert after.sum() < before.sum() and not (after & ~before).any()


def test_scale_pushes_a_length_past_its_bound() -> None:
    _, components, result = apply(Scale(target=Selection("bar"), direction="up", func="length", bounds=(0.3, 0.42)))
    assert major_length(result.components[4].mask) >= 0.46 > major_length(components[4].mask)


def test_scale_every_instance_for_the_area_of_a_set() -> None:
    _, components, result = apply(Scale(target=Selection("dot"), direction="down", func="area", every=True))
    for before, after in zip(components[1:4], result.components[1:4]):
        ratio = after.mask.sum() / before.mask.sum()
        assert 0.15 < ratio < 0.7
        assert np.allclose(centroid(after.mask), centroid(before.mask), atol=0.03)


def test_cut_leaves_the_part_in_two_pieces_with_background_between() -> None:
    image, components, result = apply(Cut(target=Selection("bar")))
    before, after = components[4].mask, result.components[4].mask
    assert len(result.components) == len(components)  # still one bar, now with a gap
    assert ndimage.label(after, structure=np.ones((3, 3)))[1] == 2
    assert not (after & ~before).any() and 0.8 * before.sum() < after.sum() < before.sum()
    gap = before & ~after
    xs = np.nonzero(gap)[1] / SHAPE[1]
    assert 0.55 + 0.3 * 0.4 - 0.02 <= xs.min() and xs.max() <= 0.55 + 0.7 * 0.4 + 0.02  # away from the ends
    background, bar_grey = np.array([190, 180, 160]), np.array([60, 60, 60])
    filled = result.image[gap].astype(float).mean(axis=0)
    assert np.abs(filled - background).sum() < np.abs(filled - bar_grey).sum()
    assert all(np.array_equal(b.mask, a.mask) for b, a in zip(components[:4], result.components[:4]))


# ---------------------------------------------------------------- recolour
def stats_for_dots() -> object:
    images, components = zip(*(scene(v) for v in range(2)))
    return learn_stats(list(images), list(components))


def test_recolour_changes_the_attribute_and_only_the_instance_pixels() -> None:
    stats = stats_for_dots()
    image, components, result = apply(Recolour(target=Selection("dot", where=RED), attribute="color",
                                               values=("blue",)), stats=stats)
    [index] = [i for i, (b, a) in enumerate(zip(components, result.components)) if b.attributes != a.attributes]
    assert result.components[index].attributes == {"color": "blue"}
    mask = components[index].mask
    assert np.array_equal(result.changed_mask, mask)
    assert np.abs(result.image[mask].mean(0) - COLOURS["blue"]).max() < 8
    assert (result.image[mask] != image[mask]).any(-1).mean() > 0.9


def test_recolour_swaps_in_an_exemplar_when_the_value_does_not_show_in_colour() -> None:
    images, components = normals("screw_bag", 2)
    stats = learn_stats(images, components)
    recipe = Recolour(target=Selection("screw", where=ir.Filter(attribute="length", op="==", value="long")),
                      attribute="length", values=("short",))
    result = apply_edit(images[0], components[0], recipe, np.random.default_rng(0), stats)
    assert result is not None and untouched_outside(images[0], result)
    after = result.components[0]
    assert after.attributes == {"length": "short"}
    assert after.mask.sum() == components[0][1].mask.sum()  # the short screw's mask, moved over
    assert major_length(after.mask) < 0.8 * major_length(components[0][0].mask)


def test_recolour_breaks_the_pairing() -> None:
    images, components = normals("splicing_connectors", 3)
    stats = learn_stats(images, components)
    pairs = (("yellow", "2"), ("blue", "3"), ("red", "5"))
    recipe = Recolour(target=Selection("cable"), attribute="color", values=("yellow", "blue", "red"),
                      mapping=Mapping(Selection("connector"), "clamps", pairs, recoloured_is_source=True))
    for seed in range(3):
        result = apply_edit(images[1], components[1], recipe, np.random.default_rng(seed), stats)
        assert result is not None
        assert (result.components[2].attributes["color"], "3") not in pairs


# ---------------------------------------------------------------- nothing to do, bad input
@pytest.mark.parametrize("recipe", [
    Remove(target=Selection("ghost")),
    Recolour(target=Selection("dot"), attribute="color", values=("red", "blue")),  # no stats given
    Move(target=Selection("dot", where=BLUE), goal=Goal("enter", place=Place("right", ((0.5, 0, 1, 1),)))),
    Trim(target=Selection("bar"), func="top", bounds=(0.0, 1.0)),  # would cut it all away
    Scale(target=Selection("bar"), direction="up", func="length", bounds=(0.3, 2.0)),  # out of reach
    Move(target=Selection("bar"), goal=Goal("off", partner=Selection("ghost"))),
], ids=lambda r: r.kind)
def test_edits_that_do_not_fit_return_none(recipe: object) -> None:
    image, components = scene()
    assert apply_edit(image, components, recipe, np.random.default_rng(0)) is None  # type: ignore[arg-type]


def test_recolour_to_an_invisible_value_without_exemplars_returns_none() -> None:
    image, components = scene()
    twin = [Component(c.object, c.mask, {"color": "blue"} if c.attributes.get("color") == "blue" else c.attributes)
            for c in components]
    stats = learn_stats([image], [twin])
    stats.colours[("dot", "color", "blue")] = stats.colours[("dot", "color", "red")]
    stats.exemplars.clear()
    recipe = Recolour(target=Selection("dot", where=RED), attribute="color", values=("blue",))
    assert apply_edit(image, twin, recipe, np.random.default_rng(0), stats) is None


def test_bad_input_is_an_error() -> None:
    image, components = scene()
    with pytest.raises(ValueError, match="uint8"):
        apply_edit(image.astype(np.float32), components, Remove(target=Selection("dot")), np.random.default_rng(0))
    with pytest.raises(ValueError, match="mask"):
        apply_edit(image[:-1], components, Remove(target=Selection("dot")), np.random.default_rng(0))


# ---------------------------------------------------------------- determinism and synthesis
@pytest.mark.parametrize("category", ["juice_bottle", "splicing_connectors", "breakfast_box"])
def test_same_seed_same_edit(category: str) -> None:
    images, components = normals(category, 2)
    stats = learn_stats(images, components)
    for recipe in plan_edits(shipped(category)):
        first, second = (apply_edit(images[0], components[0], recipe, np.random.default_rng(7), stats) for _ in "ab")
        assert (first is None) == (second is None)
        if first is not None and second is not None:
            assert np.array_equal(first.image, second.image)
            assert np.array_equal(first.changed_mask, second.changed_mask)
            assert [(c.object, c.attributes) for c in first.components] == \
                [(c.object, c.attributes) for c in second.components]
            assert all(np.array_equal(a.mask, b.mask) for a, b in zip(first.components, second.components))


def test_synthesis_is_balanced_judged_and_deterministic() -> None:
    program = shipped("pushpins")
    images, components = normals("pushpins", 3)
    rounds = 3
    results = synthesize_anomalies(program, images, components, rounds * len(program.rules), np.random.default_rng(0))
    assert sorted(r.recipe.rules[0] for r in results) == sorted(
        [rule.name for rule in program.rules] * rounds)
    judge = RuleJudge(program)
    for result in results:
        assert result.image_index is not None
        shape = images[result.image_index].shape[:2]
        assert broken(judge.truths(components[result.image_index], shape),
                      judge.truths(result.components, shape), result.recipe.rules)
    again = synthesize_anomalies(program, images, components, rounds * len(program.rules), np.random.default_rng(0))
    assert [r.recipe for r in again] == [r.recipe for r in results]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(again, results))


def test_synthesis_drops_edits_that_break_nothing() -> None:
    images, components = normals("breakfast_box", 2)
    program = shipped("breakfast_box")
    results = synthesize_anomalies(program, images, components, 30, np.random.default_rng(1))
    assert len(results) == 30
    assert not any(r.recipe.kind == "duplicate" and r.recipe.rules == ("topping_ratio",) for r in results)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools vs numpy 2, harmless
def test_components_read_from_coco_annotations_feed_the_same_edits(tmp_path: Path) -> None:
    """Real LOCO images come with COCO component annotations: the edits run on what the reader gives."""
    from pycocotools import mask as mask_utils

    images, components = normals("juice_bottle", 3)
    names = sorted({c.object for parts in components for c in parts})
    annotations = []
    for image_id, parts in enumerate(components):
        for component in parts:
            rle = mask_utils.encode(np.asfortranarray(component.mask.astype(np.uint8)))
            annotations.append({"id": len(annotations), "image_id": image_id,
                                "category_id": names.index(component.object),
                                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                                "attributes": component.attributes})
    height, width = images[0].shape[:2]
    coco = {"images": [{"id": i, "file_name": f"train/good/{i:03d}.png", "height": height, "width": width}
                       for i in range(len(images))],
            "categories": [{"id": i, "name": name} for i, name in enumerate(names)], "annotations": annotations}
    (tmp_path / "train.json").write_text(json.dumps(coco))
    read = read_coco_components(tmp_path / "train.json")
    parts = [read[f"{i:03d}.png"] for i in range(len(images))]
    results = synthesize_anomalies(shipped("juice_bottle"), images, parts, 16, np.random.default_rng(0))
    assert len(results) == 16
    assert {rule for r in results for rule in r.recipe.rules} == {rule.name for rule in shipped("juice_bottle").rules}


# ---------------------------------------------------------------- property: never raises
DESK = desk()
RECIPES = plan_edits(DESK)
VALUES = {(o.name, a): v for o in DESK.objects for a, v in o.attributes.items()}


@st.composite
def random_scenes(draw: st.DrawFn) -> tuple[np.ndarray, list[Component]]:
    height, width = draw(st.integers(3, 28)), draw(st.integers(3, 28))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    components = []
    for _ in range(draw(st.integers(0, 5))):
        obj = draw(st.sampled_from([o.name for o in DESK.objects] + ["stranger"]))
        kind = draw(st.sampled_from(["box", "noise", "empty", "full"]))
        if kind == "box":
            x0, y0 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
            mask = np.zeros((height, width), bool)
            mask[y0:y0 + draw(st.integers(1, height)), x0:x0 + draw(st.integers(1, width))] = True
        else:
            mask = {"noise": rng.random((height, width)) < 0.3, "empty": np.zeros((height, width), bool),
                    "full": np.ones((height, width), bool)}[kind]
        attributes = {a: draw(st.sampled_from([*v, "unheard-of"])) for (o, a), v in VALUES.items()
                      if o == obj and draw(st.booleans())}
        components.append(Component(obj, mask, attributes))
    return image, components


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenes(), st.sampled_from(RECIPES), st.integers(0, 1000), st.booleans())
def test_apply_edit_never_raises_on_ordinary_input(scene: tuple[np.ndarray, list[Component]], recipe: object,
                                                   seed: int, with_stats: bool) -> None:
    image, components = scene
    stats = learn_stats([image], [components]) if with_stats else None
    result = apply_edit(image, components, recipe, np.random.default_rng(seed), stats)  # type: ignore[arg-type]
    if result is not None:
        assert result.image.shape == image.shape and result.image.dtype == np.uint8
        assert result.changed_mask.shape == image.shape[:2]
        assert untouched_outside(image, result)
        assert all(c.mask.shape == image.shape[:2] and c.mask.dtype == bool for c in result.components)
