"""`dire export`: a trained run as one ONNX graph, checked against the run before it is written.

The run is traced with `torch.export` (dynamic batch size) and converted by torch's ONNX
exporter; its metadata (`dire_dsl.run.exported.ExportMetadata`) goes into the file. Before
the file appears at its path, ONNX Runtime scores the parity images (by default the run's
validation normals) and every image score and rule truth must match the PyTorch run within
`PARITY_TOLERANCE`. Anything that fails (a rule the exporter cannot trace, a mismatch) is an
`ExportError` naming the rule where one is to blame, and no file is written: the graph is
built in a temporary file and renamed into place only once it passed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import numpy as np
import torch
from pydantic import BaseModel
from torch import Tensor

from dire_dsl import __version__
from dire_dsl.atomic import GENERATOR
from dire_dsl.data.image_io import read_rgb
from dire_dsl.data.loco import IMAGE_SUFFIXES
from dire_dsl.deploy.graph import ExportGraph
from dire_dsl.deploy.onnx_ops import translations
from dire_dsl.deploy.quantize import QuantizationReport, quantize_int8
from dire_dsl.deploy.quiet import quiet
from dire_dsl.errors import DireError
from dire_dsl.logic.compiler import CompiledRules
from dire_dsl.logic.registry import PluginCall
from dire_dsl.run.exported import (
    INSTALL_HINT,
    RAW_PREFIX,
    SUMMARY_OUTPUTS,
    ExportedRun,
    ExportMetadata,
    InputSpec,
    load_exported,
)
from dire_dsl.run.inference import model_input, open_run
from dire_dsl.run.packing import Layout
from dire_dsl.run.trained import TrainedRun

PARITY_TOLERANCE = 1e-4
"""Largest difference allowed between ONNX Runtime and PyTorch on an image score or a rule truth."""
OPSET = 18
MAX_BATCH = 256
"""Largest batch the graph is traced for (the batch axis is dynamic up to this)."""


class ExportError(DireError):
    """The run cannot be exported as it is (an untraceable rule or backbone, a parity failure)."""


class ExportReport(BaseModel):
    """What `export_run` wrote and how closely the graph matched the run."""

    out: str
    images: int
    image_score_diff: float
    rule_truth_diff: float
    seconds: float
    bytes: int
    quantization: QuantizationReport | None = None


def parity_images(trained: TrainedRun, folder: Path | None) -> tuple[Tensor, str]:
    """Float images [N, 3, h, w] for the parity check, and where they came from: the files of
    `folder`, or the run's validation normals (`<data_root>/<category>/validation/good`)."""
    if folder is None:
        folder = Path(trained.config.data_root) / trained.config.category / "validation" / "good"
        missing = (f"the run's validation images ({folder}) are not there; give the images to check the graph "
                   "on with --images DIR (good images of the product)")
    else:
        missing = f"{folder}: no such folder of images; give a folder of good images of the product"
    if not folder.is_dir():
        raise ExportError(missing)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ExportError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); {missing.split('; ')[-1]}")
    size = trained.config.input_hw()
    return torch.stack([model_input(read_rgb(path), size) for path in files]), str(folder)


def export_run(run: str | Path | TrainedRun, out: str | Path, images: Path | None = None,
               quantize: str | None = None, say: Callable[[str], None] = lambda _: None) -> ExportReport:
    """Export `run` to `out` (an `.onnx` file), after the parity check on `images` (default: the
    run's validation normals). `quantize="int8"` writes the int8 graph (`deploy.quantize`)."""
    if quantize not in (None, "int8"):
        raise ExportError(f"unknown quantization `{quantize}`; the one there is: int8")
    _require_onnx()
    started = time.perf_counter()
    trained = open_run(run)
    batch, source = parity_images(trained, images)
    say(f"parity images: {len(batch)} from {source}")
    graph = ExportGraph(trained)
    example = batch[:2] if len(batch) > 1 else batch.repeat(2, 1, 1, 1)  # a batch of 1 would fix the batch axis
    raw, layout = graph.layout(example)
    out = Path(out)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    try:
        _trace_to_onnx(trained, graph, example, Path(temporary), raw)
        metadata = _metadata(trained, layout)
        _write_metadata(Path(temporary), metadata)
        exported = load_exported(temporary)
        score_diff, truth_diff = check_parity(trained, exported, batch)
        metadata.parity = {"images": float(len(batch)), "image_score": score_diff, "rule_truth": truth_diff}
        report = None
        if quantize is not None:
            say("quantizing the network to int8 (calibrated on the parity images)")
            report = quantize_int8(trained, Path(temporary), batch, say)
            metadata.quantization = "int8"
            metadata.parity |= {"int8_image_score_change": report.image_score_change,
                                "int8_rule_truth_change": report.rule_truth_change}
        _write_metadata(Path(temporary), metadata)
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return ExportReport(out=str(out), images=len(batch), image_score_diff=score_diff, rule_truth_diff=truth_diff,
                        seconds=time.perf_counter() - started, bytes=out.stat().st_size, quantization=report)


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ExportError(f"exporting needs {error.name}; {INSTALL_HINT}") from None


def _trace_to_onnx(trained: TrainedRun, graph: ExportGraph, example: Tensor, path: Path, raw: int) -> None:
    """Trace `graph` with a dynamic batch axis and write the ONNX graph (`raw`: its raw outputs) to `path`."""
    outputs = list(SUMMARY_OUTPUTS) + [f"{RAW_PREFIX}{i}" for i in range(raw)]
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with quiet():
        try:
            program = torch.export.export(graph, (example,), dynamic_shapes={"image": {0: batch}}, strict=False)
        except Exception as error:
            raise ExportError(_trace_failure(trained, error)) from None
        try:
            torch.onnx.export(program, (example,), str(path), input_names=["image"], output_names=outputs,
                              opset_version=OPSET, dynamo=True, optimize=True, verbose=False, external_data=False,
                              custom_translation_table=translations())
        except Exception as error:
            raise ExportError(f"the traced run could not be written as ONNX ({_first_line(error)}); the graph uses "
                              "an operation ONNX opset 18 lacks: report it with the run's backbone "
                              f"({trained.config.backbone})") from None


def _trace_failure(trained: TrainedRun, error: BaseException) -> str:
    """The refusal for a failed trace: the rule being evaluated when it failed (and the plugin
    predicate, if one was running), else the network."""
    frames = list(_frames(error))
    rule = next((frame.f_locals.get("name") for frame in reversed(frames)
                 if frame.f_code is CompiledRules.forward.__code__), None)
    plugin = next((frame.f_locals["self"].name for frame in reversed(frames)
                   if frame.f_code is PluginCall.__call__.__code__), None)
    reason = _first_line(error)
    if rule is None:
        return (f"the run's network (backbone {trained.config.backbone}) cannot be exported: {reason}; "
                "report it with the backbone's name")
    line = next(r for r in trained.program.rules if r.name == rule).span.line
    where = f"rule `{rule}` (line {line} of the run's rules)"
    if plugin is not None:
        return (f"{where} cannot be exported: its plugin predicate `{plugin}` has no ONNX form ({reason}). "
                "A predicate exports when it uses torch operations only (no numpy, .item() or Python branches "
                "on tensor values); rewrite it, or drop the rule and retrain. Nothing was written")
    return f"{where} cannot be exported ({reason}); nothing was written. Report it with the rule's text"


def _frames(error: BaseException) -> Iterator[FrameType]:
    """Every frame of `error`'s traceback and of the errors it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for link in reversed(chain):
        for frame, _ in traceback.walk_tb(link.__traceback__):
            yield frame


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def _metadata(trained: TrainedRun, layout: Layout) -> ExportMetadata:
    backbone = trained.detector.model.backbone
    height, width = trained.config.input_hw()
    text = trained.rules_text()
    return ExportMetadata(
        toolkit_version=__version__, category=trained.config.category, rules_text=text,
        rules_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        rule_names=list(trained.detector.rules.rule_names),
        input=InputSpec(height=height, width=width, mean=backbone.mean.flatten().tolist(),
                        std=backbone.std.flatten().tolist()),
        threshold=float(trained.calibration.threshold), gates=trained.gate_values().tolist(),
        calibration=trained.calibration.model_dump(), config=trained.config.dump(), layout=layout)


def _write_metadata(path: Path, metadata: ExportMetadata) -> None:
    """Replace the file's dire.* metadata properties (the graph itself untouched)."""
    import onnx

    model = onnx.load(str(path))
    kept = [prop for prop in model.metadata_props if not prop.key.startswith("dire.")]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in metadata.properties().items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.producer_version = GENERATOR, __version__
    onnx.save(model, str(path))


def check_parity(trained: TrainedRun, exported: ExportedRun, images: Tensor,
                 tolerance: float = PARITY_TOLERANCE, chunk: int = 16) -> tuple[float, float]:
    """Largest |ONNX − torch| on the image scores and on the rule truths of `images`; an
    ExportError naming the worst image score or rule when either exceeds `tolerance`."""
    score_diff, truth_diff = np.zeros(0), np.zeros((0, len(trained.program.rules)))
    for start in range(0, len(images), chunk):
        batch = images[start:start + chunk]
        scores = trained.score_batch(batch)
        want_score = trained.calibration.image_score(scores).cpu().numpy()
        want_truth = scores.logic.truth.cpu().numpy()
        got = exported.run_graph(batch)
        score_diff = np.concatenate([score_diff, np.abs(got["image_score"] - want_score)])
        truth_diff = np.concatenate([truth_diff, np.abs(got["rule_truth"] - want_truth)])
    worst_truth = truth_diff.max(axis=0) if truth_diff.size else np.zeros(0)
    if worst_truth.size and worst_truth.max() > tolerance:
        rule = trained.program.rules[int(worst_truth.argmax())].name
        raise ExportError(f"rule `{rule}` reads differently in the exported graph (by up to {worst_truth.max():.2g}, "
                          f"more than {tolerance:g}): its predicates have no faithful ONNX form; nothing was written")
    if score_diff.size and score_diff.max() > tolerance:
        raise ExportError(f"the exported graph's image score differs from the run's by up to {score_diff.max():.2g} "
                          f"(more than {tolerance:g}); nothing was written. Report it with the run's backbone "
                          f"({trained.config.backbone})")
    return float(score_diff.max(initial=0.0)), float(worst_truth.max(initial=0.0))
