"""Whether an edit broke the rules it names, judged by the compiled rules themselves.

The planner reads a rule one measurement at a time, so some edits only nudge a number the
rule compares: one more chip when a ratio of areas has room to spare, one member changed
under `exists`. Fed to training as anomalies, those would teach the model that rule-abiding
images are anomalous. The judge grounds the components exactly (their masks area-pooled to at
most MASK_SIZE pixels a side, presence 1, one-hot attributes) and runs the same compiled rules
the model is trained with, on the normal image and on the edited one.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from dire_dsl.data.components import Component
from dire_dsl.lang import ir
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import Grounding, ObjectGrounding

BREAK = 0.85
"""An edit breaks a rule when it brings the rule's truth to at most this share of the normal one."""
MASK_SIZE = 96
"""Longer side of the masks the rules are evaluated on (measures are fractions of the image)."""


class RuleJudge:
    """The truth of every rule of `program` on annotated components."""

    def __init__(self, program: ir.CheckedProgram) -> None:
        self.program = program
        self.rules = compile_program(program)

    def truths(self, components: list[Component], shape: tuple[int, int]) -> dict[str, float]:
        scale = min(1.0, MASK_SIZE / max(shape))
        size = (max(1, math.ceil(shape[0] * scale)), max(1, math.ceil(shape[1] * scale)))
        objects = {}
        for obj in self.program.objects:
            found = [c for c in components if c.object == obj.name]
            masks = torch.zeros(1, max(1, len(found)), *size)
            if found:
                full = torch.from_numpy(np.stack([c.mask for c in found]).astype(np.float32))
                masks[0, : len(found)] = F.adaptive_avg_pool2d(full[None], size)[0]
            presence = torch.zeros(1, masks.shape[1])
            presence[0, : len(found)] = 1.0
            attributes = {a: _one_hot(found, a, v, masks.shape[1]) for a, v in obj.attributes.items()}
            objects[obj.name] = ObjectGrounding(masks.amax(1), masks, presence, attributes)
        with torch.no_grad():
            output = self.rules(Grounding(objects, torch.zeros(1, 1)))
        return {rule.name: float(output.rule(rule.name)[0]) for rule in self.program.rules}


def broken(before: dict[str, float], after: dict[str, float], rules: tuple[str, ...]) -> bool:
    """Whether at least one of `rules` fell to BREAK of its truth before the edit."""
    return any(after[rule] <= BREAK * before[rule] for rule in rules)


def _one_hot(found: list[Component], attribute: str, values: list[str], slots: int) -> torch.Tensor:
    """[1, slots, V]: each instance's annotated value, uniform where it has none."""
    out = torch.full((1, slots, len(values)), 1.0 / len(values))
    for k, component in enumerate(found):
        value = component.attributes.get(attribute)
        if value in values:
            out[0, k] = F.one_hot(torch.tensor(values.index(value)), len(values)).float()
    return out
