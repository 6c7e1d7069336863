"""Opening an exported file: what is refused, and how each backend is chosen."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dire_dsl.run.exported import load_exported
from dire_dsl.run.folder import RunDirError
from dire_dsl.run.inference import open_model
from dire_dsl.run.trained import TrainedRun


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_text("not a graph")
    with pytest.raises(RunDirError, match=r"not a readable ONNX graph \(.*Protobuf parsing failed.*\); export"):
        load_exported(path)


def test_an_onnx_file_dire_did_not_write_is_refused(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, save

    path = tmp_path / "plain.onnx"
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3])
    score = helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["score"])], "plain", [image], [score])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    with pytest.raises(RunDirError, match="not one `dire export` wrote"):
        load_exported(path)


def _with_property(source: Path, key: str, value: str, target: Path) -> Path:
    """A copy of the exported file `source` at `target` with one metadata property replaced."""
    import onnx

    model = onnx.load(str(source))
    next(prop for prop in model.metadata_props if prop.key == key).value = value
    onnx.save(model, str(target))
    return target


def test_damaged_metadata_is_refused(tiny_export: Path, tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="metadata is damaged.*export the run again"):
        load_exported(_with_property(tiny_export, "dire.calibration", "{broken", tmp_path / "broken.onnx"))
    with pytest.raises(RunDirError, match="exported in format 99"):
        load_exported(_with_property(tiny_export, "dire.format", "99", tmp_path / "future.onnx"))


def test_backends_follow_what_the_path_is(tiny_run: Path, tiny_export: Path, tmp_path: Path) -> None:
    assert isinstance(open_model(tiny_run), TrainedRun)
    assert open_model(tiny_export).metadata.category == "pushpins"
    with pytest.raises(RunDirError, match="needs the run folder"):
        open_model(tiny_export, backend="torch")
    with pytest.raises(RunDirError, match="not an exported .onnx file; write one with `dire export"):
        open_model(tiny_run, backend="onnx")
    with pytest.raises(RunDirError, match="unknown backend `gpu`"):
        open_model(tiny_run, backend="gpu")
    shutil.copy(tiny_export, tmp_path / "copy.onnx")
    assert open_model(tmp_path / "copy.onnx", backend="onnx").location == tmp_path / "copy.onnx"
