"""`dire export`: one ONNX graph that scores as the run does, with its metadata, or nothing at all.

The tiny run's export (`tiny_export`, written by the CLI) is checked against the run on images
the parity check never saw, at batch sizes other than the traced one. Runs with every
built-in predicate and with the other backbones (random tiny towers) export with parity too;
a plugin with no ONNX form is refused by the rule's name and leaves no file behind.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from dire_dsl import __version__
from dire_dsl.deploy.export import PARITY_TOLERANCE, ExportError, check_parity, export_run, parity_images
from dire_dsl.run.exported import SUMMARY_OUTPUTS, load_exported
from dire_dsl.run.inference import Scorer, model_input, read_rgb
from dire_dsl.run.trained import load_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _test_images(root: Path, category: str, limit: int = 6) -> list[np.ndarray]:
    folders = sorted((root / category / "test").iterdir())
    files = [path for folder in folders for path in sorted(folder.glob("*.png"))[:2]]
    return [read_rgb(path) for path in files[:limit]]


def assert_parity(run: Path, model: Path, images: list[np.ndarray]) -> None:
    """The graph's image scores and rule truths match the run's within the export's tolerance."""
    trained, exported = load_run(run), load_exported(model)
    batch = torch.stack([model_input(pixels, trained.config.input_hw()) for pixels in images])
    for size in (1, len(images)):  # the batch axis is dynamic
        scores = trained.score_batch(batch[:size])
        got = exported.run_graph(batch[:size])
        assert np.abs(got["image_score"] - trained.calibration.image_score(scores).numpy()).max() <= PARITY_TOLERANCE
        assert np.abs(got["rule_truth"] - scores.logic.truth.numpy()).max() <= PARITY_TOLERANCE
        assert np.abs(got["rule_z"] - trained.calibration.rule_z(scores.rule_violation).numpy()).max() <= 1e-3
        assert np.allclose(got["anomaly_map"].max(axis=(1, 2)), got["image_score"], atol=1e-5)


def test_the_export_carries_what_a_deployment_needs(tiny_run: Path, tiny_export: Path) -> None:
    import onnx

    model = onnx.load(str(tiny_export))
    assert model.producer_name == "dire-dsl"
    assert [i.name for i in model.graph.input] == ["image"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named (dynamic) batch axis
    assert [o.name for o in model.graph.output][:len(SUMMARY_OUTPUTS)] == list(SUMMARY_OUTPUTS)
    trained, meta = load_run(tiny_run), load_exported(tiny_export).metadata
    text = (tiny_run / "rules.rules").read_text(encoding="utf-8")
    assert meta.rules_text == text and meta.rules_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert meta.rule_names == list(trained.detector.rules.rule_names)
    assert (meta.input.height, meta.input.width) == trained.config.input_hw()
    assert meta.input.mean == pytest.approx([0.485, 0.456, 0.406])
    assert meta.threshold == trained.calibration.threshold
    assert meta.toolkit_version == __version__
    assert meta.quantization == "none"
    assert meta.parity["images"] == 8 and meta.parity["image_score"] <= PARITY_TOLERANCE


def test_the_graph_scores_unseen_images_as_the_run_does(tiny_run: Path, tiny_export: Path, tiny_loco: Path) -> None:
    assert_parity(tiny_run, tiny_export, _test_images(tiny_loco, "pushpins"))


def test_explanations_read_the_same_from_the_graph(tiny_run: Path, tiny_export: Path, tiny_loco: Path) -> None:
    from dire_dsl.explain.explain import explain, render_text

    images = [path for folder in ("good", "logical_anomalies", "structural_anomalies")
              for path in sorted((tiny_loco / "pushpins" / "test" / folder).glob("*.png"))[:1]]
    from_run, from_graph = explain(tiny_run, images), explain(tiny_export, images)
    assert render_text(from_run) == render_text(from_graph)
    assert Scorer(load_exported(tiny_export)).clock.logic_seconds == 0.0


def test_every_builtin_predicate_exports(tmp_path: Path) -> None:
    """Every built-in predicate, a patch memory of colour-balanced windows that weighs each
    patch's place, and the per-part memory (`patch_colour`, `patch_position`, `part_appearance`)."""
    from dire_dsl.lang.signatures import REGISTRY
    from dire_dsl.synth.generate import synthesize
    from dire_dsl.train.api import train

    rules = FIXTURES / "every_predicate.rules"
    text = rules.read_text(encoding="utf-8")
    builtins = [s.name for s in REGISTRY.signatures() if s.source == "dire_dsl"]
    assert [name for name in builtins if f"{name}(" not in text] == []
    root = synthesize("splicing_connectors", tmp_path / "data", seed=2, workers=1, check=False, size=96,
                      n_train=16, n_val=6, n_test=6).parent
    train(rules, root, tmp_path / "run", overrides={"epochs": 1, "image_size": 64, "shots": 2, "patch_position": 1.0,
                                                             "patch_colour": "balanced", "part_appearance": "on"})
    report = export_run(tmp_path / "run", tmp_path / "model.onnx")
    assert report.rule_truth_diff <= PARITY_TOLERANCE
    assert_parity(tmp_path / "run", tmp_path / "model.onnx", _test_images(root, "splicing_connectors"))


@pytest.mark.parametrize("backbone", ["open_clip", "timm:resnet18"])
def test_every_backbone_exports(backbone: str, tiny_loco: Path, tiny_rules: Path, tmp_path: Path,
                                tiny_clip_name: str) -> None:
    from dire_dsl.deploy.graph import merged
    from dire_dsl.train.api import train

    spec = f"open_clip:{tiny_clip_name}" if backbone == "open_clip" else backbone
    train(tiny_rules, tiny_loco, tmp_path / "run", overrides={"epochs": 1, "image_size": 64, "shots": 2,
                                                              "backbone": spec})
    export_run(tmp_path / "run", tmp_path / "model.onnx")
    assert_parity(tmp_path / "run", tmp_path / "model.onnx", _test_images(tiny_loco, "pushpins", limit=3))
    detector = load_run(tmp_path / "run").detector
    adapters = [m for m in merged(detector).modules() if hasattr(m, "lora_A")]
    assert adapters and all(m.merged for m in adapters)  # the graph holds merged weights
    assert not any(m.merged for m in detector.modules() if hasattr(m, "lora_A"))  # the run keeps its adapters


def test_a_plugin_with_no_onnx_form_is_refused_by_rule(tiny_loco: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from dire_dsl.lang.signatures import REGISTRY
    from dire_dsl.logic.registry import predicate
    from dire_dsl.train.api import train

    monkeypatch.setattr(REGISTRY, "_signatures", dict(REGISTRY._signatures))
    monkeypatch.setattr(REGISTRY, "_implementations", dict(REGISTRY._implementations))

    @predicate("numpy_fill", params=[("obj", "objects")], result="number", doc="A mean through numpy.")
    def numpy_fill(obj: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(obj.detach().cpu().numpy().mean(axis=(-2, -1)))

    rules = tmp_path / "pins.rules"
    rules.write_text("category pushpins\nobject pushpin \"a pin\"\n\nrule fifteen: count(pushpin) == 15\n\n"
                     "rule filled:\n    numpy_fill(pushpin) >= 0\n", encoding="utf-8")
    train(rules, tiny_loco, tmp_path / "run", overrides={"epochs": 1, "image_size": 64, "shots": 2})
    out = tmp_path / "out" / "model.onnx"
    out.parent.mkdir()
    with pytest.raises(ExportError, match=r"rule `filled` \(line 6 .*plugin predicate `numpy_fill` has no ONNX form"):
        export_run(tmp_path / "run", out)
    assert list(out.parent.iterdir()) == []  # nothing half-exported, no temporary file left


def test_a_graph_that_reads_a_rule_differently_is_refused(tiny_run: Path, tiny_export: Path) -> None:
    trained, exported = load_run(tiny_run), load_exported(tiny_export)
    images, _ = parity_images(trained, None)
    real = exported.run_graph

    def drifting(batch: torch.Tensor) -> dict[str, np.ndarray]:
        found = real(batch)
        found["rule_truth"][:, 2] += 1e-3
        return found

    exported.run_graph = drifting  # type: ignore[method-assign]
    rule = trained.program.rules[2].name
    with pytest.raises(ExportError, match=f"rule `{rule}` reads differently"):
        check_parity(trained, exported, images)


def test_parity_needs_good_images(tiny_run: Path, tmp_path: Path) -> None:
    trained = load_run(tiny_run)
    with pytest.raises(ExportError, match="no such folder of images"):
        parity_images(trained, tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="holds no images"):
        parity_images(trained, tmp_path / "empty")
    moved = trained.config.model_copy(update={"data_root": str(tmp_path / "gone")})
    trained.config = moved
    with pytest.raises(ExportError, match="validation images .* are not there; .*--images DIR"):
        parity_images(trained, None)


def test_one_parity_image_is_enough(tiny_run: Path, tiny_loco: Path, tmp_path: Path) -> None:
    import shutil

    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(next((tiny_loco / "pushpins" / "validation" / "good").glob("*.png")), one)
    report = export_run(tiny_run, tmp_path / "model.onnx", images=one)
    assert report.images == 1
    assert_parity(tiny_run, tmp_path / "model.onnx", _test_images(tiny_loco, "pushpins", limit=3))
    with pytest.raises(ExportError, match="unknown quantization `int4`"):
        export_run(tiny_run, tmp_path / "other.onnx", quantize="int4")
