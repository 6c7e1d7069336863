"""Where in an image a rule is broken: the cells, instances and objects behind its false atoms.

An explanation points at pixels. For every atom of a violated rule this module finds the
members of its quantified variables whose truth is low (a grid cell such as
`compartment[2,3]`, an instance slot such as `pushpin#3`) and turns them into marks: a box
for a region or cell, a soft mask for an instance. An atom without quantified variables
(`count(pushpin) == 15`) marks the class masks of the objects it measures, cut to the
regions it names. Which objects and regions an atom measures is read from the checked
program (the IR node at the atom's source span), not from its text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel

from dire_dsl.lang import ir
from dire_dsl.logic.atoms import Atom
from dire_dsl.logic.compiler import LogicOutput
from dire_dsl.logic.grounding import Grounding
from dire_dsl.logic.regions import cell_labels

FALSE_BELOW = 0.5
"""A truth below this is false: a member of an atom (a cell, an instance) to mark, or a rule
an explanation notes as false. Falsity says where to point; whether a rule is violated is
`rule_violated`'s call, since a rule as false on good images is no evidence."""
Z_VIOLATED = 3.0
"""See `rule_violated`."""


def rule_violated(z: float | np.ndarray) -> bool | np.ndarray:
    """The one definition of "violated", used by `dire eval`, `dire explain`, the report and pointing.

    A rule is violated on an image when its gate-weighted z (`Calibration.rule_z`: its
    violation's distance above the validation normals', in their spreads) is at least
    Z_VIOLATED. That z is what the image score is built from, so a rule that is as false on
    good images as here is not violated, and a pruned rule (gate weight 0, z 0) never is.
    """
    return z >= Z_VIOLATED


_SLOT = re.compile(r"^(?P<object>[A-Za-z_]\w*)#(?P<slot>\d+)$")


@dataclass(frozen=True)
class Mark:
    """One thing to draw for a violated rule: a box (normalised x0, y0, x1, y1) and/or a soft mask
    in [0, 1] at the grounding's mask resolution (clipped to the box when both are given)."""

    rule: str
    label: str
    truth: float
    box: tuple[float, float, float, float] | None = None
    mask: np.ndarray | None = None
    partial: bool = False  # the rule is not violated (`rule_violated`); this member of it is false


def _walk(node: object) -> Iterator[BaseModel]:
    if isinstance(node, BaseModel):
        yield node
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item)


def _same_span(a: object, b: object) -> bool:
    return (getattr(a, "line", None), getattr(a, "column", None), getattr(a, "end_line", None),
            getattr(a, "end_column", None)) == (getattr(b, "line", None), getattr(b, "column", None),
                                                getattr(b, "end_line", None), getattr(b, "end_column", None))


@dataclass(frozen=True)
class Mentions:
    """Objects and regions (with a fixed 0-based cell, if any) that a formula or term measures."""

    objects: tuple[str, ...]
    regions: tuple[tuple[str, tuple[int, int] | None], ...]


def mentions(node: object) -> Mentions:
    """The objects and regions named anywhere under an IR node, in source order, once each."""
    objects: list[str] = []
    regions: list[tuple[str, tuple[int, int] | None]] = []
    for child in _walk(node):
        if isinstance(child, ir.Domain):
            if child.kind == "objects" and child.name not in objects:
                objects.append(child.name)
        elif isinstance(child, (ir.ObjectSet, ir.Instance)):
            if child.object not in objects:
                objects.append(child.object)
        elif isinstance(child, ir.RegionSelection) and child.var is None:
            if (child.region, child.cell) not in regions:
                regions.append((child.region, child.cell))
    return Mentions(tuple(objects), tuple(regions))


def rule_objects(rule: ir.RuleDef) -> tuple[str, ...]:
    """The objects a rule is about (those it counts, measures or quantifies over)."""
    return mentions(rule.formula).objects


def atom_mentions(rule: ir.RuleDef, atom: Atom) -> Mentions:
    """What an atom measures: the IR node at the atom's span (of the atom's own text, where one
    written form stands for several tests, as `sorted(...)` does), or the whole rule if none matches."""
    at_span = [node for node in _walk(rule.formula) if _same_span(getattr(node, "span", None), atom.span)]
    same_text = [node for node in at_span if getattr(node, "text", None) == atom.text]
    found = same_text or at_span
    return mentions(found[0]) if found else mentions(rule.formula)


class _Places:
    """Boxes of every region and cell label of a program: `compartment`, `compartment[2,3]`."""

    def __init__(self, program: ir.CheckedProgram) -> None:
        self.boxes: dict[str, tuple[float, float, float, float]] = {}
        for region in program.regions:
            self.boxes[region.name] = region.box
            labels = cell_labels(region)
            cells = [(r, c) for r in range(region.rows) for c in range(region.cols)]
            for label, (r, c) in zip(labels, cells):
                self.boxes[label] = region.cell_box(r, c)
        self.program = program

    def region_box(self, name: str, cell: tuple[int, int] | None) -> tuple[float, float, float, float] | None:
        try:
            region = self.program.region(name)
        except StopIteration:
            return None
        return region.box if cell is None else region.cell_box(cell[0], cell[1])


def _clip(mask: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    if box is None:
        return mask
    height, width = mask.shape
    x0, y0, x1, y1 = box
    out = np.zeros_like(mask)
    rows = slice(int(np.floor(y0 * height)), int(np.ceil(y1 * height)))
    cols = slice(int(np.floor(x0 * width)), int(np.ceil(x1 * width)))
    out[rows, cols] = mask[rows, cols]
    return out


def _object_mask(grounding: Grounding, name: str, image: int) -> np.ndarray | None:
    found = grounding.objects.get(name)
    return None if found is None else found.mask[image].detach().float().cpu().numpy()


def _slot_mask(grounding: Grounding, label: str, image: int) -> np.ndarray | None:
    match = _SLOT.match(label)
    if match is None:
        return None
    found = grounding.objects.get(match["object"])
    slot = int(match["slot"]) - 1
    if found is None or slot >= found.instances.shape[1]:
        return None
    return found.instances[image, slot].detach().float().cpu().numpy()


def atom_marks(program: ir.CheckedProgram, rule: ir.RuleDef, atom: Atom, grounding: Grounding, image: int,
               places: _Places | None = None, limit: int = 8, min_weight: float = 0.5) -> list[Mark]:
    """Marks for the false members of one atom on one image (least true first, at most `limit`)."""
    places = places or _Places(program)
    what = atom_mentions(rule, atom)
    truth = atom.truth[image].detach().float().cpu().numpy()
    marks: list[Mark] = []
    if not atom.axes:
        value = float(truth)
        if value >= FALSE_BELOW:
            return []
        boxes = [places.region_box(name, cell) for name, cell in what.regions] or [None]
        for obj in what.objects:
            mask = _object_mask(grounding, obj, image)
            for box in boxes:
                marks.append(Mark(rule.name, obj, value, box, None if mask is None else _clip(mask, box)))
        if not what.objects:
            marks.extend(Mark(rule.name, name, value, box) for (name, _), box in zip(what.regions, boxes) if box)
        return marks[:limit]
    weights = [axis.weights[min(image, axis.weights.shape[0] - 1)].detach().float().cpu().numpy()
               for axis in atom.axes]
    rows = []
    for index in np.ndindex(*truth.shape):
        weight = float(np.prod([w[i] for w, i in zip(weights, index)]))
        if weight >= min_weight and truth[index] < FALSE_BELOW:
            rows.append((float(truth[index]), index))
    rows.sort(key=lambda row: row[0])
    for value, index in rows[:limit]:
        labels = [axis.labels[i] for axis, i in zip(atom.axes, index)]
        cell_box = next((places.boxes[label] for label in labels if label in places.boxes), None)
        for label in labels:
            slot = _slot_mask(grounding, label, image)
            if slot is not None:
                marks.append(Mark(rule.name, label, value, None, slot))
        if cell_box is not None:
            label = next(label for label in labels if label in places.boxes)
            masks = [m for m in (_object_mask(grounding, obj, image) for obj in what.objects) if m is not None]
            union = np.maximum.reduce(masks) if masks else None
            marks.append(Mark(rule.name, label, value, cell_box, None if union is None else _clip(union, cell_box)))
    return marks


def rule_marks(program: ir.CheckedProgram, logic: LogicOutput, grounding: Grounding, image: int, rule: str,
               per_rule: int = 8, places: _Places | None = None) -> list[Mark]:
    """Marks for the false members of every atom of one rule on one image (at most `per_rule`)."""
    places = places or _Places(program)
    definition = next(r for r in program.rules if r.name == rule)
    marks: list[Mark] = []
    for atom in logic.atoms.get(rule, []):
        marks.extend(atom_marks(program, definition, atom, grounding, image, places, per_rule))
    return marks[:per_rule]


def violated_marks(program: ir.CheckedProgram, logic: LogicOutput, grounding: Grounding, image: int,
                   violated: Collection[str], skip: Collection[str] = frozenset(), per_rule: int = 8,
                   partial: bool = True) -> list[Mark]:
    """Marks of the `violated` rules of one image (see `rule_violated`), rules in `skip` left out.

    With `partial`, also the false members of the rules that are not violated: a `forall`
    over 15 cells with one empty cell keeps a truth near 0.8 (p-mean-error), yet the empty
    cell is exactly what a person wants to see. Such marks have `partial=True`.
    """
    places = _Places(program)
    marks: list[Mark] = []
    for name in logic.rules:
        if name in skip or (name not in violated and not partial):
            continue
        found = rule_marks(program, logic, grounding, image, name, per_rule, places)
        marks.extend(replace(mark, partial=name not in violated) for mark in found)
    return marks
