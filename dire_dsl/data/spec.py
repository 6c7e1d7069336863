"""The scene spec: a declarative, validated description of one product (pydantic models).

A spec file (TOML or JSON) says what a *good* image of the product shows -- canvas, objects
(shape primitives, sizes, colours, counts, placement), the attributes that tie objects together
(mapping tables), nuisances -- and the anomaly recipes that break it. `load_spec` reads a file
or a built-in category name and returns a checked `SceneSpec`; every problem is reported as a
`SpecError` naming the file and the field. The format is documented in docs/data.md.

Units: positions are normalised image coordinates ([0, 1], x to the right, y down); sizes and
distances are fractions of the image *width* (so a disc stays round on any canvas); positions
inside a parent (`parent = ...`) are fractions of the parent's box.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dire_dsl.data.errors import SpecError, SpecIssue
from dire_dsl.data.shapes import SHAPES

SPECS_DIR = Path(__file__).parent / "specs"
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")

Range = Union[float, tuple[float, float]]
RGB = tuple[Annotated[int, Field(ge=0, le=255)], Annotated[int, Field(ge=0, le=255)],
            Annotated[int, Field(ge=0, le=255)]]


def _check_range(v: Any) -> Any:
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        if v[0] > v[1]:
            raise ValueError(f"range [{v[0]}, {v[1]}] has its low end above its high end")
    return v


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _takes_text(annotation: Any) -> bool:
    """Whether a field's type admits a string anywhere (str, a Literal of names, a nested model)."""
    if annotation is str or get_origin(annotation) is Literal:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_takes_text(arg) for arg in get_args(annotation) if arg is not Ellipsis)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_numbers_as_text(cls, data: Any) -> Any:
        """`count = "5"` is a typo for 5 or for a name: say so, where pydantic's lax mode would
        quietly read the quoted number (other text it refuses itself, naming the field)."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if isinstance(value, str) and _is_number_text(value) and field is not None \
                        and not _takes_text(field.annotation):
                    raise ValueError(f"`{name}` takes a number, not the text {value!r}; write it without quotes")
        return data


class ColorSpec(_Model):
    """A colour palette: one entry is drawn, then each channel is jittered by +-`jitter`."""

    palette: list[RGB] = Field(min_length=1)
    jitter: float = Field(0.0, ge=0, le=128)
    per: Literal["instance", "image"] = "instance"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)) and len(v) == 3 and all(isinstance(x, int) for x in v):
            return {"palette": [v]}
        if isinstance(v, (list, tuple)) and v and all(isinstance(x, (list, tuple)) for x in v):
            return {"palette": v}
        if not isinstance(v, (dict, ColorSpec)):
            raise ValueError(f"a colour is [r, g, b] (0-255), a list of them, or {{ palette = [[r, g, b], ...], "
                             f"jitter = ... }}; got {v!r}")
        return v


class Repeat(_Model):
    """Repeat a part `n` times along an axis of the object's box, from `start` to `stop`."""

    n: int = Field(ge=1, le=64)
    axis: Literal["x", "y"] = "y"
    start: float = 0.2
    stop: float = 0.8


class Part(_Model):
    """One coloured piece of a compound object, in the object's box ([0, 1] each way)."""

    shape: str
    at: tuple[float, float] = (0.5, 0.5)
    size: tuple[float, float] = (1.0, 1.0)
    angle: float = 0.0
    params: dict[str, Any] = {}
    color: ColorSpec | None = None
    tone: float = Field(1.0, ge=0, le=4)
    repeat: Repeat | None = None

    @field_validator("shape")
    @classmethod
    def _shape(cls, v: str) -> str:
        if v not in SHAPES or v == "curve":
            raise ValueError(f"unknown part shape {v!r}; use one of: {', '.join(s for s in SHAPES if s != 'curve')}")
        return v


class AttributeSpec(_Model):
    """An attribute of an object: its values, how it is drawn, and how it varies."""

    values: list[str] = Field(min_length=1)
    fixed: str | None = None
    per: Literal["object", "instance"] = "object"
    looks: dict[str, dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            return {"values": [str(v)], "fixed": str(v)}
        if isinstance(v, dict):
            v = dict(v)
            if "values" in v and isinstance(v["values"], list):
                v["values"] = [str(x) if isinstance(x, (int, float)) else x for x in v["values"]]
            if isinstance(v.get("fixed"), (int, float)):
                v["fixed"] = str(v["fixed"])
            if isinstance(v.get("looks"), dict):
                v["looks"] = {str(k): x for k, x in v["looks"].items()}
        return v


class _Placement(_Model):
    parent: str | None = None


class AtPlacement(_Placement):
    """At a point (image coordinates, or the parent's box if `parent` is set)."""

    kind: Literal["at"]
    at: tuple[Range, Range] = (0.5, 0.5)

    @field_validator("at")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        for x in v:
            for end in (x if isinstance(x, (tuple, list)) else (x,)):
                if isinstance(end, (int, float)) and not 0 <= end <= 1:
                    raise ValueError(f"{end} lies outside the image (or the parent's box): positions go from 0 to 1")
        return tuple(_check_range(x) for x in v)


class BoxPlacement(_Placement):
    """Fill a box [x0, y0, x1, y1] (image coordinates, or the parent's box); sets the size."""

    kind: Literal["box"]
    box: tuple[Range, Range, Range, Range]

    @field_validator("box")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        return tuple(_check_range(x) for x in v)


class GridPlacement(_Placement):
    """One instance per cell (`per_cell` each) of a rows x cols grid over `region`."""

    kind: Literal["grid"]
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    rows: int = Field(ge=1, le=64)
    cols: int = Field(ge=1, le=64)
    per_cell: int = Field(1, ge=1, le=16)
    jitter: float = Field(0.1, ge=0, le=0.5)


class WallsPlacement(_Placement):
    """The inner walls of a rows x cols grid over `region`: one instance per wall segment."""

    kind: Literal["walls"]
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    rows: int = Field(ge=1, le=64)
    cols: int = Field(ge=1, le=64)
    thickness: float = Field(0.01, gt=0, le=0.5)


class ScatterPlacement(_Placement):
    """Random positions inside `region`, not overlapping other colliding objects."""

    kind: Literal["scatter"]
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    gap: float = Field(0.005, ge=0, le=0.5)


class ConnectPlacement(_Placement):
    """A curve (cable) from a point on object `a` to a point on object `b`.

    `a_at`/`b_at` are points in the objects' boxes; `height` is added to the y of *both* ends
    (mirrored attachment); `offset` is added to the y of the `b` end only (random sign);
    `sag` bends the curve (fraction of the image width).
    """

    kind: Literal["connect"]
    a: str
    a_index: int = Field(0, ge=0)
    a_at: tuple[float, float] = (1.0, 0.5)
    b: str
    b_index: int = Field(0, ge=0)
    b_at: tuple[float, float] = (0.0, 0.5)
    height: Range = 0.0
    offset: Range = 0.0
    sag: Range = (-0.05, 0.05)

    @field_validator("height", "offset", "sag")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        return _check_range(v)


Placement = Annotated[
    Union[AtPlacement, BoxPlacement, GridPlacement, WallsPlacement, ScatterPlacement, ConnectPlacement],
    Field(discriminator="kind"),
]
PLACEMENT_KINDS = ("at", "box", "grid", "walls", "scatter", "connect")


class ObjectSpec(_Model):
    """One kind of object in the scene (COCO category `name`, unless `annotate = false`)."""

    id: str
    name: str | None = None
    annotate: bool = True
    shape: str = "rect"
    params: dict[str, Any] = {}
    parts: list[Part] | None = None
    size: Range | tuple[Range, Range] = 0.1
    scale: Range = 1.0
    angle: Range = 0.0
    flip: bool = False
    color: ColorSpec = ColorSpec(palette=[(200, 200, 200)])
    opacity: float = Field(1.0, gt=0, le=1)
    shading: float = Field(0.2, ge=0, le=2)
    texture: float = Field(0.0, ge=0, le=2)
    outline: float = Field(0.0, ge=0, le=1)
    count: int | tuple[int, int] = 1
    placement: Placement = AtPlacement(kind="at")
    attributes: dict[str, AttributeSpec] = {}
    clip: bool = False
    collide: bool | None = None

    @field_validator("scale", "angle")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        return _check_range(v)

    @field_validator("shape")
    @classmethod
    def _shape(cls, v: str) -> str:
        if v not in SHAPES:
            raise ValueError(f"unknown shape {v!r}; use one of: {', '.join(SHAPES)}")
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v: Any) -> Any:
        numbers = [x for part in (v if isinstance(v, tuple) else (v,))
                   for x in (part if isinstance(part, tuple) else (part,))]
        if any(x <= 0 for x in numbers):
            raise ValueError(f"sizes must be positive (a fraction of the image or the parent's box); got {v}")
        if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
            return v  # a (w, h) pair of numbers
        if isinstance(v, tuple):
            return tuple(_check_range(x) for x in v)
        return v

    @field_validator("count")
    @classmethod
    def _count(cls, v: Any) -> Any:
        if isinstance(v, tuple):
            if v[0] < 0 or v[0] > v[1]:
                raise ValueError("count range must be [low, high] with 0 <= low <= high")
        elif v < 0:
            raise ValueError("count must be >= 0")
        return v

    @property
    def coco_name(self) -> str:
        return self.name or self.id

    @property
    def collides(self) -> bool:
        if self.collide is not None:
            return self.collide
        return self.placement.kind in ("scatter", "grid")

    @property
    def max_count(self) -> int:
        if self.placement.kind == "walls":
            p = self.placement
            return p.rows * (p.cols - 1) + (p.rows - 1) * p.cols
        return self.count[1] if isinstance(self.count, tuple) else self.count


class LinkSpec(_Model):
    """A mapping table between attributes: one row is drawn per image; all must agree."""

    name: str
    attributes: list[str] = Field(min_length=2)
    rows: list[list[str]] = Field(min_length=1)

    @field_validator("rows", mode="before")
    @classmethod
    def _rows(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [[str(x) if isinstance(x, (int, float)) else x for x in row] if isinstance(row, list) else row
                    for row in v]
        return v


class _Step(_Model):
    pass


class RemoveStep(_Step):
    """Remove `n` random instances (or "all") of an object; its children go too by default."""

    op: Literal["remove"]
    object: str
    n: int | Literal["all"] = 1
    with_children: bool = True


class AddStep(_Step):
    """Add `n` extra instances of an object, placed by its own placement rule."""

    op: Literal["add"]
    object: str
    n: int = Field(1, ge=1, le=64)


class CountStep(_Step):
    """Lay the object out again with exactly `n` instances."""

    op: Literal["count"]
    object: str
    n: int = Field(ge=0, le=256)


class AttrStep(_Step):
    """Give one instance (`index`, random by default) another `value` of an attribute."""

    op: Literal["attr"]
    object: str
    attribute: str
    value: str | None = None
    index: int | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class ModifyStep(_Step):
    """Override fields of an object's spec (size, placement, params, ...) for this image."""

    op: Literal["modify"]
    object: str
    set: dict[str, Any]
    index: int | Literal["all", "random"] = "all"


class SwapStep(_Step):
    """Swap the positions of the first instances of two objects (children move along)."""

    op: Literal["swap"]
    objects: tuple[str, str]


class MirrorStep(_Step):
    """Mirror every instance of the objects (and their children) about x = `about`."""

    op: Literal["mirror"]
    objects: list[str] = Field(min_length=1)
    about: float = 0.5


class _Structural(_Step):
    object: str | None = None
    size: Range = (0.3, 0.5)

    @field_validator("size")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        return _check_range(v)


class ScratchStep(_Structural):
    """A thin scratch across an object (`tone` < 1 darker, > 1 lighter); size = length."""

    op: Literal["scratch"]
    width: float = Field(0.008, gt=0, le=0.1)
    tone: float = Field(0.45, ge=0, le=4)
    size: Range = (0.5, 0.9)


class ContaminationStep(_Structural):
    """A foreign blob on an object (or anywhere if no object); size = fraction of image width."""

    op: Literal["contamination"]
    color: ColorSpec = ColorSpec(palette=[(40, 30, 20), (70, 90, 30), (20, 20, 20)], jitter=10)
    size: Range = (0.04, 0.07)


class DentStep(_Structural):
    """A shaded dent on an object; size = fraction of the object's size."""

    op: Literal["dent"]
    tone: float = Field(0.55, ge=0, le=4)


class BreakStep(_Structural):
    """A piece broken off an object's edge (shows what is behind); size = fraction of object."""

    op: Literal["break"]


class DiscolorStep(_Structural):
    """A patch of an object recoloured; size = fraction of the object's size."""

    op: Literal["discolor"]
    color: ColorSpec = ColorSpec(palette=[(150, 60, 160), (40, 160, 70), (60, 80, 200)], jitter=10)


Step = Annotated[
    Union[RemoveStep, AddStep, CountStep, AttrStep, ModifyStep, SwapStep, MirrorStep,
          ScratchStep, ContaminationStep, DentStep, BreakStep, DiscolorStep],
    Field(discriminator="op"),
]
STEP_OPS = ("remove", "add", "count", "attr", "modify", "swap", "mirror",
            "scratch", "contamination", "dent", "break", "discolor")
STRUCTURAL_OPS = ("scratch", "contamination", "dent", "break", "discolor")


class AnomalySpec(_Model):
    """An anomaly recipe: a defect name, its type, and the steps that make it."""

    name: str
    type: Literal["logical", "structural"]
    steps: list[Step] = Field(min_length=1)
    pixel_value: int | None = Field(None, ge=1, le=255)
    saturation_threshold: float | None = Field(None, gt=0)
    relative_saturation: bool | None = None


class CanvasSpec(_Model):
    """The image: aspect ratio (width / height), background colour and texture."""

    aspect: float = Field(1.0, ge=0.2, le=5.0)
    background: ColorSpec = ColorSpec(palette=[(90, 90, 90)], jitter=8)
    texture: float = Field(0.08, ge=0, le=1)
    texture_scale: float = Field(0.08, gt=0, le=1)


class NuisanceSpec(_Model):
    """Per-image nuisances: lighting, colour cast, scene jitter, blur and noise."""

    brightness: Range = (0.85, 1.15)
    color_cast: float = Field(0.06, ge=0, le=0.5)
    gradient: float = Field(0.2, ge=0, le=1)
    shift: float = Field(0.01, ge=0, le=0.2)
    rotation: float = Field(2.0, ge=0, le=180)
    zoom: Range = (0.97, 1.03)
    blur: Range = (0.0, 0.002)
    noise: float = Field(3.0, ge=0, le=50)

    @field_validator("brightness", "zoom", "blur")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        return _check_range(v)


class SplitSpec(_Model):
    """How the test split divides into good / logical / structural images (fractions)."""

    good: float = Field(0.4, ge=0, le=1)
    logical: float = Field(0.3, ge=0, le=1)
    structural: float = Field(0.3, ge=0, le=1)


class SceneSpec(_Model):
    """A whole product: the category name, canvas, nuisances, objects, links, anomalies."""

    category: str
    description: str = ""
    canvas: CanvasSpec = CanvasSpec()
    nuisances: NuisanceSpec = NuisanceSpec()
    test_split: SplitSpec = SplitSpec()
    objects: list[ObjectSpec] = Field(min_length=1)
    links: list[LinkSpec] = []
    anomalies: list[AnomalySpec] = []

    def object(self, oid: str) -> ObjectSpec:
        for o in self.objects:
            if o.id == oid:
                return o
        raise KeyError(oid)

    @property
    def coco_names(self) -> list[str]:
        names: list[str] = []
        for o in self.objects:
            if o.annotate and o.coco_name not in names:
                names.append(o.coco_name)
        return names

    def logical(self) -> list[AnomalySpec]:
        return [a for a in self.anomalies if a.type == "logical"]

    def structural(self) -> list[AnomalySpec]:
        return [a for a in self.anomalies if a.type == "structural"]

    def link_of(self, oid: str, attr: str) -> LinkSpec | None:
        key = f"{oid}.{attr}"
        for link in self.links:
            if key in link.attributes:
                return link
        return None


# ---------------------------------------------------------------- merging (looks, modify)

def deep_merge(base: dict, over: dict) -> dict:
    """Recursive dict merge; a sub-dict whose `kind`/`op` changes is replaced, not merged."""
    out = dict(base)
    for k, v in over.items():
        b = out.get(k)
        if isinstance(b, dict) and isinstance(v, dict):
            tag_changed = any(t in v and b.get(t) != v[t] for t in ("kind", "op"))
            out[k] = dict(v) if tag_changed else deep_merge(b, v)
        else:
            out[k] = v
    return out


def _dump(obj: ObjectSpec) -> dict:
    return obj.model_dump(mode="python", exclude_unset=False)


_MERGE_CACHE: dict[tuple[int, str], tuple[ObjectSpec, ObjectSpec]] = {}


def merge_object(obj: ObjectSpec, *overrides: dict) -> ObjectSpec:
    """The object spec with the override dicts merged in order (validated, cached)."""
    if not any(overrides):
        return obj
    over: dict = {}
    for o in overrides:
        if o:
            over = deep_merge(over, o)
    key = (id(obj), json.dumps(over, sort_keys=True, default=list))
    hit = _MERGE_CACHE.get(key)
    if hit is not None and hit[0] is obj:
        return hit[1]
    merged = ObjectSpec.model_validate(deep_merge(_dump(obj), over))
    if len(_MERGE_CACHE) > 20000:
        _MERGE_CACHE.clear()
    _MERGE_CACHE[key] = (obj, merged)  # holding `obj` keeps its id from being reused
    return merged


# ---------------------------------------------------------------- loading and checking

def builtin_categories() -> list[str]:
    """Names of the specs shipped with the package (dire_dsl/data/specs/*.toml|*.json)."""
    return sorted({p.stem for p in SPECS_DIR.glob("*") if p.suffix in (".toml", ".json")})


def resolve_spec_path(spec_or_category: str | Path) -> Path:
    """A spec file path, or the built-in spec of a category name."""
    p = Path(spec_or_category)
    if p.is_file():
        return p
    name = str(spec_or_category)
    for suffix in (".toml", ".json"):
        cand = SPECS_DIR / f"{name}{suffix}"
        if cand.is_file():
            return cand
    raise SpecError(
        str(spec_or_category),
        [SpecIssue("", "no such spec file or built-in category",
                   f"give a path to a .toml/.json spec or one of: {', '.join(builtin_categories())}")],
    )


def _loc(loc: tuple, data: Any) -> str:
    out = ""
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
                if isinstance(node, dict) and isinstance(node.get("id") or node.get("name"), str):
                    label += f"({node.get('id') or node.get('name')})"
            else:
                node = None
            out += label
            continue
        prev = loc[i - 1] if i else None
        if (part in PLACEMENT_KINDS and prev == "placement") or (
                part in STEP_OPS and isinstance(prev, int) and i >= 2 and loc[i - 2] == "steps"):
            continue  # pydantic's discriminator tag in the path: not a field
        if part in ("function-after", "function-before", "tagged-union") or str(part).startswith(
                ("tuple[", "list[", "function-", "union[", "float", "int", "str", "literal[")):
            continue
        node = node.get(part) if isinstance(node, dict) else None
        out += ("." if out else "") + str(part)
    return out


_HINTS = {
    "extra_forbidden": "remove it or check its spelling (see docs/data.md for the allowed fields)",
    "missing": "add this field",
    "union_tag_invalid": "use one of the documented kinds",
    "union_tag_not_found": "add the `kind` (placement) or `op` (step) field",
}


def _issues_from_validation(err: ValidationError, data: Any) -> list[SpecIssue]:
    issues: dict[str, SpecIssue] = {}
    for e in err.errors():
        field = _loc(tuple(e["loc"]), data)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "union_tag_invalid":
            ctx = e.get("ctx", {})
            msg = f"unknown {ctx.get('discriminator', 'tag')} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
        if field in issues:  # alternatives of a union: one issue per field is enough
            if "range" not in issues[field].message and len(e["loc"]) > 0 and "tuple" in str(e["loc"][-1]):
                issues[field] = SpecIssue(field, "expected a number or a [low, high] range", "")
            continue
        issues[field] = SpecIssue(field, msg, _HINTS.get(e["type"], ""))
    return list(issues.values())


def _read_raw(path: Path) -> dict:
    if path.suffix == ".rules":
        raise SpecError(path, [SpecIssue("", "a rules file, not a scene spec",
                                         "give the .toml or .json scene spec (docs/data.md); the rules file goes "
                                         "to `dire check` and `dire train`")])
    text = None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, [SpecIssue("", f"cannot read the file: {exc}", "check the path")]) from None
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(path, [SpecIssue(f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}",
                                             "fix the JSON syntax")]) from None
        except RecursionError:  # nesting deeper than the stack (not json_read: it drops the line and column)
            raise SpecError(path, [SpecIssue("", "invalid JSON: nested too deeply to be read",
                                             "a scene spec nests a few levels deep")]) from None
    else:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(path, [SpecIssue("", f"invalid TOML: {exc}", "fix the TOML syntax")]) from None
        except RecursionError:  # tomllib recurses per nested array or inline table
            raise SpecError(path, [SpecIssue("", "invalid TOML: nested too deeply to be read",
                                             "a scene spec nests a few levels deep")]) from None
    if not isinstance(raw, dict):
        raise SpecError(path, [SpecIssue("", "the spec must be a table/object at the top level", "")])
    return raw


def parse_spec(raw: dict, file: str | Path = "<spec>") -> SceneSpec:
    """Validate a spec given as a dict; raises SpecError naming `file` and the fields."""
    try:
        spec = SceneSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(file, _issues_from_validation(err, raw)) from None
    issues = check_spec(spec)
    if issues:
        raise SpecError(file, issues)
    return spec


def load_spec(spec_or_category: str | Path) -> SceneSpec:
    """Read, validate and check a spec file or a built-in category's spec."""
    path = resolve_spec_path(spec_or_category)
    return parse_spec(_read_raw(path), path)


def check_spec(spec: SceneSpec) -> list[SpecIssue]:
    """Cross-field checks that pydantic cannot express: references, shapes, merges, counts."""
    issues: list[SpecIssue] = []
    add = issues.append
    if not NAME_RE.match(spec.category):
        add(SpecIssue("category", f"{spec.category!r} is not a valid folder name",
                      "use letters, digits and underscores, starting with a letter"))
    ids: dict[str, int] = {}
    for i, o in enumerate(spec.objects):
        where = f"objects[{i}]({o.id})"
        if not NAME_RE.match(o.id):
            add(SpecIssue(f"{where}.id", f"{o.id!r} is not a valid identifier", "use letters, digits, underscores"))
        if o.id in ids:
            add(SpecIssue(f"{where}.id", f"duplicate object id {o.id!r} (also objects[{ids[o.id]}])",
                          "give every object a unique id; share the COCO category with `name`"))
        _check_object(o, where, ids, spec, add)
        for aname, a in o.attributes.items():
            aw = f"{where}.attributes.{aname}"
            if len(set(a.values)) != len(a.values):
                add(SpecIssue(f"{aw}.values", "duplicate values", "list each value once"))
            if a.fixed is not None and a.fixed not in a.values:
                add(SpecIssue(f"{aw}.fixed", f"{a.fixed!r} is not one of {a.values}", "add it to `values`"))
            for val, look in a.looks.items():
                if val not in a.values:
                    add(SpecIssue(f"{aw}.looks.{val}", f"{val!r} is not one of the values {a.values}",
                                  "fix the value name"))
                bad = set(look) & {"id", "name", "attributes", "annotate"}
                if bad:
                    add(SpecIssue(f"{aw}.looks.{val}", f"a look cannot change {sorted(bad)}",
                                  "change only appearance fields (shape, params, parts, size, color, ...)"))
                    continue
                _check_merge(o, look, f"{aw}.looks.{val}", ids, spec, add)
        ids[o.id] = i
    for j, link in enumerate(spec.links):
        lw = f"links[{j}]({link.name})"
        for k, ref in enumerate(link.attributes):
            oid, _, attr = ref.partition(".")
            if oid not in ids:
                add(SpecIssue(f"{lw}.attributes[{k}]", f"unknown object {oid!r}",
                              f"use OBJECT.ATTRIBUTE with one of: {', '.join(ids)}"))
                continue
            o = spec.objects[ids[oid]]
            if attr not in o.attributes:
                add(SpecIssue(f"{lw}.attributes[{k}]", f"object {oid!r} has no attribute {attr!r}",
                              f"declare it under objects.attributes (has: {', '.join(o.attributes) or 'none'})"))
                continue
            for r, row in enumerate(link.rows):
                if len(row) != len(link.attributes):
                    continue
                if row[k] not in o.attributes[attr].values:
                    add(SpecIssue(f"{lw}.rows[{r}][{k}]", f"{row[k]!r} is not a value of {ref}",
                                  f"use one of {o.attributes[attr].values}"))
        for r, row in enumerate(link.rows):
            if len(row) != len(link.attributes):
                add(SpecIssue(f"{lw}.rows[{r}]", f"has {len(row)} entries for {len(link.attributes)} attributes",
                              "give one value per attribute, in order"))
    names = set()
    pixel_values: dict[int, str] = {}
    for j, an in enumerate(spec.anomalies):
        aw = f"anomalies[{j}]({an.name})"
        if not DEFECT_RE.match(an.name):
            add(SpecIssue(f"{aw}.name", f"{an.name!r} is not a valid defect name", "use letters, digits, underscores"))
        if an.name in names:
            add(SpecIssue(f"{aw}.name", f"duplicate defect name {an.name!r}", "give each recipe a unique name"))
        names.add(an.name)
        if an.pixel_value is not None:
            if an.pixel_value in pixel_values:
                add(SpecIssue(f"{aw}.pixel_value", f"{an.pixel_value} is also used by {pixel_values[an.pixel_value]}",
                              "use a distinct pixel value per defect type"))
            pixel_values[an.pixel_value] = an.name
        if an.relative_saturation and an.saturation_threshold is not None and an.saturation_threshold > 1:
            add(SpecIssue(f"{aw}.saturation_threshold", "a relative saturation threshold must lie in (0, 1]",
                          "use a fraction, or set relative_saturation = false for a pixel count"))
        for s, step in enumerate(an.steps):
            _check_step(step, f"{aw}.steps[{s}]", ids, spec, add)
    if not spec.objects or not any(o.annotate for o in spec.objects):
        add(SpecIssue("objects", "no annotated object", "set annotate = true on at least one object"))
    return issues


def _check_object(o: ObjectSpec, where: str, ids: dict[str, int], spec: SceneSpec, add) -> None:
    if o.shape not in SHAPES:
        add(SpecIssue(f"{where}.shape", f"unknown shape {o.shape!r}", f"use one of: {', '.join(SHAPES)}"))
    else:
        _check_params(o.shape, o.params, f"{where}.params", add)
    if o.shape == "curve" and o.placement.kind != "connect":
        add(SpecIssue(f"{where}.placement.kind", "a curve must be placed with kind = 'connect'",
                      "set placement = { kind = 'connect', a = ..., b = ... }"))
    if o.placement.kind == "connect" and o.shape != "curve":
        add(SpecIssue(f"{where}.shape", "placement kind 'connect' draws a curve", "set shape = 'curve'"))
    for k, part in enumerate(o.parts or []):
        if part.shape not in SHAPES or part.shape == "curve":
            add(SpecIssue(f"{where}.parts[{k}].shape", f"unknown part shape {part.shape!r}",
                          f"use one of: {', '.join(s for s in SHAPES if s != 'curve')}"))
        else:
            _check_params(part.shape, part.params, f"{where}.parts[{k}].params", add)
    pl = o.placement
    refs = [("parent", pl.parent)]
    if pl.kind == "connect":
        refs += [("a", pl.a), ("b", pl.b)]
    for field, ref in refs:
        if ref is None:
            continue
        if ref == o.id:
            add(SpecIssue(f"{where}.placement.{field}", "an object cannot refer to itself", ""))
        elif ref not in ids:
            later = any(x.id == ref for x in spec.objects)
            add(SpecIssue(f"{where}.placement.{field}",
                          f"{'object ' + repr(ref) + ' is declared after this one' if later else 'unknown object ' + repr(ref)}",
                          "declare the referenced object earlier in `objects`" if later
                          else f"use one of: {', '.join(ids) or '(none declared before)'}"))
    if pl.kind == "walls" and pl.rows * (pl.cols - 1) + (pl.rows - 1) * pl.cols == 0:
        add(SpecIssue(f"{where}.placement", "a 1 x 1 grid has no inner walls", "use rows or cols > 1"))
    if pl.kind == "grid" and isinstance(o.count, int) and o.count > pl.rows * pl.cols * pl.per_cell:
        add(SpecIssue(f"{where}.count", f"{o.count} instances do not fit {pl.rows}x{pl.cols} cells "
                      f"x {pl.per_cell} per cell", "raise per_cell or lower count"))
    for region_field in ("region",):
        reg = getattr(pl, region_field, None)
        if reg is not None and (reg[0] >= reg[2] or reg[1] >= reg[3]):
            add(SpecIssue(f"{where}.placement.{region_field}", f"{list(reg)} is empty",
                          "give [x0, y0, x1, y1] with x0 < x1 and y0 < y1"))


def _check_params(shape: str, params: dict, where: str, add) -> None:
    allowed = SHAPES[shape].params
    for k, v in params.items():
        if k not in allowed:
            add(SpecIssue(f"{where}.{k}", f"shape {shape!r} has no parameter {k!r}",
                          f"allowed: {', '.join(allowed) or 'none'}"))
        elif k == "points":
            ok = isinstance(v, list) and len(v) >= 3 and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, (int, float)) for x in p) for p in v)
            if not ok:
                add(SpecIssue(f"{where}.points", "expected a list of at least 3 [u, v] points", ""))
        elif isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                         for x in v):
            if v[0] > v[1]:
                add(SpecIssue(f"{where}.{k}", f"range {v} has its low end above its high end", "write [low, high]"))
        elif not isinstance(v, (int, float)) or isinstance(v, bool):
            add(SpecIssue(f"{where}.{k}", f"expected a number or a [low, high] range, got {v!r}", ""))
    if shape == "polygon" and "points" not in params:
        add(SpecIssue(f"{where}", "a polygon needs `points`", "add points = [[u, v], ...]"))


def _check_merge(o: ObjectSpec, over: dict, where: str, ids: dict, spec: SceneSpec, add) -> ObjectSpec | None:
    try:
        merged = ObjectSpec.model_validate(deep_merge(_dump(o), over))
    except ValidationError as err:
        for issue in _issues_from_validation(err, over):
            add(SpecIssue(f"{where}.{issue.field}" if issue.field else where, issue.message, issue.hint))
        return None
    if merged.shape not in SHAPES:
        add(SpecIssue(f"{where}.shape", f"unknown shape {merged.shape!r}", f"use one of: {', '.join(SHAPES)}"))
    else:
        _check_params(merged.shape, merged.params, f"{where}.params", add)
    return merged


def _check_step(step: Any, where: str, ids: dict, spec: SceneSpec, add) -> None:
    targets = []
    if hasattr(step, "objects"):
        targets = [(f"objects[{k}]", t) for k, t in enumerate(step.objects)]
    elif getattr(step, "object", None) is not None:
        targets = [("object", step.object)]
    for field, t in targets:
        if t not in ids:
            add(SpecIssue(f"{where}.{field}", f"unknown object {t!r}", f"use one of: {', '.join(ids)}"))
            return
    if step.op in STRUCTURAL_OPS:
        return
    if step.op == "swap" and step.objects[0] == step.objects[1]:
        add(SpecIssue(f"{where}.objects", "swap needs two different objects", "name two object ids"))
    o = spec.object(targets[0][1])
    if step.op == "remove" and step.n != "all" and (step.n < 1 or step.n > o.max_count):
        add(SpecIssue(f"{where}.n", f"cannot remove {step.n} of {o.id!r} (it has at most {o.max_count})",
                      "use 1..count or \"all\""))
    if step.op == "add" and o.placement.kind == "walls":
        add(SpecIssue(f"{where}.op", "cannot add instances to a 'walls' placement", "use remove instead"))
    if step.op == "attr":
        if step.attribute not in o.attributes:
            add(SpecIssue(f"{where}.attribute", f"object {o.id!r} has no attribute {step.attribute!r}",
                          f"declared: {', '.join(o.attributes) or 'none'}"))
            return
        values = o.attributes[step.attribute].values
        if step.value is not None and step.value not in values:
            add(SpecIssue(f"{where}.value", f"{step.value!r} is not a value of {o.id}.{step.attribute}",
                          f"use one of {values}"))
        if step.value is None and len(values) < 2:
            add(SpecIssue(f"{where}.attribute", "the attribute has a single value: nothing to change to",
                          "give `value` or more `values`"))
    if step.op == "modify":
        bad = set(step.set) & {"id", "name", "annotate"}
        if bad:
            add(SpecIssue(f"{where}.set", f"cannot modify {sorted(bad)}", "modify appearance, size or placement"))
            return
        _check_merge(o, step.set, f"{where}.set", ids, spec, add)
        if isinstance(step.index, int) and step.index >= o.max_count:
            add(SpecIssue(f"{where}.index", f"index {step.index} >= count {o.max_count}", ""))
