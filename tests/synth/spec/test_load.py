"""Scene specs: the shipped ones load; malformed ones fail with the file, the field and a hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dire_dsl.data.errors import SpecError
from dire_dsl.synth.spec.load import builtin_categories, load_spec, parse_spec
from dire_dsl.synth.spec.merge import deep_merge, merge_object
from tests.synth.conftest import CATEGORIES, EXAMPLE_SPECS

MINIMAL = """
category = "widget"
[[objects]]
id = "part"
shape = "disc"
size = 0.1
placement = { kind = "at", at = [0.5, 0.5] }
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(tmp_path: Path, text: str, name: str = "spec.toml") -> SpecError:
    path = write(tmp_path, text, name)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.file == str(path)
    return info.value


def test_builtin_categories_are_the_five() -> None:
    assert set(CATEGORIES) <= set(builtin_categories())


@pytest.mark.parametrize("category", CATEGORIES)
def test_builtin_specs_load(category: str) -> None:
    spec = load_spec(category)
    assert spec.category == category
    assert spec.logical() and spec.structural()


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_example_specs_load(path: Path) -> None:
    assert load_spec(path).category == path.stem


def test_object_vocabulary_matches_the_rules_names() -> None:
    names = {c: set(load_spec(c).coco_names) for c in CATEGORIES}
    assert names["pushpins"] == {"pushpin", "separator"}
    assert names["screw_bag"] == {"screw", "nut", "washer"}
    assert names["juice_bottle"] == {"bottle", "juice", "fruit_label", "icon", "juice_label"}
    assert names["breakfast_box"] == {"tangerine", "nectarine", "cereal", "banana_chip", "almond"}
    assert names["splicing_connectors"] == {"connector", "cable"}


def test_minimal_spec_and_json(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL))
    assert spec.coco_names == ["part"]
    raw = spec.model_dump(mode="json")
    again = load_spec(write(tmp_path, json.dumps(raw), "spec.json"))
    assert again == spec


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ('colour = [1, 2, 3]', "objects[0](part).colour", "Extra inputs"),
        ('shape = "hexagon"', "objects[0](part).shape", "unknown shape"),
        ('params = { radius = 0.2 }', "objects[0](part).params.radius", "no parameter"),
        ('count = -1', "objects[0](part).count", "count"),
        ('angle = [30, 10]', "objects[0](part).angle", "low end above"),
        ('color = { palette = [[300, 0, 0]] }', "objects[0](part).color.palette[0]", "less than or equal to 255"),
        ('color = "silver"', "objects[0](part).color", "a colour is [r, g, b]"),
        ('count = "5"', "objects[0](part)", "`count` takes a number, not the text '5'"),
        ('angle = "4"', "objects[0](part)", "`angle` takes a number, not the text '4'"),
        ('size = "big"', "objects[0](part).size", "expected a number"),
        ('size = [-0.05, 0.6]', "objects[0](part).size", "sizes must be positive"),
        ('size = 0', "objects[0](part).size", "sizes must be positive"),
        ('placement = { kind = "at", at = [[1.6, 1.7], 0.5] }', "objects[0](part).placement.at",
         "lies outside the image"),
    ],
)
def test_object_field_errors_name_the_field(tmp_path: Path, patch: str, field: str, words: str) -> None:
    key = patch.split(" =")[0]
    lines = [line for line in MINIMAL.splitlines() if not line.startswith(f"{key} =")]
    text = "\n".join(lines).replace('id = "part"', f'id = "part"\n{patch}')
    err = issues_of(tmp_path, text)
    rendered = err.render()
    assert any(i.field.startswith(field) for i in err.issues), rendered
    assert words in rendered
    assert str(tmp_path) in rendered


def test_unknown_placement_kind(tmp_path: Path) -> None:
    err = issues_of(tmp_path, MINIMAL.replace('kind = "at"', 'kind = "spiral"'))
    assert err.issues[0].field == "objects[0](part).placement"
    assert "spiral" in err.issues[0].message and "scatter" in err.issues[0].message


def test_missing_required_fields(tmp_path: Path) -> None:
    err = issues_of(tmp_path, '[[objects]]\nid = "a"\n')
    assert [i.field for i in err.issues] == ["category"]
    assert err.issues[0].hint == "add this field"


def test_toml_syntax_error(tmp_path: Path) -> None:
    err = issues_of(tmp_path, 'category = "x\n')
    assert "invalid TOML" in err.issues[0].message


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    err = issues_of(tmp_path, '{"category": "x",\n "objects": [}', "bad.json")
    assert err.issues[0].field.startswith("line 2")


def test_a_rules_file_given_as_spec_says_so(tmp_path: Path) -> None:
    err = issues_of(tmp_path, "category widget\nobject part\n", "widget.rules")
    assert "a rules file, not a scene spec" in err.render() and "dire train" in err.render()


def test_unknown_file_or_category() -> None:
    with pytest.raises(SpecError) as info:
        load_spec("no_such_product")
    assert "built-in" in info.value.render() and "pushpins" in info.value.render()


def test_cross_references_are_checked(tmp_path: Path) -> None:
    text = MINIMAL + """
[[objects]]
id = "part"
placement = { kind = "at", parent = "ghost" }

[[links]]
name = "l"
attributes = ["part.colour", "nothing.x"]
rows = [["a", "b"]]

[[anomalies]]
name = "gone"
type = "logical"
steps = [{ op = "remove", object = "phantom" }]

[[anomalies]]
name = "gone"
type = "logical"
steps = [{ op = "attr", object = "part", attribute = "size" }]
"""
    err = issues_of(tmp_path, text)
    fields = [i.field for i in err.issues]
    assert "objects[1](part).id" in fields  # duplicate id
    assert "objects[1](part).placement.parent" in fields
    assert "links[0](l).attributes[0]" in fields and "links[0](l).attributes[1]" in fields
    assert "anomalies[0](gone).steps[0].object" in fields
    assert "anomalies[1](gone).name" in fields  # duplicate defect name
    assert "anomalies[1](gone).steps[0].attribute" in fields


def test_parent_must_come_first(tmp_path: Path) -> None:
    text = MINIMAL.replace('placement = { kind = "at", at = [0.5, 0.5] }',
                           'placement = { kind = "at", parent = "later" }') + \
        '[[objects]]\nid = "later"\nplacement = { kind = "at" }\n'
    err = issues_of(tmp_path, text)
    assert "declared after" in err.issues[0].message


def test_modify_and_looks_are_validated(tmp_path: Path) -> None:
    text = MINIMAL + """
[objects.attributes.tone]
values = ["a", "b"]
looks.a = { shape = "triangle" }
looks.c = { size = 0.2 }

[[anomalies]]
name = "bigger"
type = "logical"
steps = [{ op = "modify", object = "part", set = { sise = 0.3 } }]
"""
    err = issues_of(tmp_path, text)
    fields = {i.field: i for i in err.issues}
    assert "objects[0](part).attributes.tone.looks.a.shape" in fields
    assert "objects[0](part).attributes.tone.looks.c" in fields
    assert any(f.startswith("anomalies[0](bigger).steps[0].set.sise") for f in fields)


def test_link_rows_must_use_declared_values(tmp_path: Path) -> None:
    text = MINIMAL + """
attributes.kind = { values = ["x", "y"] }
[[objects]]
id = "other"
attributes.kind = { values = ["1", "2"] }
[[links]]
name = "code"
attributes = ["part.kind", "other.kind"]
rows = [["x", "1"], ["y", 3], ["x"]]
"""
    err = issues_of(tmp_path, text)
    fields = [i.field for i in err.issues]
    assert "links[0](code).rows[1][1]" in fields
    assert "links[0](code).rows[2]" in fields


def test_curve_needs_connect(tmp_path: Path) -> None:
    err = issues_of(tmp_path, MINIMAL.replace('shape = "disc"', 'shape = "curve"'))
    assert err.issues[0].field == "objects[0](part).placement.kind"


def test_merge_helpers() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}
    assert deep_merge({"p": {"kind": "at", "at": [0, 0]}}, {"p": {"kind": "box", "box": [0, 0, 1, 1]}}) == \
        {"p": {"kind": "box", "box": [0, 0, 1, 1]}}
    spec = parse_spec({"category": "c", "objects": [{"id": "a", "size": 0.1}]})
    bigger = merge_object(spec.objects[0], {"size": 0.3})
    assert bigger.size == 0.3 and merge_object(spec.objects[0], {"size": 0.3}) is bigger


def test_the_worked_example_in_the_docs_is_a_valid_spec(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "data.md").read_text(encoding="utf-8")
    block = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    spec = load_spec(write(tmp_path, block))
    assert spec.category == "pill_blister" and spec.coco_names == ["label", "pill"]
    from dire_dsl.synth.image import make_image

    for recipe in [None, *spec.anomalies]:
        assert make_image(spec, 64, 0, "test", 0, recipe).image.shape == (43, 64, 3)


@pytest.mark.parametrize("name, text", [
    ("spec.toml", "category = 'x'\nobjects = " + "[" * 100_000),
    ("spec.json", '{"category": "x", "objects": ' + "[" * 100_000),
])
def test_a_spec_nested_deeper_than_the_stack_is_one_spec_error(tmp_path: Path, name: str, text: str) -> None:
    error = issues_of(tmp_path, text, name)
    assert "nested too deeply" in str(error) and name in str(error)
