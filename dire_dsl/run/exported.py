"""An exported graph (`dire export`), opened for scoring with ONNX Runtime: `ExportedRun`.

The `.onnx` file is the whole detector: the graph (vision, rules, calibration, fusion) and,
as metadata, everything a deployment needs to read its outputs (`ExportMetadata`): the
rules' text and hash, the rule names in output order, the input size and normalisation,
the threshold, the toolkit version, and the calibration and layout that let `dire serve`
explain a result with the same code as `dire explain`.

Graph contract (NCHW float32 RGB in [0, 1], the image resized with bilinear filtering to
`input_height` × `input_width`; the backbone's normalisation is inside the graph):
    image_score      [B]        the anomaly score (compare with the threshold)
    rule_truth       [B, R]     each rule's truth value, in `rule_names` order
    rule_z           [B, R]     each rule's violation in normal spreads (gate-weighted)
    fused_score      [B]        the logic + embedding distance
    structural_score [B]        the structural half alone
    anomaly_map      [B, h, w]  at mask resolution (upsample to the image; the graph paints the
                                fused score on every part found; `dire serve` and `dire explain`
                                narrow it to the violated rules' parts)
    raw.N                       the raw scores `dire_dsl.run.packing` describes
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ValidationError
from torch import Tensor

from dire_dsl.lang import ir
from dire_dsl.lang.diagnostics import RulesCheckError
from dire_dsl.lang.program import check_source
from dire_dsl.run.config import TrainConfig
from dire_dsl.run.folder import RunDirError
from dire_dsl.run.packing import Layout, unpack_scores
from dire_dsl.run.scoring import BatchScores, Calibration

FORMAT = 1
"""Version of the graph contract and metadata; a file of another version is refused by name."""
SUMMARY_OUTPUTS = ("image_score", "rule_truth", "rule_z", "fused_score", "structural_score", "anomaly_map")
RAW_PREFIX = "raw."
METADATA_PREFIX = "dire."
"""Each `ExportMetadata` field is one ONNX metadata property `dire.<field>`, its value JSON."""
INSTALL_HINT = "install the deploy extra: pip install 'dire-dsl[deploy]'"


class InputSpec(BaseModel):
    """What the graph's `image` input expects."""

    height: int
    width: int
    layout: str = "NCHW float32 RGB in [0, 1]"
    resize: str = "bilinear (PIL), to height x width"
    mean: list[float]
    std: list[float]
    normalisation: str = "(x - mean) / std per channel, inside the graph"


class ExportMetadata(BaseModel):
    """Everything besides the graph: what it checks, how to feed it, how to read it."""

    format: int = FORMAT
    toolkit_version: str
    category: str
    rules_text: str
    rules_sha256: str
    rule_names: list[str]
    input: InputSpec
    threshold: float
    quantization: str = "none"
    parity: dict[str, float] = {}
    gates: list[float]
    calibration: dict[str, Any]
    config: dict[str, Any]
    layout: Layout

    def properties(self) -> dict[str, str]:
        """The ONNX metadata properties: `dire.<field>` → JSON."""
        return {METADATA_PREFIX + name: json.dumps(value) for name, value in self.model_dump().items()}

    @classmethod
    def from_properties(cls, properties: dict[str, str], where: Path) -> ExportMetadata:
        found = {key[len(METADATA_PREFIX):]: value for key, value in properties.items()
                 if key.startswith(METADATA_PREFIX)}
        if not found:
            raise RunDirError(f"{where} is an ONNX file but not one `dire export` wrote (no dire.* metadata); "
                              "export a run with `dire export RUN --out model.onnx`")
        try:
            values = {key: json.loads(value) for key, value in found.items()}
            if values.get("format") != FORMAT:
                raise RunDirError(f"{where} was exported in format {values.get('format')}; this dire-dsl reads "
                                  f"format {FORMAT}: export the run again")
            return cls.model_validate(values)
        except (ValueError, ValidationError) as error:
            raise RunDirError(f"{where}: its dire.* metadata is damaged ({str(error).splitlines()[0]}); "
                              "export the run again") from None


@dataclass
class ExportedRun:
    """An exported graph with its metadata, scored by ONNX Runtime on the CPU."""

    path: Path
    metadata: ExportMetadata
    program: ir.CheckedProgram
    config: TrainConfig
    calibration: Calibration
    session: Any  # onnxruntime.InferenceSession

    @property
    def location(self) -> Path:
        return self.path

    def run_graph(self, images: Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the graph by name, for float images [B, 3, h, w] in [0, 1]."""
        pixels = images.detach().cpu().numpy() if isinstance(images, Tensor) else images
        names = [output.name for output in self.session.get_outputs()]
        return dict(zip(names, self.session.run(None, {"image": pixels.astype(np.float32, copy=False)})))

    def score_batch(self, images: Tensor) -> BatchScores:
        """Raw scores as the run's `score_batch` gives them, rebuilt from the graph's outputs."""
        outputs = self.run_graph(images)
        raw = sorted((int(name[len(RAW_PREFIX):]), value) for name, value in outputs.items()
                     if name.startswith(RAW_PREFIX))
        return unpack_scores(self.metadata.layout, [torch.from_numpy(value) for _, value in raw])

    def gate_values(self) -> Tensor:
        return torch.tensor(self.metadata.gates)

    def rules_text(self) -> str:
        return self.metadata.rules_text


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for `path` (`threads`: intra-op threads, default all cores;
    idle threads sleep rather than spin)."""
    try:
        import onnxruntime
    except ImportError:
        raise RunDirError(f"{path}: ONNX Runtime is not installed; {INSTALL_HINT}") from None
    options = onnxruntime.SessionOptions()
    # Idle ONNX Runtime threads spin by default, taking the cores from the Python work between
    # two graph runs (decoding, explanations, HTTP): with them asleep, `dire serve` at 256 px
    # answered in p50 67 / p99 83-89 ms instead of 76 / 103-132 ms (benchmarks/serve_load.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph classes
        raise RunDirError(f"{path} is not a readable ONNX graph ({str(error).splitlines()[0]}); "
                          "export the run again") from None


def load_exported(path: str | Path, threads: int | None = None) -> ExportedRun:
    """Open a `.onnx` file `dire export` wrote: its metadata checked, its rules re-read."""
    path = Path(path)
    session = onnx_session(path, threads)
    metadata = ExportMetadata.from_properties(session.get_modelmeta().custom_metadata_map, path)
    result = check_source(metadata.rules_text, f"{path}:dire.rules_text")
    if not result.ok or result.program is None:
        raise RulesCheckError(result.errors, result.source)
    calibration = Calibration.model_validate(metadata.calibration)
    problems = calibration.problems(len(result.program.rules))
    if problems:
        raise RunDirError(f"{path}: its calibration is damaged: {'; '.join(problems)}; export the run again")
    return ExportedRun(path, metadata, result.program, TrainConfig.model_validate(metadata.config), calibration,
                       session)
