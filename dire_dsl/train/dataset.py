"""Everything a run trains on, loaded once into memory at the training resolution.

Normal training images, the annotated few-shot subset with its head targets (or, for the
unsupervised and prompts grounding modes, the pseudo-annotated subset: see
dire_dsl.train.pseudo_grounding), validation normals (calibration only) and a pool of
anomalies synthesized from the rules.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dire_dsl.data.coco import read_coco_components, read_components_for, resize_components
from dire_dsl.data.components import Component
from dire_dsl.data.errors import DataError
from dire_dsl.data.loco import MVTecLOCO
from dire_dsl.lang import ir
from dire_dsl.lang.settings import TRAIN_SETTINGS
from dire_dsl.train.annotation_check import rules_false_on_annotations
from dire_dsl.train.config import TrainConfig
from dire_dsl.train.pseudo_grounding import pseudo_annotate
from dire_dsl.train.targets import HeadTargets, build_targets, stack_targets
from dire_dsl.vision.heads import HeadLayout


@dataclass
class SyntheticAnomalies:
    """Rule-breaking edits of annotated normals; their components are known, so they also
    teach the grounding head what an extra, missing or recoloured part looks like."""

    images: Tensor  # [P, 3, S, S] uint8
    rules: list[tuple[str, ...]]  # the rules each edit was meant to break
    targets: HeadTargets | None = None


@dataclass
class TrainData:
    normals: Tensor  # [N, 3, S, S] uint8
    annotated: list[int]  # indices into normals that have component annotations
    targets: HeadTargets | None  # stacked head targets of the annotated images
    validation: Tensor  # [M, 3, S, S] uint8
    anomalies: SyntheticAnomalies
    max_instances: int = 1
    names: list[str] = field(default_factory=list)
    sizes: dict[str, float] = field(default_factory=dict)  # object -> typical size (see typical_sizes)
    largest: dict[str, float] = field(default_factory=dict)  # object -> largest size (see largest_sizes)
    # unsupervised / prompts grounding: which images were pseudo-annotated and how (RUN/pseudo_labels.json)
    pseudo_labels: dict[str, Any] | None = None


def _as_tensor(images: list[np.ndarray]) -> Tensor:
    """[N, 3, H, W] uint8 from HWC arrays, written once into its place (no stacked copy)."""
    out = torch.empty((len(images), 3, *images[0].shape[:2]), dtype=torch.uint8)
    rows = out.numpy()  # a view: images may be read-only arrays, which torch.from_numpy warns about
    for row, image in enumerate(images):
        rows[row] = image.transpose(2, 0, 1)
    return out


def native_size(root: Path, category: str) -> tuple[int, int]:
    """(height, width) of the category's first training image (all images share one size)."""
    dataset = MVTecLOCO(root, category, "train")
    if len(dataset) == 0:
        raise DataError(f"{root / category / 'train' / 'good'}: no training images")
    image = dataset[0].image
    return int(image.shape[1]), int(image.shape[2])


def load_split(root: Path, category: str, split: str, hw: tuple[int, int]) -> tuple[list[str], list[np.ndarray]]:
    """File names and resized RGB uint8 arrays of a normal split (train or validation)."""
    dataset = MVTecLOCO(root, category, split, image_size=hw)
    names, images = [], []
    for index in range(len(dataset)):
        sample = dataset[index]
        names.append(Path(sample.path).name)
        images.append(np.asarray(sample.image_uint8 if hasattr(sample, "image_uint8") else sample.image))
    return names, images


def _long_sides(components: list[Component]) -> dict[str, list[float]]:
    """Per object, the bounding-box long side of each annotated instance, as a fraction of
    the image's long side (empty masks are no evidence)."""
    sides: dict[str, list[float]] = {}
    for component in components:
        ys, xs = np.nonzero(component.mask)
        if ys.size:
            side = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) / max(component.mask.shape)
            sides.setdefault(component.object, []).append(float(side))
    return sides


def typical_sizes(components: list[Component]) -> dict[str, float]:
    """Per object, the median long side of its annotated instances: how far apart the
    centres of two neighbouring instances are."""
    return {name: float(np.median(values)) for name, values in _long_sides(components).items()}


LARGEST_QUANTILE = 75
"""Percentile of the long sides taken as an object's largest size: with two kinds in equal
numbers (long and short screws) it is the longer kind's size, while the longest quarter
(walls seen lengthwise in a grid of separators) does not stretch it: at the 90th percentile
pushpins' separation radius grew from 2 to 3 cells and merged walls where they meet."""


def largest_sizes(components: list[Component]) -> dict[str, float]:
    """Per object, the upper quartile of its instances' long sides: how far apart the bumps
    of one instance's centre heatmap can lie (a long screw among short ones spreads furthest)."""
    return {name: float(np.percentile(values, LARGEST_QUANTILE)) for name, values in _long_sides(components).items()}


def _warn_rules_false_on(program: ir.CheckedProgram, annotated: list[list[Component]], hw: tuple[int, int],
                         path: Path) -> None:
    """Say before training when a rule contradicts the annotated good images (a wrong rule)."""
    for found in rules_false_on_annotations(program, annotated, hw):
        warnings.warn(f"rule `{found.rule}` (line {found.line}) is false on {found.false_on} of the {found.images} "
                      f"annotated training images ({path}), which are all good: check the rule against them; "
                      "training goes on, and the rule will likely be pruned", stacklevel=2)


def load_train_data(program: ir.CheckedProgram, config: TrainConfig, layout: HeadLayout, head_size: tuple[int, int],
                    synthesize: bool = True, on_phase: Callable[[str], None] | None = None) -> TrainData:
    """Load and prepare everything; fails with one clear DataError (or, for a grounding mode
    that cannot work with this backbone and data, GroundingModeError) before any training.
    `on_phase` hears when the slow parts start (pseudo-grounding, synthesizing anomalies)."""
    say = on_phase or (lambda _: None)
    root = Path(config.data_root)
    hw = config.input_hw()
    names, normals = load_split(root, config.category, "train", hw)
    if not normals:
        raise DataError(f"{root / config.category / 'train' / 'good'}: no training images")
    _, validation = load_split(root, config.category, "validation", hw)
    annotated, targets, components, max_instances = [], None, {}, 1
    if config.grounding == "few_shot" and config.shots > 0:
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
        max_instances = _most_instances(program, by_name.values())
    pseudo_record, sizes, largest = None, None, None
    if config.grounding != "few_shot":
        real = _real_annotations(program, config, names, hw)
        say(f"pseudo-grounding up to {config.pseudo_labels} training images ({config.grounding})")
        pseudo = pseudo_annotate(program, config, names, normals, real, _annotation_path(config))
        components, pseudo_record = pseudo.components, pseudo.record
        annotated = sorted(components)
        if annotated:
            targets = stack_targets([build_targets(components[i], layout, head_size) for i in annotated])
        max_instances = _most_instances(program, components.values())
        # sizes from real annotations where an object has any: pseudo instances of touching parts merge
        real_parts = [c for parts in real.values() for c in parts]
        pseudo_parts = [c for i, parts in components.items() if i not in real for c in parts]
        sizes = {**typical_sizes(pseudo_parts), **typical_sizes(real_parts)}
        largest = {**largest_sizes(pseudo_parts), **largest_sizes(real_parts)}
    annotated_parts = [c for parts in components.values() for c in parts]
    anomalies = _synthesize(program, normals, annotated, components, config, layout, head_size, say) if synthesize \
        else SyntheticAnomalies(torch.zeros(0, 3, *hw, dtype=torch.uint8), [])
    return TrainData(_as_tensor(normals), annotated, targets, _as_tensor(validation) if validation else
                     torch.zeros(0, 3, *hw, dtype=torch.uint8), anomalies, max(max_instances, 1), names,
                     typical_sizes(annotated_parts) if sizes is None else sizes,
                     largest_sizes(annotated_parts) if largest is None else largest, pseudo_record)


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


def _synthesize(program: ir.CheckedProgram, normals: list[np.ndarray], annotated: list[int],
                components: dict[int, list[Component]], config: TrainConfig, layout: HeadLayout,
                head_size: tuple[int, int], say: Callable[[str], None]) -> SyntheticAnomalies:
    """A pool of rule-breaking edits of the annotated normal images (deterministic per seed)."""
    from dire_dsl.data.edits import iter_anomalies

    hw = config.input_hw()
    if not annotated:
        return SyntheticAnomalies(torch.zeros(0, 3, *hw, dtype=torch.uint8), [])
    rng = np.random.default_rng([config.seed, 1])
    n = max(64, 8 * _pool_sources(config, len(annotated)) * max(1, len(program.rules)))
    say(f"synthesizing {n} training anomalies from the rules")
    # Each edit comes with full-size component masks; only its image and head-size targets are
    # kept, so the pool costs its images and small targets (screw_bag: 1920 edits).
    images = torch.empty((n, 3, *hw), dtype=torch.uint8)
    rows = images.numpy()
    targets, rules = [], []
    for result in iter_anomalies(program, [normals[i] for i in annotated], [components[i] for i in annotated], n, rng):
        rows[len(rules)] = result.image.transpose(2, 0, 1)
        targets.append(build_targets(result.components, layout, head_size))
        rules.append(tuple(result.recipe.rules))
    if not rules:
        return SyntheticAnomalies(torch.zeros(0, 3, *hw, dtype=torch.uint8), [])
    return SyntheticAnomalies(images[: len(rules)].clone() if len(rules) < n else images, rules,
                              stack_targets(targets))


def _pool_sources(config: TrainConfig, n_annotated: int) -> int:
    """How many annotated images the synthetic pool is sized for: all of them for few-shot
    (a handful), but for the pseudo-annotating modes no more than a few-shot run with the
    default `shots` would have, so 40 pseudo-labelled images do not make the pool 8× larger
    (edits still draw on every annotated image)."""
    if config.grounding == "few_shot":
        return n_annotated
    return min(n_annotated, max(config.shots, TRAIN_SETTINGS["shots"].default))
