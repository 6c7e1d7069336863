"""Anomaly edits as data: which instances an edit may pick and what it does to them.

`edits_plan.plan_edits` writes one recipe per way of breaking a rule; `edits_apply.apply_edit`
carries it out on an image. A recipe holds its region boxes and declared values itself, so
applying it needs no program, and recipes are hashable, so equal ones from different rules
merge into one that names all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from dire_dsl.lang import ir

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) as fractions of the image width and height, x right, y down."""

Direction = Literal["up", "down", "both"]
"""Which way a measured value must go to break a rule."""

PositionFunc = Literal["x", "y", "left", "right", "top", "bottom"]


@dataclass(frozen=True)
class Place:
    """A region, or a grid's cells when the rule quantifies over them (several boxes).

    With several boxes, an edit uses the box its instance lies in: "an extra pin in an
    occupied compartment" is a copy placed in the source pin's own cell.
    """

    name: str
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Selection:
    """Instances of `object` that pass `where` and lie (at least half) in `place`."""

    object: str
    where: ir.Filter | None = None
    place: Place | None = None


@dataclass(frozen=True)
class Goal:
    """Where a moved instance must end up for its rule to break.

    - `leave` / `enter`: (almost) all of it outside / inside `place`;
    - `off`: (almost) none of it on the instances of `partner`;
    - `apart`: not touching the instances of `partner`;
    - `measure`: its `func` (centroid or extent) pushed in `direction` past `bounds` (the
      interval where the rule holds), past `partner`'s centroid, or else by a fixed shift.
    """

    kind: Literal["leave", "enter", "off", "apart", "measure"]
    place: Place | None = None
    partner: Selection | None = None
    func: PositionFunc | None = None
    direction: Direction = "both"
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class Mapping:
    """A pairing the new value must break: `pairs` of (source value, target value).

    The recoloured instance is the table's source side when `recoloured_is_source`; its
    partner values are those of the other instances matching `partner`.
    """

    partner: Selection
    attribute: str
    pairs: tuple[tuple[str, str], ...]
    recoloured_is_source: bool


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One way of breaking `rules`: acts on an instance chosen from `target`."""

    kind: ClassVar[str]
    target: Selection
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Remove(Edit):
    """Remove one instance (with what lies on it) and fill the hole with background."""

    kind: ClassVar[str] = "remove"


@dataclass(frozen=True, kw_only=True)
class RemoveAll(Edit):
    """Remove every instance that shows in `target.place` (anywhere if none): a missing part."""

    kind: ClassVar[str] = "remove_all"


@dataclass(frozen=True, kw_only=True)
class Duplicate(Edit):
    """Paste a copy of one instance at a free spot inside `into` (inside the scene if None)."""

    kind: ClassVar[str] = "duplicate"
    into: Place | None = None


@dataclass(frozen=True, kw_only=True)
class Move(Edit):
    """Cut one instance (or only its part inside `part`) and paste it where `goal` holds."""

    kind: ClassVar[str] = "move"
    goal: Goal
    part: Place | None = None


@dataclass(frozen=True, kw_only=True)
class Trim(Edit):
    """Cut an instance short so its extent `func` moves inward past `bounds` (or by a fixed shift)."""

    kind: ClassVar[str] = "trim"
    func: PositionFunc
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True, kw_only=True)
class Scale(Edit):
    """Grow or shrink one instance (`every` one, for the area of a set) about its centroid, so
    `func` (area or length) goes past `bounds`."""

    kind: ClassVar[str] = "scale"
    direction: Literal["up", "down"]
    func: Literal["area", "length"]
    bounds: tuple[float, float] | None = None
    every: bool = False


@dataclass(frozen=True, kw_only=True)
class Recolour(Edit):
    """Give one instance another of `values` for `attribute`, and that value's colour."""

    kind: ClassVar[str] = "recolour"
    attribute: str
    values: tuple[str, ...]
    mapping: Mapping | None = None


@dataclass(frozen=True, kw_only=True)
class Cut(Edit):
    """Erase a band across one instance, square to its long axis: the part, in two pieces."""

    kind: ClassVar[str] = "cut"


EditRecipe = Remove | RemoveAll | Duplicate | Move | Trim | Scale | Recolour | Cut
