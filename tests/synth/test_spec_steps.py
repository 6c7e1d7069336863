"""Tutorial-style checks of the step options a user describes: where an added or moved part
goes (`to`), random members of a family (`name`, `pick`), defects aimed at a part (`on`), the
`crack` defect, and the combinations the docs now state -- each on a small spec, through
`make_image`, with its ground-truth mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dire_dsl.data.errors import DataError, SpecError
from dire_dsl.synth.image import make_image, renderer_for
from dire_dsl.synth.spec.load import load_spec

SIZE = 128
COLOURS = {"red": [210, 40, 40], "orange": [240, 140, 20], "yellow": [235, 215, 40],
           "green": [40, 170, 70], "blue": [40, 80, 210], "purple": [140, 50, 170]}

TRAY = """
category = "tray"
[canvas]
aspect = 1.5
background = [70, 70, 74]

[[objects]]
id = "board"
annotate = false
shape = "rect"
placement = { kind = "box", box = [0.04, 0.06, 0.96, 0.94] }
color = [150, 150, 150]

[[objects]]
id = "pill"
shape = "disc"
size = 0.1
count = 6
placement = { kind = "grid", region = [0.08, 0.12, 0.62, 0.58], rows = 2, cols = 3, jitter = 0.05 }
color = [240, 240, 236]

[[objects]]
id = "pin"
shape = "screw"
size = [0.26, 0.06]
placement = { kind = "at", at = [0.8, 0.45] }
color = [200, 200, 210]

[[objects]]
id = "plate"
shape = "rounded_rect"
size = [0.2, 0.16]
placement = { kind = "at", at = [0.8, 0.68] }
color = [225, 225, 215]

[[objects]]
id = "tag"
shape = "rect"
size = [0.06, 0.03]
placement = { kind = "at", parent = "plate", at = [0.5, 0.25] }
color = [240, 200, 40]
"""


def family() -> str:
    """Six objects named `item`, one id per colour, in a row along the bottom."""
    return "".join(f"""
[[objects]]
id = "item_{colour}"
name = "item"
shape = "disc"
size = 0.08
color = {rgb}
placement = {{ kind = "at", at = [{0.08 + 0.1 * k:.2f}, 0.85] }}
""" for k, (colour, rgb) in enumerate(COLOURS.items()))


def spec_with(tmp_path: Path, recipes: str):
    path = tmp_path / "tray.toml"
    path.write_text(TRAY + family() + recipes, encoding="utf-8")
    return load_spec(path)


def recipe(steps: str, kind: str = "logical") -> str:
    return f'\n[[anomalies]]\nname = "defect"\ntype = "{kind}"\nsteps = [{steps}]\n'


def image(spec, seed: int = 0, index: int = 0):
    return make_image(spec, SIZE, seed, "test", index, spec.anomalies[0])


def footprint(spec, inst) -> np.ndarray:
    return renderer_for(spec, SIZE).footprint(inst) > 0.5


def box_coords(inst, mask: np.ndarray, W: int) -> np.ndarray:
    """The mask's pixels in the instance's box coordinates (u, v), one row each."""
    ys, xs = np.nonzero(mask)
    return np.array([inst.to_box((x + 0.5) / W, (y + 0.5) / W) for x, y in zip(xs, ys)])


# ---------------------------------------------------------------- where an added instance goes

def test_add_into_a_cell(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "add", object = "pill", to = { cell = [1, 2] } }'))
    for index in range(3):
        res = image(spec, index=index)
        added = [i for i in res.scene.of("pill") if i.added]
        assert len(added) == 1 and added[0].cell == [1, 2] and len(res.regions) == 1
        H, W = res.regions[0].shape
        u, v = np.nonzero(res.regions[0])[1].mean() / W, np.nonzero(res.regions[0])[0].mean() / H
        assert 0.08 + 2 * 0.18 - 0.03 < u < 0.62 + 0.03 and 0.35 - 0.03 < v < 0.58 + 0.03  # cell (1, 2)


@pytest.mark.parametrize("share", [0.2, 0.35, 0.5])
def test_add_overlapping_a_neighbour(tmp_path: Path, share: float) -> None:
    spec = spec_with(tmp_path, recipe(f'{{ op = "add", object = "pill", to = {{ overlap = {share} }} }}'))
    for index in range(3):
        res = image(spec, index=index)
        new = next(i for i in res.scene.of("pill") if i.added)
        mine = footprint(spec, new)
        shares = [(footprint(spec, i) & mine).sum() / mine.sum() for i in res.scene.of("pill") if not i.added]
        assert abs(max(shares) - share) < 0.06, (max(shares), share)
        assert sorted(shares)[-2] < 0.02  # on one neighbour, not on two
        assert (res.regions[0] == mine).mean() > 0.99  # the extra pill is its own region, drawn on top


def test_move_outside_the_parent(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "move", object = "tag", to = { outside = true } }'))
    res = image(spec)
    tag, = res.scene.of("tag")
    plate, = res.scene.of("plate")
    assert tag.parent is None
    assert (footprint(spec, tag) & footprint(spec, plate)).sum() == 0
    assert len(res.regions) == 1  # old and new place


def test_move_to_a_point(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "move", object = "pin", to = { at = [0.3, 0.65] } }'))
    good, res = make_image(spec, SIZE, 0, "test", 0), image(spec)
    before, after = good.scene.of("pin")[0], res.scene.of("pin")[0]
    assert np.hypot(after.cx - before.cx, after.cy - before.cy) > 0.2
    region = res.regions[0]
    assert (region & footprint(spec, before)).sum() > 0.9 * footprint(spec, before).sum()  # the old place
    assert (region & res.visible[after.uid]).sum() == res.visible[after.uid].sum()  # and the new one


def test_move_onto_a_neighbour(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "move", object = "pill", to = { overlap = 0.3 } }'))
    for index in range(3):
        good, res = make_image(spec, SIZE, 0, "test", index), image(spec, index=index)
        moved = [i for i in res.scene.of("pill") if i.cx != good.scene.get(i.uid).cx]
        assert len(moved) == 1 and len(res.scene.of("pill")) == 6
        mine = footprint(spec, moved[0])
        shares = [(footprint(spec, i) & mine).sum() / mine.sum() for i in res.scene.of("pill") if i is not moved[0]]
        assert abs(max(shares) - 0.3) < 0.06
        assert res.visible[moved[0].uid].sum() == mine.sum()  # drawn on top of its neighbour


def test_default_add_is_unchanged(tmp_path: Path) -> None:
    """Without `to`, add keeps the object's own rule: on a full grid, into an occupied cell."""
    spec = spec_with(tmp_path, recipe('{ op = "add", object = "pill" }'))
    res = image(spec)
    new = next(i for i in res.scene.of("pill") if i.added)
    assert sum(1 for i in res.scene.of("pill") if i.cell == new.cell) == 2


def test_no_neighbour_in_an_image_is_an_error_naming_the_recipe(tmp_path: Path) -> None:
    """A neighbour with a random count may be absent: the step is retried, then reported."""
    spec = spec_with(tmp_path, recipe('{ op = "add", object = "pill", to = { overlap = 0.3, of = "pin" } }'))
    spec = spec.model_copy(update={"objects": [o.model_copy(update={"count": (0, 0)}) if o.id == "pin" else o
                                               for o in spec.objects]})
    with pytest.raises(DataError, match="anomaly recipe 'defect' made no visible change"):
        image(spec)


# ---------------------------------------------------------------- random members of a family

def test_swap_picks_random_members_by_name(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "swap", name = "item", pick = 2 }'))
    swapped = set()
    for seed in range(6):
        good = make_image(spec, SIZE, seed, "test", 0)
        res = image(spec, seed=seed)
        moved = [i.obj for i in res.scene.instances if i.name == "item"
                 and abs(i.cx - good.scene.of(i.obj)[0].cx) > 0.01]
        assert len(moved) == 2 and len(res.regions) == 1
        swapped.add(tuple(sorted(moved)))
    assert len(swapped) >= 3  # different members for different seeds


def test_pick_three_trade_places_in_a_cycle(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "swap", name = "item", pick = 3 }'))
    good, res = make_image(spec, SIZE, 4, "test", 0), image(spec, seed=4)
    before = {i.obj: round(i.cx, 4) for i in good.scene.instances if i.name == "item"}
    after = {i.obj: round(i.cx, 4) for i in res.scene.instances if i.name == "item"}
    moved = [o for o in before if before[o] != after[o]]
    assert len(moved) == 3 and sorted(before[o] for o in moved) == sorted(after[o] for o in moved)


def test_add_a_random_member_onto_another(tmp_path: Path) -> None:
    """A duplicated colour: a random member of the family, laid half on a random other one."""
    spec = spec_with(tmp_path, recipe('{ op = "add", name = "item", to = { overlap = 0.5, of = "pill" } }'))
    kinds = set()
    for seed in range(5):
        res = image(spec, seed=seed)
        new, = [i for i in res.scene.instances if i.added]
        kinds.add(new.obj)
        mine = footprint(spec, new)
        assert max((footprint(spec, i) & mine).sum() / mine.sum() for i in res.scene.of("pill")) > 0.44
    assert len(kinds) >= 3


def test_remove_and_structural_by_name(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "remove", name = "item", n = 2 }'))
    res = image(spec)
    assert sum(1 for i in res.scene.instances if i.name == "item") == 4 and len(res.regions) == 2
    spec = spec_with(tmp_path, recipe('{ op = "dent", name = "item" }', "structural"))
    res = image(spec)
    hit = [i for i in res.scene.instances if (res.regions[0] & res.visible[i.uid]).any()]
    assert hit and all(i.name == "item" for i in hit)


# ---------------------------------------------------------------- defects on a part; the crack

def test_break_aimed_at_the_tip(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "break", object = "pin", on = "tip", size = 0.3 }', "structural"))
    for index in range(3):
        res = image(spec, index=index)
        pin, = res.scene.of("pin")
        uv = box_coords(pin, res.regions[0], res.regions[0].shape[1])
        assert uv[:, 0].min() > 0.6 and uv[:, 0].mean() > 0.8  # at the point, not the middle


def test_aim_along_the_axis(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "discolor", object = "pin", on = 0.25, size = 0.2 }', "structural"))
    res = image(spec)
    pin, = res.scene.of("pin")
    uv = box_coords(pin, res.regions[0], res.regions[0].shape[1])
    assert abs(uv[:, 0].mean() - 0.25) < 0.1


def test_crack_is_a_thin_jagged_line_on_the_aimed_part(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, recipe('{ op = "crack", object = "plate", on = "edge", size = 0.8 }', "structural"))
    for index in range(3):
        good = make_image(spec, 256, 0, "test", index)
        res = make_image(spec, 256, 0, "test", index, spec.anomalies[0])
        mask = res.regions[0]
        plate, = res.scene.of("plate")
        assert not (mask & ~res.visible[plate.uid]).any()
        ys, xs = np.nonzero(mask)
        pts = np.stack([xs, ys], 1).astype(float)
        centred = pts - pts.mean(0)
        _, sv, vt = np.linalg.svd(centred, full_matrices=False)
        along, across = centred @ vt[0], centred @ vt[1]
        length = along.max() - along.min()
        assert length > 10 and mask.sum() < 3 * length  # a line about 1-2 px wide
        order = np.argsort(along)
        bins = np.array_split(across[order], 8)
        side = np.sign([b.mean() for b in bins if len(b)])
        assert np.abs(across).max() > 1.5 and (np.diff(side) != 0).sum() >= 2  # zigzags, not a smooth arc
        darker = good.image.astype(int).sum(2)[mask] - res.image.astype(int).sum(2)[mask]
        assert darker.mean() > 60


# ---------------------------------------------------------------- combinations the docs state

def test_count_zero_object_appears_only_when_added(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, """
[[objects]]
id = "spare"
name = "pill"
shape = "disc"
size = 0.1
count = 0
color = [240, 240, 236]
placement = { kind = "grid", region = [0.17, 0.12, 0.71, 0.58], rows = 2, cols = 3 }
""" + recipe('{ op = "add", object = "spare" }'))
    good = make_image(spec, SIZE, 0, "test", 0)
    assert not good.scene.of("spare")
    res = image(spec)
    assert len(res.scene.of("spare")) == 1 and len(res.regions) == 1
    assert sum(1 for i in res.scene.instances if i.name == "pill") == 7


TONE = ('attributes.tone = { values = ["light", "dark"], looks = { light = { color = [230, 230, 230] }, '
        'dark = { color = [40, 40, 40] } } }')
LINKED = """
category = "pair"
[[objects]]
id = "left"
name = "cup"
shape = "disc"
placement = { kind = "at", at = [0.3, 0.5] }
TONE
[[objects]]
id = "right"
name = "cup"
shape = "disc"
placement = { kind = "at", at = [0.7, 0.5] }
TONE
[[links]]
name = "same_tone"
attributes = ["left.tone", "right.tone"]
rows = [["light", "light"], ["dark", "dark"]]
""".replace("TONE", TONE)


def test_links_across_objects_sharing_a_name(tmp_path: Path) -> None:
    path = tmp_path / "pair.toml"
    path.write_text(LINKED + recipe('{ op = "attr", name = "cup", attribute = "tone" }'), encoding="utf-8")
    spec = load_spec(path)
    for index in range(4):
        good, res = make_image(spec, SIZE, 0, "test", index), image(spec, index=index)
        assert len({i.attributes["tone"] for i in good.scene.instances}) == 1
        assert len({i.attributes["tone"] for i in res.scene.instances}) == 2
    path.write_text(LINKED.replace('["left.tone", "right.tone"]', '["cup.tone", "right.tone"]'), encoding="utf-8")
    with pytest.raises(SpecError, match=r"links\[0\]\(same_tone\).attributes\[0\]: 'cup' is the name of left, "
                                        r"right.*'left.tone', 'right.tone'"):
        load_spec(path)


def test_fixed_value_with_looks_is_the_anomaly(tmp_path: Path) -> None:
    path = tmp_path / "bolt.toml"
    path.write_text("""
category = "bolt"
[[objects]]
id = "bolt"
shape = "capsule"
size = [0.3, 0.08]
placement = { kind = "at", at = [0.5, 0.5] }
[objects.attributes.length]
values = ["long", "short"]
fixed = "long"
looks.short = { size = [0.18, 0.08] }
""" + recipe('{ op = "attr", object = "bolt", attribute = "length" }'), encoding="utf-8")
    spec = load_spec(path)
    good, res = make_image(spec, SIZE, 0, "test", 0), image(spec)
    assert good.scene.of("bolt")[0].attributes["length"] == "long"
    assert res.scene.of("bolt")[0].attributes["length"] == "short"
    assert res.scene.of("bolt")[0].w < good.scene.of("bolt")[0].w


# ---------------------------------------------------------------- bad input: the file, the place, what to do

@pytest.mark.parametrize(("steps", "field", "words"), [
    ('{ op = "add", object = "pill", to = { cell = [2, 0] } }', "steps[0].to.cell", "rows go 0..1"),
    ('{ op = "add", object = "pin", to = { cell = [0, 0] } }', "steps[0].to.cell", "needs a grid placement"),
    ('{ op = "add", object = "pill", to = { cell = [0, 0], at = [0.5, 0.5] } }', "steps[0].to",
     "exactly one of"),
    ('{ op = "add", object = "pill", to = { overlap = 0.99 } }', "steps[0].to.overlap", "between 0.05 and 0.95"),
    ('{ op = "add", object = "pill", to = { overlap = 0.3, of = "ghost" } }', "steps[0].to.of", "unknown object"),
    ('{ op = "move", object = "pin", to = { outside = true } }', "steps[0].to.outside", "no parent and no region"),
    ('{ op = "move", object = "pill" }', "steps[0].to", "Field required"),
    ('{ op = "swap", name = "itme" }', "steps[0].name", "no object is named 'itme'"),
    ('{ op = "swap", name = "item", pick = 7 }', "steps[0].pick", "at most 6"),
    ('{ op = "swap", objects = ["pill", "pin"], pick = 2 }', "steps[0]", "drop `pick` or use `name`"),
    ('{ op = "remove", object = "pill", name = "item" }', "steps[0](item)", "not both"),
    ('{ op = "remove", name = "item", pick = 2 }', "steps[0](item)", "write n = 2"),
    ('{ op = "break", on = "tip" }', "steps[0]", "add `object` or `name`"),
    ('{ op = "break", object = "pin", on = "middle" }', "steps[0].on", "unknown part 'middle'"),
    ('{ op = "crack", object = "pin", on = 1.5 }', "steps[0].on", "0..1"),
])
def test_bad_steps_name_the_file_the_place_and_the_fix(tmp_path: Path, steps: str, field: str, words: str) -> None:
    path = tmp_path / "tray.toml"
    path.write_text(TRAY + family() + recipe(steps), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert err.file == str(path)
    assert any(i.field == f"anomalies[0](defect).{field}" and words in f"{i.message} -- {i.hint}"
               for i in err.issues), err.render()


def test_fixed_attribute_in_a_link_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pair.toml"
    path.write_text(LINKED.replace('"dark"], looks', '"dark"], fixed = "light", looks', 1),
                    encoding="utf-8")
    with pytest.raises(SpecError, match=r"links\[0\]\(same_tone\).attributes\[0\]: left.tone is fixed to 'light'.*"
                                        r"drop `fixed`"):
        load_spec(path)


def test_count_zero_object_cannot_be_moved(tmp_path: Path) -> None:
    path = tmp_path / "tray.toml"
    path.write_text(TRAY.replace('id = "pin"', 'id = "pin"\ncount = 0') + recipe(
        '{ op = "move", object = "pin", to = { at = [0.2, 0.2] } }'), encoding="utf-8")
    with pytest.raises(SpecError, match=r"steps\[0\].op: object 'pin' has count = 0.*op = \"add\""):
        load_spec(path)


# ---------------------------------------------------------------- the docs' worked example

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"


@pytest.fixture(scope="module")
def crayons(tmp_path_factory: pytest.TempPathFactory):
    """The crayon box of docs/data.md ("Worked example: order, overlaps and aimed defects")."""
    block = DOCS.read_text(encoding="utf-8").split("### Worked example: order", 1)[1]
    path = tmp_path_factory.mktemp("docs") / "crayon_box.toml"
    path.write_text(block.split("```toml\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    return load_spec(path)


def made(spec, name: str, seed: int = 0, index: int = 0):
    recipe = next(a for a in spec.anomalies if a.name == name)
    return make_image(spec, SIZE, seed, "test", index), make_image(spec, SIZE, seed, "test", index, recipe)


def test_docs_crayons_out_of_order(crayons) -> None:
    pairs = set()
    for seed in range(5):
        good, res = made(crayons, "out_of_order", seed)
        moved = [i.obj for i in res.scene.instances if i.name == "crayon" and i.cx != good.scene.get(i.uid).cx]
        assert len(moved) == 2 and len(res.regions) == 1
        pairs.add(tuple(sorted(moved)))
    assert len(pairs) >= 3


def test_docs_crayons_extra_overlapping(crayons) -> None:
    for seed in range(3):
        _, res = made(crayons, "extra_crayon", seed)
        new, = [i for i in res.scene.instances if i.added]
        mine = footprint(crayons, new)
        share = (footprint(crayons, res.scene.of("red")[0]) & mine).sum() / mine.sum()
        assert 0.14 < share < 0.56 and res.visible[new.uid].sum() == mine.sum()
        assert (res.regions[0] == mine).mean() > 0.99


def test_docs_crayons_sticker_off_box_broken_tip_cracked_box(crayons) -> None:
    _, res = made(crayons, "sticker_off_box")
    box, sticker = res.scene.of("box")[0], res.scene.of("sticker")[0]
    assert not (footprint(crayons, sticker) & footprint(crayons, box)).any()
    _, res = made(crayons, "broken_tip")
    hit = [i for i in res.scene.instances if i.name == "crayon" and (res.regions[0] & footprint(crayons, i)).any()]
    assert len(hit) == 1
    uv = box_coords(hit[0], res.regions[0], res.regions[0].shape[1])
    assert uv[:, 1].min() > 0.6  # the crayon stands upright: its tip is v = 1
    good, res = made(crayons, "cracked_box")
    mask = res.regions[0]
    assert not (mask & ~res.visible[res.scene.of("box")[0].uid]).any() and 10 < mask.sum() < 200
    assert (good.image.astype(int).sum(2)[mask] - res.image.astype(int).sum(2)[mask]).mean() > 60


def test_an_added_part_takes_the_colour_its_object_has_in_that_image(tmp_path: Path) -> None:
    per_image = TRAY.replace('color = [240, 240, 236]',
                             'color = { palette = [[200, 60, 50], [50, 90, 150], [60, 120, 70]], per = "image" }')
    path = tmp_path / "tray.toml"
    path.write_text(per_image + recipe('{ op = "add", object = "pill", to = { overlap = 0.3 } }'), encoding="utf-8")
    spec = load_spec(path)
    colours = set()
    for index in range(6):
        pills = image(spec, index=index).scene.of("pill")
        assert any(pill.added for pill in pills) and len({tuple(pill.color) for pill in pills}) == 1
        colours.add(tuple(pills[0].color))
    assert len(colours) > 1  # still drawn once per image


def test_a_swap_by_name_trades_parts_whose_values_differ(tmp_path: Path) -> None:
    """Two jars with yellow lids are alike whatever their object ids: trading them changes
    nothing a rule (or a person) can see, so a swap picks jars whose lids differ."""
    lids = [("jar_red", "red"), ("jar_yellow_1", "yellow"), ("jar_yellow_2", "yellow")]
    jars = "".join(f"""
[[objects]]
id = "{ident}"
name = "jar"
shape = "rect"
size = [0.08, 0.16]
placement = {{ kind = "at", at = [{0.2 + 0.25 * k:.2f}, 0.5] }}
[objects.attributes.lid]
values = ["red", "yellow"]
fixed = "{lid}"
looks.red = {{ color = [200, 40, 40] }}
looks.yellow = {{ color = [230, 200, 40] }}
""" for k, (ident, lid) in enumerate(lids))
    path = tmp_path / "rack.toml"
    path.write_text('category = "rack"\n[canvas]\naspect = 1.5\nbackground = [70, 70, 74]\n' + jars
                    + recipe('{ op = "swap", name = "jar" }'), encoding="utf-8")
    spec = load_spec(path)
    for seed in range(8):
        good, res = make_image(spec, SIZE, seed, "test", 0), image(spec, seed=seed)
        moved = {i.attributes["lid"] for i in res.scene.instances
                 if abs(i.cx - good.scene.of(i.obj)[0].cx) > 0.01}
        assert moved == {"red", "yellow"}, seed
