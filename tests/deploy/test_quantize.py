"""`--quantize int8`: the network's convolutions in int8; what it costs is measured and reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from dire_dsl.deploy.export import parity_images
from dire_dsl.deploy.quantize import quantize_int8
from dire_dsl.run.exported import load_exported
from dire_dsl.run.trained import load_run


def test_int8_quantizes_the_convolutions_and_reports_its_cost(tiny_run: Path, tiny_export: Path,
                                                               tmp_path: Path) -> None:
    import onnx

    path = tmp_path / "model.onnx"
    shutil.copy(tiny_export, path)
    trained = load_run(tiny_run)
    images, _ = parity_images(trained, None)
    lines: list[str] = []
    report = quantize_int8(trained, path, images, lines.append)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert report.test_images == 16 and 0 <= report.auroc_int8 <= 1 and 0 <= report.auroc_float <= 1
    assert np.isfinite(report.image_score_change) and report.rule_truth_change <= 1
    assert lines and "test AUROC" in lines[0]
    exported = load_exported(path)  # still a complete export: metadata kept, scores finite
    assert exported.metadata.rule_names == list(trained.detector.rules.rule_names)
    assert np.isfinite(exported.run_graph(images[:2])["image_score"]).all()
