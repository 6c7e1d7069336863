"""One model, many requests: score images and explain them exactly as `dire explain` does.

The per-image flow is `dire_dsl.explain.explain.explain`'s: the score is the full-resolution
anomaly map's maximum, the verdict is taken at the run's calibrated threshold, and every rule
comes with its truth, deviation, evidence and the instances or cells behind it. Scoring runs
under one lock: a worker scores one request at a time with all its cores (torch and ONNX
Runtime both use every core for one batch), so memory stays that of one batch; more
throughput comes from more workers.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Sequence

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from dire_dsl.explain.explain import Explanation, explain_scored, marks_for, overlay_figure
from dire_dsl.explain.overlay import png_bytes
from dire_dsl.logic.evidence import Mark
from dire_dsl.run.inference import Scorer, ScoringModel
from dire_dsl.serve.errors import RequestError

log = logging.getLogger("dire_dsl.serve")

MAP_LEVELS = 65535
"""The anomaly map is a 16-bit grayscale PNG: value = low + pixel / 65535 * (high - low)."""


class AnomalyMap(BaseModel):
    """The anomaly map at the image's resolution, as a 16-bit PNG and the range its levels span."""

    png: str = Field(description="base64 of a 16-bit grayscale PNG")
    low: float = Field(description="the value of level 0")
    high: float = Field(description="the value of level 65535")


class Inspection(Explanation):
    """An image's verdict, score and threshold, each rule (truth, deviation `z` in normal spreads,
    violated, `false_at`: the instances or cells behind it, evidence lines), the structural finding."""

    overlay: str | None = Field(None, description="?overlay=true: the marks and the anomaly map side by side, "
                                                  "base64 of a PNG")
    anomaly_map: AnomalyMap | None = Field(None, description="?map=true: the anomaly map")


def map_png(anomaly_map: np.ndarray) -> AnomalyMap:
    """The map as 16-bit levels between its minimum and maximum (a flat map: all level 0)."""
    low, high = float(anomaly_map.min()), float(anomaly_map.max())
    span = high - low if high > low else 1.0
    levels = np.rint((anomaly_map - low) / span * MAP_LEVELS).astype(np.uint16)
    return AnomalyMap(png=base64.b64encode(png_bytes(Image.fromarray(levels))).decode("ascii"), low=low, high=high)


class Inspector:
    """The loaded model and its scorer; `inspect` is safe to call from many threads at once."""

    def __init__(self, model: ScoringModel) -> None:
        self.model = model
        self.scorer = Scorer(model)
        self.lines = model.rules_text().splitlines()
        self._lock = threading.Lock()

    def inspect(self, images: Sequence[tuple[str, np.ndarray]], anomaly_map: bool = False,
                overlay: bool = False) -> list[Inspection]:
        """Each (name, RGB pixels) explained, in order; RequestError 500 when scoring fails."""
        pixels = [image for _, image in images]
        try:
            with self._lock:
                scores = self.scorer.score(pixels)
                maps = self.scorer.maps(scores, [image.shape[:2] for image in pixels])
                found: list[tuple[Explanation, list[Mark]]] = []
                for index, ((name, _), values) in enumerate(zip(images, maps)):
                    marks = marks_for(self.model, scores, index)
                    found.append((explain_scored(self.model, scores, index, name, float(values.max()), self.lines,
                                                 marks=marks), marks))
            return [self._inspection(explanation, image, values, marks, anomaly_map, overlay)
                    for (explanation, marks), image, values in zip(found, pixels, maps)]
        except Exception as error:  # a bug or a damaged model: this request fails, the service goes on
            log.exception("scoring failed")
            raise RequestError(500, f"scoring failed: {type(error).__name__}: {error}") from None

    def _inspection(self, explanation: Explanation, pixels: np.ndarray, values: np.ndarray, marks: list[Mark],
                    anomaly_map: bool, overlay: bool) -> Inspection:
        out = Inspection(**explanation.model_dump(exclude={"overlay"}))
        if anomaly_map:
            out.anomaly_map = map_png(values)
        if overlay:
            figure = overlay_figure(pixels, values, marks, explanation.threshold)
            out.overlay = base64.b64encode(png_bytes(figure)).decode("ascii")
        return out
