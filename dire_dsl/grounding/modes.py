"""The one interface to the three grounding modes: `ground()` gives the training images a mode
grounds, their components and the grounding head's targets.

- `few_shot`: COCO component annotations of up to `shots` training images;
- `unsupervised`: clusters of per-pixel features of normal images, named to declared objects;
- `prompts`: a pretrained CLIP's answer to text prompts, patch by patch.

The last two pseudo-annotate (`pseudo.pseudo_annotate`), using real annotations where some exist.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dire_dsl.data.coco import read_coco_components, read_components_for, resize_components
from dire_dsl.data.components import Component
from dire_dsl.data.errors import DataError
from dire_dsl.grounding.annotations import rules_false_on_annotations
from dire_dsl.grounding.pseudo import pseudo_annotate
from dire_dsl.grounding.sizes import largest_sizes, typical_sizes
from dire_dsl.grounding.targets import HeadTargets, build_targets, stack_targets
from dire_dsl.lang import ir
from dire_dsl.run.config import TrainConfig
from dire_dsl.vision.heads import HeadLayout


@dataclass
class Grounded:
    """What a grounding mode gives training: which images it grounds and to what."""

    annotated: list[int]  # indices of the grounded training images, in order
    components: dict[int, list[Component]]  # image index -> its components (at the training size)
    targets: HeadTargets | None  # the head targets of `annotated`, stacked; None when none is grounded
    max_instances: int  # the most instances of one object in one image (sizes the instance slots)
    sizes: dict[str, float] | None = None  # per object; None: take them from `components`
    largest: dict[str, float] | None = None
    record: dict[str, Any] | None = None  # how pseudo-annotations were made (RUN/pseudo_labels.json)


def ground(program: ir.CheckedProgram, config: TrainConfig, names: list[str], normals: list[np.ndarray],
           layout: HeadLayout, head_size: tuple[int, int], say: Callable[[str], None]) -> Grounded:
    """Ground the training images `names` (`normals`, at the training size) the way `config.grounding` says.

    Fails with one DataError when the mode's input is missing (few-shot annotations), or, for a
    mode that cannot work with this backbone and data, GroundingModeError. `say` hears when the
    slow pseudo-grounding starts.
    """
    if config.grounding == "few_shot":
        return _few_shot(program, config, names, layout, head_size)
    return _pseudo(program, config, names, normals, layout, head_size, say)


def _few_shot(program: ir.CheckedProgram, config: TrainConfig, names: list[str], layout: HeadLayout,
              head_size: tuple[int, int]) -> Grounded:
    """The annotated training images, up to `shots` of them (none asked for: no grounding targets)."""
    if config.shots <= 0:
        return Grounded([], {}, None, 1)
    root = Path(config.data_root)
    hw = config.input_hw()
    path = root / config.category / "annotations" / "train.json"
    if not path.exists():
        raise DataError(f"{path}: few-shot grounding needs COCO component annotations of some training images "
                        "(category names = the rules file's object names); write them there, or set "
                        "`grounding` in the train block")
    by_name = read_components_for(path, {o.name: o.attributes for o in program.objects})
    annotated = [i for i, name in enumerate(names) if by_name.get(name)][: config.shots]
    if not annotated:
        raise DataError(f"{path}: none of the annotated images is in {root / config.category / 'train' / 'good'}")
    components = {i: resize_components(by_name[names[i]], hw) for i in annotated}
    _warn_rules_false_on(program, [components[i] for i in annotated], hw, path)
    targets = stack_targets([build_targets(components[i], layout, head_size) for i in annotated])
    return Grounded(annotated, components, targets, _most_instances(program, by_name.values()))


def _pseudo(program: ir.CheckedProgram, config: TrainConfig, names: list[str], normals: list[np.ndarray],
            layout: HeadLayout, head_size: tuple[int, int], say: Callable[[str], None]) -> Grounded:
    """The pseudo-annotated training images of the `unsupervised` and `prompts` modes."""
    real = _real_annotations(program, config, names, config.input_hw())
    say(f"pseudo-grounding up to {config.pseudo_labels} training images ({config.grounding})")
    pseudo = pseudo_annotate(program, config, names, normals, real, _annotation_path(config))
    components = pseudo.components
    annotated = sorted(components)
    targets = stack_targets([build_targets(components[i], layout, head_size) for i in annotated]) if annotated \
        else None
    # sizes from real annotations where an object has any: pseudo instances of touching parts merge
    real_parts = [c for parts in real.values() for c in parts]
    pseudo_parts = [c for i, parts in components.items() if i not in real for c in parts]
    return Grounded(annotated, components, targets, _most_instances(program, components.values()),
                    sizes={**typical_sizes(pseudo_parts), **typical_sizes(real_parts)},
                    largest={**largest_sizes(pseudo_parts), **largest_sizes(real_parts)}, record=pseudo.record)


def _warn_rules_false_on(program: ir.CheckedProgram, annotated: list[list[Component]], hw: tuple[int, int],
                         path: Path) -> None:
    """Say before training when a rule contradicts the annotated good images (a wrong rule)."""
    for found in rules_false_on_annotations(program, annotated, hw):
        warnings.warn(f"rule `{found.rule}` (line {found.line}) is false on {found.false_on} of the {found.images} "
                      f"annotated training images ({path}), which are all good: check the rule against them; "
                      "training goes on, and the rule will likely be pruned", stacklevel=2)


def _most_instances(program: ir.CheckedProgram, images: Iterable[list[Component]]) -> int:
    """The most instances of one object in one image (sizes the instance slots)."""
    return max((max((sum(1 for c in parts if c.object == o.name) for o in program.objects), default=1)
                for parts in images), default=1)


def _annotation_path(config: TrainConfig) -> Path:
    return Path(config.data_root) / config.category / "annotations" / "train.json"


def _real_annotations(program: ir.CheckedProgram, config: TrainConfig, names: list[str],
                      hw: tuple[int, int]) -> dict[int, list[Component]]:
    """For the pseudo-annotating modes: the components of up to `shots` annotated training
    images, at the training size, when an annotation file exists (none is needed)."""
    path = _annotation_path(config)
    if config.shots == 0 or not path.exists():
        return {}
    by_name = read_coco_components(path)
    annotated = [i for i, name in enumerate(names) if by_name.get(name)][: config.shots]
    return {i: resize_components(by_name[names[i]], hw) for i in annotated}
