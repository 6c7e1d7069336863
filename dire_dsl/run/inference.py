"""Scoring images with a trained run: network input, timed scores, full-resolution maps.

One place turns pixels into what `evaluate`, `explain`, the report and the sweep need, so
they all score exactly the same way. The detector sees each image resized (PIL bilinear, as
the training data loader does) to the run's input size (`TrainConfig.input_hw`: the images'
aspect ratio, long side `image_size`); anomaly maps come back at the image's own resolution.
The `Scorer` keeps two clocks: all of inference (network, rules, nearest-neighbour search,
map upsampling) and the logic layer's share of it (measured by hooks around the compiled
rules' forward pass, so the scoring code itself is untouched).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from dire_dsl.data.image_io import read_rgb as read_rgb  # re-exported: report, explain, callers
from dire_dsl.run.evidence_map import evidence_masks
from dire_dsl.run.exported import ExportedRun, load_exported
from dire_dsl.run.folder import CALIBRATION, RESTORE, WEIGHTS, RunDirError
from dire_dsl.run.scoring import BatchScores
from dire_dsl.run.trained import TrainedRun, load_run

ScoringModel = TrainedRun | ExportedRun
"""What scores images: a run folder's detector (torch) or the graph `dire export` wrote (ONNX Runtime).
Both offer `program`, `config`, `calibration`, `location`, `score_batch`, `gate_values` and `rules_text`."""


def open_model(path: str | Path | ScoringModel, backend: str = "auto") -> ScoringModel:
    """A run folder (torch) or an exported `.onnx` file (ONNX Runtime), as `backend` asks: `auto`
    takes what `path` is, `torch` needs a run folder, `onnx` an exported file."""
    if isinstance(path, TrainedRun | ExportedRun):
        return path
    if backend not in BACKENDS:
        raise RunDirError(f"unknown backend `{backend}`; use one of: {', '.join(BACKENDS)}")
    exported = Path(path).is_file()
    if backend == "torch" and exported:
        raise RunDirError(f"{path} is an exported file; the torch backend needs the run folder `dire train` wrote")
    if backend == "onnx" and not exported:
        raise RunDirError(f"{path} is not an exported .onnx file; write one with `dire export {path} --out model.onnx`")
    return load_exported(path) if exported else open_run(path)


BACKENDS = ("auto", "onnx", "torch")


def open_run(run: str | Path | TrainedRun) -> TrainedRun:
    """A TrainedRun as given, or loaded from its folder (RunDirError when there is none)."""
    if isinstance(run, TrainedRun):
        return run
    if Path(run).is_file():
        raise RunDirError(f"{run} is a file, not a run folder; give the folder `dire train --out` wrote")
    if not Path(run).is_dir():
        raise RunDirError(f"{run}: no such run folder; train one with `dire train RULES --data ROOT --out {run}`")
    return load_run(run)


def model_input(pixels: np.ndarray, hw: tuple[int, int]) -> Tensor:
    """RGB uint8 [H, W, 3] → float [3, h, w] in [0, 1], resized like the training data."""
    height, width = hw
    image = Image.fromarray(pixels)
    if image.size != (width, height):
        image = image.resize((width, height), Image.BILINEAR)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def select(scores: BatchScores, index: int) -> BatchScores:
    """The scores of one image of a batch (all but the logic output; enough for
    `Calibration.anomaly_map` with that image's row of the evidence masks)."""
    return replace(scores, distance=scores.distance[index:index + 1], violation=scores.violation[index:index + 1],
                   rule_violation=scores.rule_violation[index:index + 1], patch=scores.patch[index:index + 1],
                   grounding=scores.grounding.rows(index, index + 1),
                   parts=None if scores.parts is None else {k: v[index:index + 1] for k, v in scores.parts.items()})


@dataclass
class Clock:
    images: int = 0
    inference_seconds: float = 0.0
    logic_seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.images / self.inference_seconds if self.inference_seconds > 0 else 0.0

    @property
    def logic_share(self) -> float:
        return self.logic_seconds / self.inference_seconds if self.inference_seconds > 0 else 0.0


class Scorer:
    """Scores batches of RGB images with a trained run or an exported graph and times every step
    (the logic layer's share only on a run: an exported graph runs as one piece)."""

    def __init__(self, trained: ScoringModel) -> None:
        self.trained = trained
        self.size = trained.config.input_hw()
        self.clock = Clock()

    @contextmanager
    def _logic_timer(self) -> Iterator[None]:
        if not isinstance(self.trained, TrainedRun):
            yield
            return
        rules = self.trained.detector.rules
        started: list[float] = []

        def before(*_: object) -> None:
            started.append(time.perf_counter())

        def after(*_: object) -> None:
            if started:
                self.clock.logic_seconds += time.perf_counter() - started.pop()

        handles = [rules.register_forward_pre_hook(before), rules.register_forward_hook(after)]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def score(self, images: list[np.ndarray]) -> BatchScores:
        """Raw scores of a batch of RGB uint8 images of any sizes."""
        batch = torch.stack([model_input(pixels, self.size) for pixels in images])
        start = time.perf_counter()
        with self._logic_timer():
            scores = self.trained.score_batch(batch)
        self.clock.inference_seconds += time.perf_counter() - start
        self.clock.images += len(images)
        return scores

    def evidence(self, scores: BatchScores) -> Tensor:
        """[B, h, w] where each image's fused score goes on its map (`run.evidence_map`); timed."""
        start = time.perf_counter()
        out = evidence_masks(self.trained.program, self.trained.calibration, scores)
        self.clock.inference_seconds += time.perf_counter() - start
        return out

    def maps(self, scores: BatchScores, sizes: list[tuple[int, int]], evidence: Tensor | None = None
             ) -> list[np.ndarray]:
        """Calibrated anomaly maps, one per image at its own (H, W), float32 (`evidence`: from
        `self.evidence(scores)`, worked out here when not given)."""
        evidence = self.evidence(scores) if evidence is None else evidence
        start = time.perf_counter()
        calibration = self.trained.calibration
        if len(set(sizes)) == 1:
            maps = calibration.anomaly_map(scores, sizes[0], evidence)
            out = [maps[i].cpu().numpy().astype(np.float32, copy=False) for i in range(len(sizes))]
        else:
            out = [calibration.anomaly_map(select(scores, i), size, evidence[i:i + 1])[0].cpu().numpy()
                   .astype(np.float32, copy=False) for i, size in enumerate(sizes)]
        self.clock.inference_seconds += time.perf_counter() - start
        for values in out:
            self._check_finite(values)
        return out

    def image_scores(self, scores: BatchScores) -> np.ndarray:
        """The calibration's image scores [B]: the larger of the fused score and the structural
        map's maximum (the maps' maximum, up to resampling)."""
        return self._check_finite(self.trained.calibration.image_score(scores).cpu().numpy().astype(np.float64))

    def _check_finite(self, values: np.ndarray) -> np.ndarray:
        """`values`, refused when any is NaN or infinite: `nan > threshold` is False, so such a
        score would otherwise read as a normal image."""
        if not np.isfinite(values).all():
            where = self.trained.location
            if isinstance(self.trained, ExportedRun):
                raise RunDirError(f"{where}: scoring gave NaN/inf values, so the file is damaged; export the run again")
            raise RunDirError(f"{where}: scoring gave NaN/inf values, so {where / WEIGHTS} or {where / CALIBRATION} is "
                              f"damaged; {RESTORE}")
        return values
