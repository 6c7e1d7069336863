"""`dire synth`: writes the data set, exit codes, spec errors with file and field, no traceback."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--size", "48", "--n-train", "2", "--n-val", "1", "--n-test", "6", "--workers", "1", "--quiet"]


def test_builtin_category(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["synth", "screw_bag", "--out", str(tmp_path), "--seed", "2", *SMALL])
    assert result.exit_code == 0, result.output
    root = tmp_path / "screw_bag"
    assert len(list((root / "train" / "good").glob("*.png"))) == 2
    assert len(list((root / "test").rglob("*.png"))) == 6
    assert json.loads((root / "synloco.json").read_text())["seed"] == 2
    assert "wrote" in result.output


def test_spec_file_of_a_new_product(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    spec = ROOT / "examples" / "pill_blister" / "pill_blister.toml"
    result = runner.invoke(cli_app, ["synth", str(spec), "--out", str(tmp_path), *SMALL])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pill_blister" / "defects_config.json").is_file()


def test_invalid_spec_exits_one_with_file_and_field(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('category = "gizmo"\n[[objects]]\nid = "knob"\nshape = "hexagon"\nsize = "big"\n')
    result = runner.invoke(cli_app, ["synth", str(bad), "--out", str(tmp_path / "out"), *SMALL])
    assert result.exit_code == 1
    assert str(bad) in result.output
    assert "objects[0](knob).size" in result.output and "objects[0](knob).shape" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_category_exits_one(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["synth", "teapots", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "teapots" in result.output and "pushpins" in result.output


def test_foreign_output_folder_exits_one(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pushpins").mkdir()
    (tmp_path / "pushpins" / "notes.txt").write_text("mine")
    result = runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), *SMALL])
    assert result.exit_code == 1
    assert "not written by `dire synth`" in result.output


def test_usage_errors_exit_two(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(cli_app, ["synth", "pushpins"]).exit_code == 2  # --out missing
    assert runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), "--size", "4"]).exit_code == 2


def test_recipe_that_changes_nothing_exits_one(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "ghost.toml"
    spec.write_text('category = "ghost"\n[[objects]]\nid = "speck"\nsize = 0.0005\n'
                    '[[anomalies]]\nname = "gone"\ntype = "logical"\nsteps = [{ op = "remove", object = "speck" }]\n')
    result = runner.invoke(cli_app, ["synth", str(spec), "--out", str(tmp_path / "out"), *SMALL])
    assert result.exit_code == 1, result.output
    assert "anomalies[0](gone)" in result.output and "no visible change" in result.output


def test_rerun_refuses_to_delete_files_it_did_not_write(cli_app: typer.Typer, runner: CliRunner,
                                                        tmp_path: Path) -> None:
    args = ["synth", "pushpins", "--out", str(tmp_path), "--size", "32", "--n-train", "2", "--n-val", "1",
            "--n-test", "3"]
    assert runner.invoke(cli_app, args).exit_code == 0
    mine = tmp_path / "pushpins" / "train" / "good" / "my_photo.png"
    mine.write_bytes(b"not generated")
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 1 and "did not write (train/good/my_photo.png)" in result.output
    assert mine.read_bytes() == b"not generated"
    mine.unlink()
    assert runner.invoke(cli_app, [*args, "--seed", "4"]).exit_code == 0  # its own files are replaced freely
    assert runner.invoke(cli_app, [*args, "--seed", "-1"]).exit_code == 2


def _fail_writes_after(monkeypatch: pytest.MonkeyPatch, code: int, good_writes: int) -> None:
    """Make the low-level write fail with `code` (ENOSPC, EROFS) once `good_writes` files are written."""
    real_fsync, done = os.fsync, []

    def fsync(fd: int) -> None:
        if len(done) >= good_writes:
            raise OSError(code, os.strerror(code))
        done.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_failed_write_is_one_error_and_leaves_no_partial_tree(cli_app: typer.Typer, runner: CliRunner,
                                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                code: int) -> None:
    _fail_writes_after(monkeypatch, code, good_writes=3)
    result = runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), *SMALL])
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1 and "Traceback" not in result.output
    assert os.strerror(code) in result.output and str(tmp_path) in result.output and ".png" in result.output
    assert list(tmp_path.iterdir()) == []  # neither a `pushpins` tree nor the staging folder


def test_a_failed_rerun_keeps_the_previous_data_set(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), *SMALL]).exit_code == 0
    (tmp_path / "pushpins" / "README.txt").write_text("beside the data", encoding="utf-8")
    before = {p: p.read_bytes() for p in (tmp_path / "pushpins").rglob("*") if p.is_file()}
    _fail_writes_after(monkeypatch, errno.ENOSPC, good_writes=2)
    assert runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), *SMALL, "--seed", "3"]).exit_code == 1
    assert {p: p.read_bytes() for p in (tmp_path / "pushpins").rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["pushpins"]
    monkeypatch.undo()
    assert runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), *SMALL, "--seed", "3"]).exit_code == 0
    assert (tmp_path / "pushpins" / "README.txt").read_text(encoding="utf-8") == "beside the data"
    assert {p.name for p in tmp_path.iterdir()} == {"pushpins"}


def test_out_that_is_a_file_exits_one(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me", encoding="utf-8")
    for out in (a_file, a_file / "sub"):
        result = runner.invoke(cli_app, ["synth", "pushpins", "--out", str(out), *SMALL])
        assert result.exit_code == 1 and result.output.count("error:") == 1, result.output
        assert "--out" in result.output and str(a_file) in result.output and "Traceback" not in result.output
    assert a_file.read_text(encoding="utf-8") == "keep me"
