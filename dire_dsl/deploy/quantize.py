"""`dire export --quantize int8`: the network's convolutions in int8, the rules and distances in float.

ONNX Runtime's static quantization (QDQ, weights per channel) calibrated on the parity
images, which are good images of the product (the run's validation normals by default).
Only the network's own layers are quantized (nodes traced from a convolution or a linear
layer: a CNN's convolutions, a ViT tower's projections), while the nearest-neighbour search
and the fuzzy logic stay in float: they read small differences between numbers that int8
would erase. What it costs is measured, never assumed: the largest change of an image score and
of a rule truth on the parity images, and the image AUROC of the float and the int8 graph
on the run's test images when they are at hand.
"""

from __future__ import annotations

import ast
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel
from torch import Tensor

from dire_dsl.data.image_io import read_rgb
from dire_dsl.data.loco import IMAGE_SUFFIXES
from dire_dsl.deploy.quiet import quiet
from dire_dsl.run.exported import load_exported
from dire_dsl.run.inference import model_input
from dire_dsl.run.trained import TrainedRun

MAX_TEST_IMAGES = 200
"""Test images the AUROC cost is measured on (evenly spaced over the sorted list when there are more)."""


class QuantizationReport(BaseModel):
    """What int8 changed, measured on the parity images and, when present, the test split."""

    image_score_change: float  # largest |int8 − float| image score on the parity images
    rule_truth_change: float
    auroc_float: float | None = None
    auroc_int8: float | None = None
    test_images: int = 0
    bytes_float: int
    bytes_int8: int


class _Normals:
    """onnxruntime's CalibrationDataReader over the parity images, a few at a time."""

    def __init__(self, images: Tensor, chunk: int = 8) -> None:
        self._batches = iter([{"image": images[i:i + chunk].numpy()} for i in range(0, len(images), chunk)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)

    def rewind(self) -> None:  # part of the reader protocol; one pass is all calibration takes
        return None


def quantize_int8(trained: TrainedRun, path: Path, images: Tensor, say: Callable[[str], None]) -> QuantizationReport:
    """Replace the float graph at `path` by its int8 form (metadata kept) and report the cost."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    handle, target = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".int8.tmp", dir=path.parent)
    os.close(handle)
    try:
        with quiet():
            quantize_static(str(path), target, _Normals(images), quant_format=QuantFormat.QDQ,
                            nodes_to_quantize=network_layers(path), per_channel=True, weight_type=QuantType.QInt8,
                            activation_type=QuantType.QUInt8, calibrate_method=CalibrationMethod.MinMax)
        float_run, int8_run = load_exported(path), load_exported(target)
        report = _measure(trained, float_run, int8_run, images, path.stat().st_size, Path(target).stat().st_size)
        os.replace(target, path)
    finally:
        if os.path.exists(target):
            os.unlink(target)
    auroc = (f"test AUROC {report.auroc_float:.4f} (float) → {report.auroc_int8:.4f} (int8) on {report.test_images} "
             "images" if report.auroc_float is not None else "no test images to measure the AUROC on")
    say(f"int8: image score changed by up to {report.image_score_change:.3g}, rule truth by up to "
        f"{report.rule_truth_change:.3g} on the parity images; {auroc}")
    return report


NETWORK_SCOPES = ("conv", "linear")
"""Leaf name scopes (torch's exporter records them per node) of the layers that are quantized."""


def network_layers(path: Path) -> list[str]:
    """Names of the graph's Conv/MatMul/Gemm nodes traced from a convolution or linear layer."""
    import onnx

    names = []
    for node in onnx.load(str(path)).graph.node:
        scopes = next((prop.value for prop in node.metadata_props if prop.key == "pkg.torch.onnx.name_scopes"), "[]")
        leaf = (ast.literal_eval(scopes) or [""])[-1]
        if node.op_type in ("Conv", "MatMul", "Gemm") and leaf.startswith(NETWORK_SCOPES):
            names.append(node.name)
    return names


def _outputs(run: Any, images: Tensor, chunk: int = 16) -> tuple[np.ndarray, np.ndarray]:
    scores, truths = [], []
    for start in range(0, len(images), chunk):
        found = run.run_graph(images[start:start + chunk])
        scores.append(found["image_score"])
        truths.append(found["rule_truth"])
    return np.concatenate(scores), np.concatenate(truths)


def _measure(trained: TrainedRun, float_run: Any, int8_run: Any, images: Tensor, bytes_float: int,
             bytes_int8: int) -> QuantizationReport:
    score_f, truth_f = _outputs(float_run, images)
    score_q, truth_q = _outputs(int8_run, images)
    report = QuantizationReport(image_score_change=float(np.abs(score_q - score_f).max()),
                                rule_truth_change=float(np.abs(truth_q - truth_f).max(initial=0.0)),
                                bytes_float=bytes_float, bytes_int8=bytes_int8)
    labelled = _test_images(trained)
    labels = np.array([label for _, label in labelled])
    if len(set(labels.tolist())) == 2:
        from sklearn.metrics import roc_auc_score

        size = trained.config.input_hw()
        batch = torch.stack([model_input(read_rgb(path), size) for path, _ in labelled])
        report.auroc_float = float(roc_auc_score(labels, _outputs(float_run, batch)[0]))
        report.auroc_int8 = float(roc_auc_score(labels, _outputs(int8_run, batch)[0]))
        report.test_images = len(labelled)
    return report


def _test_images(trained: TrainedRun) -> list[tuple[Path, int]]:
    """(image, 1 if anomalous) of the run's test split, at most MAX_TEST_IMAGES; empty when absent."""
    test = Path(trained.config.data_root) / trained.config.category / "test"
    if not test.is_dir():
        return []
    found = sorted((path, int(folder.name != "good")) for folder in test.iterdir() if folder.is_dir()
                   for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if len(found) > MAX_TEST_IMAGES:
        step = len(found) / MAX_TEST_IMAGES
        found = [found[int(i * step)] for i in range(MAX_TEST_IMAGES)]
    return found
