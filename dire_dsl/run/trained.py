"""A trained run, opened: `TrainedRun` and `load_run()`, what evaluation, explanation and measuring score with.

Loading needs no training code: the run folder's rules, configuration, weights and calibration
rebuild the detector, each checked against the others before anything is scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from dire_dsl.lang import ir
from dire_dsl.lang.diagnostics import RulesCheckError
from dire_dsl.lang.program import check_source
from dire_dsl.run.checkpoint import summarize, tensor_problems
from dire_dsl.run.config import TrainConfig
from dire_dsl.run.detector import LATER_BUFFERS, MEMORIES, Detector, build_detector, expected_tensors
from dire_dsl.run.folder import CALIBRATION, RESTORE, RULES, RULES_HASH, WEIGHTS, RunDir, RunDirError, open_run_dir
from dire_dsl.run.scoring import BatchScores, Calibration, score_batch


@dataclass
class TrainedRun:
    """A run folder with its program, configuration, detector and calibration, ready to score."""

    run: RunDir
    program: ir.CheckedProgram
    config: TrainConfig
    detector: Detector
    calibration: Calibration
    pseudo_labels: dict[str, Any] | None = None  # unsupervised / prompts grounding: RUN/pseudo_labels.json

    @property
    def location(self) -> Path:
        """The run folder (named in errors about what it holds)."""
        return self.run.path

    def score_batch(self, images: Tensor) -> BatchScores:
        """Raw scores of float images [B, 3, h, w] in [0, 1] at the run's input size."""
        return score_batch(self.detector, images)

    def gate_values(self) -> Tensor:
        """[R] each rule's learnt gate, in rule order (pruned rules near 0)."""
        return self.detector.rules.gate_values().detach().cpu()

    def rules_text(self) -> str:
        """The run's own copy of the rules file."""
        return self.run.read_rules()


def load_run(path: str | Path, device: str = "cpu") -> TrainedRun:
    """Open a finished run: its own copy of the rules, configuration, weights and calibration."""
    run = open_run_dir(path)
    config = run.read_config(TrainConfig)
    result = check_source(run.read_rules(), str(Path(path) / "rules.rules"))
    if not result.ok or result.program is None:
        raise RulesCheckError(result.errors, result.source)
    detector = build_detector(result.program, config)
    weights = run.load_weights()
    problems = tensor_problems(expected_tensors(detector, weights), weights, optional=LATER_BUFFERS,
                               any_rows=MEMORIES)
    if problems and run.rules_sha256() != config.rules_sha256:
        raise RunDirError(f"{run.path / RULES} no longer matches the run's weights ({run.path / WEIGHTS}): the rules "
                          "were changed after training. Retrain with the new rules, or restore the run's original "
                          f"{RULES} and {RULES_HASH}")
    if problems:  # the rules are the ones trained with: the weights file itself is damaged
        raise RunDirError(f"{run.path / WEIGHTS} does not fit the network of the run's {RULES} and config.json: "
                          f"{summarize(problems)}; {RESTORE}")
    detector.load_weights(weights)
    calibration = run.read_calibration(Calibration)
    problems = calibration.problems(len(detector.rules.rule_names))
    if problems:
        raise RunDirError(f"{run.path / CALIBRATION} is damaged: {'; '.join(problems)}. Restore the file from the "
                          "training run, or retrain")
    detector.to(device).eval()
    return TrainedRun(run, result.program, config, detector, calibration, run.read_pseudo_labels())
