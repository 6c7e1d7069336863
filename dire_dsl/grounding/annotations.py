"""Read the rules on the annotated training images before training: they are all good, so a
rule that is false on most of them is a mistake in the rule (or in the annotations).

`count(egg) == 7` on a carton of six, a bound written in pixels instead of image fractions,
a region one row off: training would spend its epochs pulling the model towards an answer
the annotations contradict, and the rule would only show up later as pruned or useless.
The annotations' own masks give the answer in a second, on exactly the data the user gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dire_dsl.data.components import Component
from dire_dsl.lang import ir
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import Grounding, grounding_from_masks

FALSE_BELOW = 0.3
"""A rule counts as false on an image below this truth: well under ½, so that an attribute the
annotations leave out (read as uniform, truth about ½) is not mistaken for a broken rule."""


def _attributes_of(node: object) -> set[str]:
    """Every attribute name a dumped formula mentions (filters, `.attr` tests, tables)."""
    if isinstance(node, dict):
        found = {node["attribute"]} if isinstance(node.get("attribute"), str) else set()
        return found.union(*(_attributes_of(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_attributes_of(value) for value in node))
    return set()


@dataclass(frozen=True)
class FalseRule:
    rule: str
    line: int
    false_on: int
    images: int


def _annotated(components: list[Component], attr: str, declared: list[str]) -> bool:
    """Whether every one of these instances gives `attr` one of its declared values."""
    return all(c.attributes.get(attr) in declared for c in components)


def unannotated_attributes(program: ir.CheckedProgram, annotated: Sequence[list[Component]]) -> set[str]:
    """Attributes some annotated instance lacks (or gives an undeclared value): the grounding
    reads them as uniform, so rules on them say nothing about these images."""
    missing: set[str] = set()
    for components in annotated:
        for obj in program.objects:
            mine = [c for c in components if c.object == obj.name]
            missing |= {attr for attr, declared in obj.attributes.items() if not _annotated(mine, attr, declared)}
    return missing


def annotated_grounding(program: ir.CheckedProgram, annotated: Sequence[list[Component]],
                        size: tuple[int, int]) -> Grounding:
    """The hard grounding of the annotated images' components (at resolution `size`); an
    attribute an instance lacks is uniform."""
    masks: list[Mapping[str, torch.Tensor]] = []
    attributes: list[Mapping[str, Mapping[str, list[str]]]] = []
    for components in annotated:
        per_object: dict[str, list[np.ndarray]] = {}
        for component in components:
            per_object.setdefault(component.object, []).append(component.mask)
        values: dict[str, dict[str, list[str]]] = {}
        for obj in program.objects:
            mine = [c for c in components if c.object == obj.name]
            values[obj.name] = {attr: [c.attributes[attr] for c in mine] for attr, declared in obj.attributes.items()
                                if _annotated(mine, attr, declared)}
        masks.append({name: torch.from_numpy(np.stack(stack).astype(np.float32)) for name, stack in per_object.items()})
        attributes.append(values)
    return grounding_from_masks(program, masks, attributes, size=size)


def mentions_any(rule: ir.RuleDef, attributes: set[str]) -> bool:
    """Whether the rule reads any of these attributes (a filter, an `.attr` test, a table)."""
    return bool(_attributes_of(rule.formula.model_dump()) & attributes)


def rules_false_on_annotations(program: ir.CheckedProgram, annotated: Sequence[list[Component]],
                               size: tuple[int, int], share: float = 0.5) -> list[FalseRule]:
    """Rules whose truth on the annotated (good) images is below FALSE_BELOW on more than
    `share` of them; `annotated` holds each image's components at resolution `size`."""
    if not annotated or not program.rules:
        return []
    unannotated = unannotated_attributes(program, annotated)
    with torch.no_grad():
        truth = compile_program(program)(annotated_grounding(program, annotated, size)).truth
    found = []
    for index, rule in enumerate(program.rules):
        if mentions_any(rule, unannotated):
            continue
        false_on = int((truth[:, index] < FALSE_BELOW).sum())
        if false_on > share * len(annotated):
            found.append(FalseRule(rule.name, rule.span.line, false_on, len(annotated)))
    return found
