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

import re
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dire_dsl.synth.shapes import SHAPES

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")

Range = float | tuple[float, float]
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
    AtPlacement | BoxPlacement | GridPlacement | WallsPlacement | ScatterPlacement | ConnectPlacement,
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


def _one_target(step: Any, fields: tuple[str, str]) -> Any:
    """A step names its target one way: by id (`object`/`objects`) or by family (`name`)."""
    given = [f for f in fields if getattr(step, f) is not None]
    if len(given) != 1:
        raise ValueError(f"give either `{fields[0]}` (object {'ids' if fields[0] == 'objects' else 'id'}) or "
                         f"`name` (every object of that name, members picked at random), "
                         f"{'not both' if given else 'one of them'}")
    return step


def _n_not_pick(data: Any) -> Any:
    """`pick` counts the members a swap trades; a step with `n` counts with `n`: say so."""
    if isinstance(data, dict) and "pick" in data:
        raise ValueError(f"this step counts its instances with `n`, not `pick` (only swap has `pick`); "
                         f"write n = {data['pick']!r}")
    return data


class PlaceTo(_Model):
    """Where an added or moved instance goes: exactly one of `cell`, `at`, `overlap`, `outside`.

    `cell` is [row, col] of the object's grid (from 0); `at` a point of its frame (the image or
    its parent's box); `overlap` puts it on a random instance of `of` (default: the same object)
    so that this fraction of its own area lies on that neighbour; `outside` puts it in the image
    but off its parent (or off its placement's region when it has no parent).
    """

    cell: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]] | None = None
    at: tuple[Range, Range] | None = None
    overlap: Range | None = None
    of: str | None = None
    outside: bool | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, v: Any) -> Any:
        return AtPlacement._ranges(v) if v is not None else v

    @field_validator("overlap")
    @classmethod
    def _overlap(cls, v: Any) -> Any:
        for end in (v if isinstance(v, (tuple, list)) else (v,)) if v is not None else ():
            if not 0.05 <= end <= 0.95:
                raise ValueError(f"overlap {end} is not a fraction between 0.05 and 0.95 "
                                 "(the share of the instance's area lying on its neighbour)")
        return _check_range(v)

    @model_validator(mode="after")
    def _exactly_one(self) -> PlaceTo:
        given = [k for k in ("cell", "at", "overlap", "outside") if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"say where with exactly one of cell = [row, col], at = [x, y], overlap = p, "
                             f"outside = true; got {', '.join(given) or 'none'}")
        if self.of is not None and self.overlap is None:
            raise ValueError("`of` names the neighbour of an `overlap`; add overlap = p or drop `of`")
        return self


class _CountedStep(_Step):
    """A step on `n` instances of an object (`object`) or of a family (`name`), never both."""

    @model_validator(mode="before")
    @classmethod
    def _pick(cls, data: Any) -> Any:
        return _n_not_pick(data)

    @model_validator(mode="after")
    def _target(self) -> _CountedStep:
        return _one_target(self, ("object", "name"))


class RemoveStep(_CountedStep):
    """Remove `n` random instances (or "all") of an object or family; children go too by default."""

    op: Literal["remove"]
    object: str | None = None
    name: str | None = None
    n: int | Literal["all"] = 1
    with_children: bool = True


class AddStep(_CountedStep):
    """Add `n` extra instances of an object (or of a random member of a family), placed by its own
    placement rule or by `to`."""

    op: Literal["add"]
    object: str | None = None
    name: str | None = None
    n: int = Field(1, ge=1, le=64)
    to: PlaceTo | None = None


class MoveStep(_CountedStep):
    """Move `n` random instances of an object or family (children along) to the place `to`."""

    op: Literal["move"]
    object: str | None = None
    name: str | None = None
    n: int = Field(1, ge=1, le=64)
    to: PlaceTo


class CountStep(_Step):
    """Lay the object out again with exactly `n` instances."""

    op: Literal["count"]
    object: str
    n: int = Field(ge=0, le=256)


class AttrStep(_Step):
    """Give one instance (`index`, random by default) of an object or family another `value`."""

    op: Literal["attr"]
    object: str | None = None
    name: str | None = None
    attribute: str
    value: str | None = None
    index: int | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _target(self) -> AttrStep:
        _one_target(self, ("object", "name"))
        if self.name is not None and self.index is not None:
            raise ValueError("`index` counts the instances of one object; with `name` the member is random "
                             "-- drop `index` or use `object`")
        return self


class ModifyStep(_Step):
    """Override fields of an object's spec (size, placement, params, ...) for this image."""

    op: Literal["modify"]
    object: str
    set: dict[str, Any]
    index: int | Literal["all", "random"] = "all"


class SwapStep(_Step):
    """Swap the places of the first instances of two objects, or of `pick` random members of a
    family (`name`), which trade places in a cycle; children move along."""

    op: Literal["swap"]
    objects: tuple[str, str] | None = None
    name: str | None = None
    pick: int | None = Field(None, ge=2, le=16)

    @model_validator(mode="after")
    def _target(self) -> SwapStep:
        _one_target(self, ("objects", "name"))
        if self.pick is not None and self.name is None:
            raise ValueError("`pick` says how many members of the family `name` trade places; "
                             "with `objects` the two first instances swap -- drop `pick` or use `name`")
        return self


class MirrorStep(_Step):
    """Mirror every instance of the objects (and their children) about x = `about`."""

    op: Literal["mirror"]
    objects: list[str] = Field(min_length=1)
    about: float = 0.5


AIMS = ("tip", "end", "edge", "centre", "center")
Aim = Literal["tip", "end", "edge", "centre", "center"] | float | tuple[float, float]


class _Structural(_Step):
    object: str | None = None
    name: str | None = None
    on: Aim | None = None
    size: Range = (0.3, 0.5)

    @field_validator("size")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        return _check_range(v)

    @field_validator("on", mode="before")
    @classmethod
    def _part_name(cls, v: Any) -> Any:
        if isinstance(v, str) and v not in AIMS:
            raise ValueError(f"unknown part {v!r}; aim with one of {', '.join(AIMS[:4])}, a number 0..1 along "
                             "the object's axis (1 = the tip), or a point [u, v] of its box")
        return v

    @field_validator("on")
    @classmethod
    def _on(cls, v: Any) -> Any:
        numbers = v if isinstance(v, tuple) else (v,) if isinstance(v, (int, float)) else ()
        if any(not 0 <= x <= 1 for x in numbers):
            raise ValueError(f"{v} is not in the object's box: a point along its axis is 0..1 (0 one end, 1 the "
                             "tip), a point [u, v] has both in 0..1")
        return v

    @model_validator(mode="after")
    def _target(self) -> _Structural:
        if self.object is not None and self.name is not None:
            raise ValueError("give either `object` (an object id) or `name` (every object of that name), not both")
        if self.on is not None and self.object is None and self.name is None:
            raise ValueError("`on` aims at a part of an object: add `object` or `name`")
        return self


class ScratchStep(_Structural):
    """A thin scratch across an object (`tone` < 1 darker, > 1 lighter); size = length."""

    op: Literal["scratch"]
    width: float = Field(0.008, gt=0, le=0.1)
    tone: float = Field(0.45, ge=0, le=4)
    size: Range = (0.5, 0.9)


class CrackStep(_Structural):
    """A jagged dark line into an object (a crack, where `scratch` is a smooth curve); size = length."""

    op: Literal["crack"]
    width: float = Field(0.005, gt=0, le=0.1)
    tone: float = Field(0.3, ge=0, le=4)
    size: Range = (0.4, 0.7)


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
    RemoveStep | AddStep | MoveStep | CountStep | AttrStep | ModifyStep | SwapStep | MirrorStep
    | ScratchStep | CrackStep | ContaminationStep | DentStep | BreakStep | DiscolorStep,
    Field(discriminator="op"),
]
STEP_OPS = ("remove", "add", "move", "count", "attr", "modify", "swap", "mirror",
            "scratch", "crack", "contamination", "dent", "break", "discolor")
STRUCTURAL_OPS = ("scratch", "crack", "contamination", "dent", "break", "discolor")


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
