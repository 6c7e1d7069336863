"""`train()`: the library call behind `dire train` (and notebooks), and the calibration that ends a run.

Opening a finished run is `dire_dsl.run.trained.load_run`: it needs none of this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from dire_dsl.data.loco import native_size
from dire_dsl.errors import DireError
from dire_dsl.grounding.pseudo import check_grounding_backbone
from dire_dsl.lang import ir
from dire_dsl.lang.program import load_rules, read_rules_text
from dire_dsl.run import patch_cells
from dire_dsl.run.config import MAX_SLOTS, TrainConfig, input_shape, settings_for, structural_descriptor
from dire_dsl.run.detector import Detector, build_detector
from dire_dsl.run.folder import RunDir, check_new_run_dir, create_run_dir, open_run_dir
from dire_dsl.run.scoring import (
    PATCH_MARGIN,
    RULE_STD_FLOOR,
    BatchScores,
    Calibration,
    _std,
    build_memory,
    build_part_memory,
    score_batch,
)
from dire_dsl.run.threshold import calibrate_threshold
from dire_dsl.run.trained import TrainedRun
from dire_dsl.train.dataset import TrainData, load_train_data
from dire_dsl.train.distributed import barrier, process_group
from dire_dsl.train.loop import train_detector
from dire_dsl.vision.heads import HeadLayout
from dire_dsl.vision.instances import PEAK_SEPARATION, RIDGE_REACH

SCORE_BATCH = 32


class RunMismatchError(DireError):
    """A run folder does not belong to the rules or data it is asked to continue with."""


def slots_for(max_instances: int) -> int:
    """Instance slots per object: room for the most instances seen, plus anomalies with extras
    (at most MAX_SLOTS, the bound a run's config.json is checked against)."""
    return min(MAX_SLOTS, max(8, math.ceil(1.5 * max_instances) + 2))


def train(rules: str | Path, data_root: str | Path, out: str | Path, *, category: str | None = None,
          overrides: dict[str, Any] | None = None, resume: bool = False, force: bool = False,
          on_step: Callable[[dict[str, Any]], None] | None = None,
          on_phase: Callable[[str], None] | None = None) -> TrainedRun:
    """Train a detector for `rules` on the MVTec LOCO-layout data under `data_root`.

    Bad input (rules, data folder, `out`) fails before the run folder is touched. Under torchrun
    every process trains its share of each batch; only rank 0 writes `out`, the others wait.
    """
    say = on_phase or (lambda _: None)
    program = load_rules(rules)
    source = read_rules_text(rules)
    config = _run_config(program, data_root, category, overrides, out, resume)
    check_grounding_backbone(config)  # e.g. prompts without a pretrained CLIP: fail before anything is touched
    with process_group(config.device) as (rank, _):
        if rank == 0 and not resume:
            check_new_run_dir(out, force=force)
        layout = HeadLayout.from_program(program)
        if not resume:
            height, width = input_shape(native_size(Path(config.data_root), config.category), config.image_size)
            config = config.model_copy(update={"input_height": height, "input_width": width,
                                               "descriptor": structural_descriptor(config.structural, config.backbone)})
        probe = build_detector(program, config)
        fixed = probe.model.backbone.input_size
        if fixed is not None and not resume:  # e.g. a ViT with fixed position embeddings: 224×224
            config = config.model_copy(update={"input_height": fixed[0], "input_width": fixed[1]})
        stride = probe.model.backbone.strides[0]
        height, width = config.input_hw()
        say("loading data")
        data = load_train_data(program, config, layout, (height // stride, width // stride), on_phase=say)
        if not resume:
            config = config.model_copy(update={
                "slots": slots_for(data.max_instances),
                **merging_reach(data, overrides),
            })
        run = _open_run(out, config, source, resume=resume, force=force, rank=rank)
        if rank == 0 and data.pseudo_labels is not None:
            run.write_pseudo_labels(data.pseudo_labels)
        say("training")
        detector = train_detector(program, config, data, run, resume=resume, on_step=on_step)
        calibration = calibrate(detector, data.normals, data.validation, config, on_phase=say)
        if rank == 0:
            run.save_weights(detector)
            run.write_calibration(calibration)
        barrier()
    return TrainedRun(run, program, config, detector, calibration, data.pseudo_labels)


def merging_reach(data: TrainData, overrides: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """Per object, how far apart two centre peaks may be and still be merged into one instance
    (`peak_separation`, `ridge_reach`, see `dire_dsl.vision.instances`), from its annotated sizes.

    Objects whose annotated instances overlap (`dire_dsl.train.dataset.touching_objects`) get 0
    for both: every two neighbours are joined by the mask there, so merging peaks that the mask
    joins merged overlapping instances into one (issue 18: 9.3 read for 11 washers), and no gap
    between masks can tell them apart; only the 3×3 window of the peak search keeps them apart.
    Values given in `overrides` (per object) win over the derived ones: the knob to set an
    object's reach by hand, e.g. `{"peak_separation": {"washer": 0.0}}` or back to a size.
    """
    derived = {
        "peak_separation": {name: 0.0 if name in data.touching else round(PEAK_SEPARATION * size, 4)
                            for name, size in data.largest.items()},
        "ridge_reach": {name: 0.0 if name in data.touching else round(RIDGE_REACH * size, 4)
                        for name, size in data.sizes.items()},
    }
    for key, values in derived.items():
        values.update((overrides or {}).get(key) or {})
    return derived


RESUME_MAY_CHANGE = ("device",)
"""Overrides a resumed run may take: where it runs, not what it learns."""


def _run_config(program: ir.CheckedProgram, data_root: str | Path, category: str | None,
                overrides: dict[str, Any] | None, out: str | Path, resume: bool) -> TrainConfig:
    """The configuration asked for; when resuming, the run's own (its rules must not have changed)."""
    config = settings_for(program, str(data_root), dict(overrides or {}))
    if category is not None:
        config = config.model_copy(update={"category": category})
    if not resume:
        return config
    saved = open_run_dir(out).read_config(TrainConfig)
    if saved.rules_sha256 != config.rules_sha256:
        raise RunMismatchError(f"{out}: the rules changed since this run started; --resume needs the same "
                               "rules file (start a new run with another --out, or restore the rules)")
    changed = []
    for key, value in (overrides or {}).items():
        field = next((name for name, info in TrainConfig.model_fields.items() if (info.alias or name) == key), key)
        if value is not None and key not in RESUME_MAY_CHANGE and getattr(config, field) != getattr(saved, field):
            changed.append(f"{key} = {getattr(config, field)!r} (the run's: {getattr(saved, field)!r})")
    if changed:
        raise RunMismatchError(f"{out}: --resume continues the run with its own settings, but {', '.join(changed)} "
                               "was asked for; drop those options, or start a new run with another --out")
    return saved


def _open_run(out: str | Path, config: TrainConfig, source: str, *, resume: bool, force: bool,
              rank: int) -> RunDir:
    """Rank 0 creates (or reopens) the run folder and writes the config and rules; the others
    wait for it, then open the folder to read checkpoints."""
    if rank == 0:
        run = open_run_dir(out) if resume else create_run_dir(out, force=force)
        run.write_config(config)
        run.write_rules(source)
    barrier()
    return run if rank == 0 else open_run_dir(out)


def calibrate(detector: Detector, normals: torch.Tensor, validation: torch.Tensor, config: TrainConfig,
              on_phase: Callable[[str], None] | None = None) -> Calibration:
    """Patch memory from the training normals (uint8 [N, 3, H, W]); each half's score statistics
    (rules, embedding, patches) and the threshold from the validation normals, never test images
    (the training normals when there are none). Also how `benchmarks/patch_memory.py`
    recalibrates a trained run at another `patch_memory`.
    `on_phase` hears when each of the two passes over the images starts."""
    say = on_phase or (lambda _: None)
    say(f"building the patch memory from {normals.shape[0]} training normals")
    detector.set_patch_position(config.patch_position)
    detector.set_patch_colour(config.patch_colour)
    detector.set_memory(build_memory(detector, normals, SCORE_BATCH, config.seed, config.patch_memory))
    if detector.part_memory is not None:  # `part_appearance` off: an empty per-part memory, no part statistics
        detector.set_part_memory(build_part_memory(detector, normals, SCORE_BATCH, config.seed)
                                 if config.part_appearance == "on" else detector.part_memory[:0])
    say("calibrating on validation normals")
    pruned = [tuple(p) for p in detector.rules.pruned(config.prune_threshold)] if config.use_rules else []
    validation = validation if validation.shape[0] else normals
    detector.set_patch_cells(torch.zeros(2, 0, 0, device=detector.device))
    parts = [score_batch(detector, validation[start:start + SCORE_BATCH].float() / 255)
             for start in range(0, validation.shape[0], SCORE_BATCH)]
    if config.patch_spread == "cell" and config.descriptor in ("pixels", "features"):
        parts = _in_cell_spreads(detector, parts)
    distance = torch.cat([p.distance for p in parts]).cpu()
    rules = torch.cat([p.rule_violation for p in parts]).cpu()
    patch = torch.cat([p.patch.amax(dim=(1, 2)) for p in parts]).cpu()
    gates = detector.rules.gate_values().detach().cpu()
    pruned_names = {name for name, _, _ in pruned}
    active = torch.tensor([name not in pruned_names for name in detector.rules.rule_names], dtype=gates.dtype)
    weights = gates * active
    weights = weights / weights[active.bool()].mean() if bool(active.any()) and float(weights.sum()) > 0 else weights
    calibration = Calibration(
        distance_mean=float(distance.mean()), distance_std=_std(distance),
        rule_mean=rules.mean(dim=0).tolist(),
        rule_std=[max(float(s), RULE_STD_FLOOR) for s in (rules.std(dim=0) if rules.shape[0] > 1 else
                                                           torch.zeros(rules.shape[1]))],
        rule_weight=weights.tolist() if config.use_rules else [0.0] * rules.shape[1],
        **_patch_statistics(config.descriptor, patch, parts),
        **_part_statistics(detector, parts),
        fusion=config.fusion if config.use_rules else 0.0, threshold=0.0, n_validation=int(validation.shape[0]),
        pruned=pruned,
    )
    if config.descriptor == "off":
        fused = torch.cat([calibration.fused(p) for p in parts]).cpu()
        calibration = calibration.model_copy(update={"patch_margin": -float(fused.min() - 3 * _std(fused))})
    scores = torch.cat([calibration.image_score(p) for p in parts]).cpu()
    return calibration.model_copy(update={"threshold": calibrate_threshold(scores.numpy())})


def _in_cell_spreads(detector: Detector, parts: list[BatchScores]) -> list[BatchScores]:
    """Give the detector each map cell's normal statistics from the validation maps (`patch_cells`),
    and put each validation map in the statistics of the others (so the image-level calibration
    sees them as it will see unseen normals)."""
    maps = torch.cat([p.patch for p in parts]).cpu()
    if maps.shape[0] < patch_cells.SMALLEST_SET:
        return parts
    detector.set_patch_cells(patch_cells.cell_statistics(maps).to(detector.device))
    normalised = patch_cells.leave_one_out(maps).split([p.patch.shape[0] for p in parts])
    return [replace(p, patch=m.to(p.patch.device)) for p, m in zip(parts, normalised)]


def _patch_statistics(descriptor: str, patch: torch.Tensor, parts: list) -> dict[str, float]:
    """The structural map's normal statistics: mean and spread of the validation normals'
    per-image maxima, and the margin (runs comparing head features keep the old 3 spreads).
    With the branch off the map is all zeros: it is set below every fused score afterwards."""
    if descriptor == "off":
        return {"patch_mean": 0.0, "patch_std": 1.0, "patch_margin": 0.0}
    return {"patch_mean": float(patch.mean()), "patch_std": _std(patch),
            "patch_margin": PATCH_MARGIN if descriptor == "head" else 0.0}


def _part_statistics(detector: Detector, parts: list) -> dict[str, list[float]]:
    """Per object: mean and spread of the validation normals' per-image largest instance
    distance (images without an instance of the object left out)."""
    if not detector.compares_parts:
        return {"part_mean": [], "part_std": []}
    means, stds = [], []
    for name in detector.model.layout.objects:
        largest = torch.cat([p.parts[name].amax(dim=1) for p in parts if p.parts and name in p.parts]).cpu() \
            if parts else torch.zeros(0)
        largest = largest[largest > 0]
        means.append(float(largest.mean()) if largest.numel() else 0.0)
        stds.append(_std(largest) if largest.numel() else 1.0)
    return {"part_mean": means, "part_std": stds}
