"""Anomalies synthesized from the rules: edits that break each rule, applied to normal images.

The facade over the edit modules, which each do one job:

- `edits_recipes`: what an edit is, as hashable data that names the rules it breaks;
- `edits_plan`: checked rules → recipes, from the IR alone;
- `edits_apply`: recipe + image + component masks → edited image, components, changed mask;
- `edits_judge`: whether an edit broke its rules, by the compiled rules on the components;
- `edits_scene`, `edits_place`, `edits_fill`, `edits_looks`: selection and nesting, placement,
  background filling, how attribute values look.

The same code runs on SynLOCO and on real images with COCO component annotations: it sees only
pixels, masks and attributes. docs/edits.md says which edit breaks which kind of rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.edits.apply import EditResult, apply_edit
from dire_dsl.edits.judge import RuleJudge, broken
from dire_dsl.edits.looks import EditStats, learn_stats
from dire_dsl.edits.plan import plan_edits
from dire_dsl.edits.recipes import EditRecipe
from dire_dsl.lang import ir

__all__ = ["EditRecipe", "EditResult", "EditStats", "RuleJudge", "apply_edit", "learn_stats", "plan_edits",
           "iter_anomalies", "synthesize_anomalies"]

ATTEMPTS = 8
"""Images a recipe is tried on before it counts as not working on this data set (and is dropped)."""


def synthesize_anomalies(program: ir.CheckedProgram, images: list[np.ndarray],
                         components_per_image: list[list[Component]], n: int, rng: np.random.Generator,
                         stats: EditStats | None = None, judge: RuleJudge | None = None) -> list[EditResult]:
    """`n` anomalies, balanced over the rules: each round gives every rule (in a shuffled order)
    one anomaly from its next recipe, applied to a random normal image and kept only if the
    compiled rules say it broke a rule it names. Recipes that give no such anomaly on ATTEMPTS
    images are dropped, so fewer than `n` come back only when no recipe works at all.
    """
    return list(iter_anomalies(program, images, components_per_image, n, rng, stats, judge))


def iter_anomalies(program: ir.CheckedProgram, images: list[np.ndarray],
                   components_per_image: list[list[Component]], n: int, rng: np.random.Generator,
                   stats: EditStats | None = None, judge: RuleJudge | None = None) -> Iterator[EditResult]:
    """The anomalies of `synthesize_anomalies`, one at a time, so that a caller can keep what it
    needs of each (the training loop: the image and small targets) and drop its full-size masks."""
    if len(images) != len(components_per_image):
        raise ValueError(f"{len(images)} images but {len(components_per_image)} component lists")
    looks = stats if stats is not None else learn_stats(images, components_per_image)
    judge = judge if judge is not None else RuleJudge(program)
    normal: dict[int, dict[str, float]] = {}

    def fit(recipe: EditRecipe) -> EditResult | None:
        for index in map(int, rng.permutation(len(images))[:ATTEMPTS]):
            result = apply_edit(images[index], components_per_image[index], recipe, rng, looks)
            if result is None:
                continue
            shape = images[index].shape[:2]
            if index not in normal:
                normal[index] = judge.truths(components_per_image[index], shape)
            if broken(normal[index], judge.truths(result.components, shape), recipe.rules):
                return replace(result, image_index=index)
        return None

    rotation = _Rotation(program, plan_edits(program))
    made = 0
    while made < n and rotation.queues and images:
        for rule in rotation.shuffled(rng):
            result = rotation.next(rule, fit)
            if result is not None:
                made += 1
                yield result
                if made == n:
                    break


class _Rotation:
    """Each rule's recipes, taken in turn; a recipe that fits no image is dropped for good."""

    def __init__(self, program: ir.CheckedProgram, recipes: list[EditRecipe]) -> None:
        queues = {rule.name: [r for r in recipes if rule.name in r.rules] for rule in program.rules}
        self.queues = {name: queue for name, queue in queues.items() if queue}
        self.turns = dict.fromkeys(self.queues, 0)
        self.dropped: set[EditRecipe] = set()

    def shuffled(self, rng: np.random.Generator) -> list[str]:
        names = list(self.queues)
        return [names[i] for i in rng.permutation(len(names))]

    def next(self, rule: str, fit: Callable[[EditRecipe], EditResult | None]) -> EditResult | None:
        """An anomaly from the rule's next recipe that fits; None (and the rule leaves) when none does."""
        while rule in self.queues:
            live = [r for r in self.queues[rule] if r not in self.dropped]
            if not live:
                del self.queues[rule]
                break
            recipe = live[self.turns[rule] % len(live)]
            self.turns[rule] += 1
            result = fit(recipe)
            if result is not None:
                return result
            self.dropped.add(recipe)
        return None
