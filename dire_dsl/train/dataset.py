"""Everything a run trains on, loaded once into memory at the training resolution.

Normal training images, the annotated few-shot subset with its head targets (or, for the
unsupervised and prompts grounding modes, the pseudo-annotated subset: see
dire_dsl.grounding.modes), validation normals (calibration only) and a pool of
anomalies synthesized from the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dire_dsl.data.components import Component
from dire_dsl.data.errors import DataError
from dire_dsl.data.loco import load_split
from dire_dsl.grounding.modes import ground
from dire_dsl.grounding.sizes import largest_sizes, typical_sizes
from dire_dsl.grounding.targets import HeadTargets, build_targets, stack_targets
from dire_dsl.lang import ir
from dire_dsl.lang.settings import TRAIN_SETTINGS
from dire_dsl.run.config import TrainConfig
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
    touching: list[str] = field(default_factory=list)  # objects whose annotated instances overlap (touching_objects)


TOUCHING_SHARE = 0.2
"""Share of an object's annotated instances that must overlap another instance of it for the
object's centre peaks never to be merged (`dire_dsl.train.api.merging_reach`): an overlap that
is the product's layout shows in most images, a pair that brushes once in a few images
(scattered screws) is not a layout."""
CONTACT_SIDE = 0.4
"""How long the boundary two instances share must be, as a fraction of the instance's long side
(bounding box), to count as overlapping: overlapping discs share an arc about as long as they
are wide (0.8-0.94 on examples/overlap), walls of a grid of separators meeting end to end
only their thickness (pushpins: at most 0.22)."""


def touching_objects(components: list[list[Component]], share: float = TOUCHING_SHARE) -> list[str]:
    """Objects at least `share` of whose annotated instances overlap another instance of the same
    object: their visible masks meet (8-connected) along at least CONTACT_SIDE of the instance's
    long side, so the masks give no gap to count by. `components`: per annotated image, its instances.
    None of the five SynLOCO categories has such an object (pushpins' separator walls meet
    end to end over their thickness only)."""
    touching: dict[str, list[bool]] = {}
    for parts in components:
        for c in parts:
            grown = _grow(c.mask)
            ys, xs = np.nonzero(c.mask)
            side = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) if ys.size else 0
            contact = max([int((grown & o.mask).sum()) for o in parts if o is not c and o.object == c.object],
                          default=0)
            touching.setdefault(c.object, []).append(side > 0 and contact >= CONTACT_SIDE * side)
    return sorted(name for name, flags in touching.items() if flags and sum(flags) >= share * len(flags))


def _grow(mask: np.ndarray) -> np.ndarray:
    """The mask and its 8 neighbours."""
    grown = mask.astype(bool).copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    return grown


def _as_tensor(images: list[np.ndarray]) -> Tensor:
    """[N, 3, H, W] uint8 from HWC arrays, written once into its place (no stacked copy)."""
    out = torch.empty((len(images), 3, *images[0].shape[:2]), dtype=torch.uint8)
    rows = out.numpy()  # a view: images may be read-only arrays, which torch.from_numpy warns about
    for row, image in enumerate(images):
        rows[row] = image.transpose(2, 0, 1)
    return out


def normal_splits(config: TrainConfig) -> tuple[Tensor, Tensor]:
    """The run's training and validation normals at its input size, uint8 [N, 3, H, W] each (the
    validation set may be empty): what `calibrate` reads, for rebuilding a trained run's scoring."""
    hw = config.input_hw()
    train, validation = (load_split(Path(config.data_root), config.category, split, hw)[1]
                         for split in ("train", "validation"))
    empty = torch.zeros(0, 3, *hw, dtype=torch.uint8)
    return _as_tensor(train), _as_tensor(validation) if validation else empty


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
    grounded = ground(program, config, names, normals, layout, head_size, say)
    annotated, components = grounded.annotated, grounded.components
    annotated_parts = [c for parts in components.values() for c in parts]
    anomalies = _synthesize(program, normals, annotated, components, config, layout, head_size, say) if synthesize \
        else SyntheticAnomalies(torch.zeros(0, 3, *hw, dtype=torch.uint8), [])
    return TrainData(_as_tensor(normals), annotated, grounded.targets, _as_tensor(validation) if validation else
                     torch.zeros(0, 3, *hw, dtype=torch.uint8), anomalies, max(grounded.max_instances, 1), names,
                     typical_sizes(annotated_parts) if grounded.sizes is None else grounded.sizes,
                     largest_sizes(annotated_parts) if grounded.largest is None else grounded.largest, grounded.record,
                     touching_objects([components[i] for i in annotated if i in components]))


def _synthesize(program: ir.CheckedProgram, normals: list[np.ndarray], annotated: list[int],
                components: dict[int, list[Component]], config: TrainConfig, layout: HeadLayout,
                head_size: tuple[int, int], say: Callable[[str], None]) -> SyntheticAnomalies:
    """A pool of rule-breaking edits of the annotated normal images (deterministic per seed)."""
    from dire_dsl.edits.synthesize import iter_anomalies

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
