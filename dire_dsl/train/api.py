"""`train()` and `load_run()`: the library calls behind `dire train` (and notebooks)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dire_dsl.lang import ir
from dire_dsl.lang.program import check_source, load_rules, read_rules_text
from dire_dsl.lang.diagnostics import DireError, RulesCheckError
from dire_dsl.train.config import TrainConfig, settings_for
from dire_dsl.train.dataset import TrainData, load_train_data
from dire_dsl.train.detector import Detector, build_detector
from dire_dsl.train.loop import train_detector
from dire_dsl.train.run_dir import RunDir, create_run_dir, open_run_dir
from dire_dsl.train.scoring import Calibration, _std, build_memory, score_batch
from dire_dsl.vision.heads import HeadLayout

SCORE_BATCH = 32


class RunMismatchError(DireError):
    """A run folder does not belong to the rules or data it is asked to continue with."""


@dataclass
class TrainedRun:
    """A run folder with its program, configuration, detector and calibration, ready to score."""

    run: RunDir
    program: ir.CheckedProgram
    config: TrainConfig
    detector: Detector
    calibration: Calibration


def slots_for(max_instances: int) -> int:
    """Instance slots per object: room for the most instances seen, plus anomalies with extras."""
    return max(8, math.ceil(1.5 * max_instances) + 2)


def train(rules: str | Path, data_root: str | Path, out: str | Path, *, category: str | None = None,
          overrides: dict[str, Any] | None = None, resume: bool = False, force: bool = False,
          on_step: Callable[[dict[str, Any]], None] | None = None,
          on_phase: Callable[[str], None] | None = None) -> TrainedRun:
    """Train a detector for `rules` on the MVTec LOCO-layout data under `data_root`."""
    say = on_phase or (lambda _: None)
    program = load_rules(rules)
    source = read_rules_text(rules)
    values = dict(overrides or {})
    config = settings_for(program, str(data_root), values)
    if category is not None:
        config = config.model_copy(update={"category": category})
    if resume:
        run = open_run_dir(out)
        saved = run.read_config(TrainConfig)
        if saved.rules_sha256 != config.rules_sha256:
            raise RunMismatchError(f"{out}: the rules changed since this run started; --resume needs the same "
                                   "rules file (start a new run with another --out, or restore the rules)")
        config = saved
    else:
        run = create_run_dir(out, force=force)
    layout = HeadLayout.from_program(program)
    probe = build_detector(program, config)
    stride = probe.model.backbone.strides[0]
    say("loading data")
    data = load_train_data(program, config, layout, (config.image_size // stride, config.image_size // stride))
    config = config.model_copy(update={"slots": slots_for(data.max_instances)}) if not resume else config
    run.write_config(config)
    run.write_rules(source)
    say("training")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    detector = train_detector(program, config, data, run, resume=resume, on_step=on_step)
    say("calibrating on validation normals")
    calibration = calibrate(detector, data, config)
    run.save_weights(detector)
    run.write_calibration(calibration)
    return TrainedRun(run, program, config, detector, calibration)


def calibrate(detector: Detector, data: TrainData, config: TrainConfig) -> Calibration:
    """Memory bank from training normals; score statistics and threshold from validation normals."""
    from dire_dsl.eval.threshold import calibrate_threshold

    detector.set_memory(build_memory(detector, data.normals, SCORE_BATCH, config.seed))
    pruned = [tuple(p) for p in detector.rules.pruned(config.prune_threshold)] if config.use_rules else []
    validation = data.validation if data.validation.shape[0] else data.normals
    distance, violation, patch = [], [], []
    for start in range(0, validation.shape[0], SCORE_BATCH):
        scores = score_batch(detector, validation[start:start + SCORE_BATCH].float() / 255)
        distance.append(scores.distance)
        violation.append(scores.violation)
        patch.append(scores.patch.amax(dim=(1, 2)))
    distance_t, violation_t, patch_t = torch.cat(distance), torch.cat(violation), torch.cat(patch)
    calibration = Calibration(
        distance_mean=float(distance_t.mean()), distance_std=_std(distance_t),
        violation_mean=float(violation_t.mean()), violation_std=_std(violation_t),
        patch_mean=float(patch_t.mean()), patch_std=_std(patch_t),
        fusion=config.fusion if config.use_rules else 0.0, threshold=0.0, n_validation=int(validation.shape[0]),
        pruned=pruned,
    )
    fused = torch.maximum(calibration.fused(distance_t, violation_t), calibration.patch_z(patch_t))
    return calibration.model_copy(update={"threshold": calibrate_threshold(fused.numpy())})


def load_run(path: str | Path, device: str = "cpu") -> TrainedRun:
    """Open a finished run: its own copy of the rules, configuration, weights and calibration."""
    run = open_run_dir(path)
    config = run.read_config(TrainConfig)
    result = check_source(run.read_rules(), str(Path(path) / "rules.rules"))
    if not result.ok or result.program is None:
        raise RulesCheckError(result.errors, result.source)
    detector = build_detector(result.program, config)
    detector.load_weights(run.load_weights())
    detector.to(device).eval()
    return TrainedRun(run, result.program, config, detector, run.read_calibration(Calibration))
