"""Run directories: refusal without --force, atomic writes, checkpoints behind a `latest` pointer."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
from pathlib import Path

import pytest
import torch
from pydantic import BaseModel

from dire_dsl import atomic
from dire_dsl.run import checkpoint
from dire_dsl.run.checkpoint import TrainState
from dire_dsl.run.folder import RunDir, RunDirError, create_run_dir, open_run_dir


class Config(BaseModel):
    backbone: str
    epochs: int


def _state(step: int, value: float = 0.0) -> TrainState:
    return TrainState(model={"w": torch.full((3,), value)}, epoch=0, step=step)


def _no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp-")]


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    return create_run_dir(tmp_path / "run")


def test_new_and_empty_folders_become_runs(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "new" / "nested", tmp_path / "empty"):
        assert open_run_dir(create_run_dir(path).path).path == path


def test_non_empty_folder_is_refused_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="already exists and is not empty.*--force"):
        create_run_dir(tmp_path)
    with pytest.raises(RunDirError, match="is not a dire run directory.*never empties other folders"):
        create_run_dir(tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="is not a directory"):
        create_run_dir(tmp_path / "file")


def test_force_replaces_the_run_and_keeps_other_files(run: RunDir) -> None:
    run.write_config(Config(backbone="conv-small", epochs=1))
    run.save_weights({"w": torch.ones(2)})
    run.save_checkpoint(_state(3))
    (run.path / "my-notes.md").write_text("keep me")
    with pytest.raises(RunDirError):
        create_run_dir(run.path)
    with pytest.warns(UserWarning, match="removed the earlier run.*other files there were kept: my-notes.md"):
        fresh = create_run_dir(run.path, force=True)
    assert sorted(p.name for p in fresh.path.iterdir()) == ["dire-run.json", "my-notes.md"]
    assert fresh.latest_checkpoint() is None


def test_open_refuses_folders_that_are_not_runs(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="dire-run.json is missing; restore it"):
        open_run_dir(tmp_path)
    with pytest.raises(RunDirError, match="no such run folder; train one"):
        open_run_dir(tmp_path / "nope")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(RunDirError, match="is a file, not a run folder"):
        open_run_dir(tmp_path / "a_file")


def test_config_round_trip_and_validation(run: RunDir) -> None:
    run.write_config(Config(backbone="open_clip:ViT-B-16@/w.safetensors", epochs=15))
    assert run.read_config(Config) == Config(backbone="open_clip:ViT-B-16@/w.safetensors", epochs=15)
    (run.path / "config.json").write_text('{"backbone": "conv-small", "epochs": "many"}')
    with pytest.raises(RunDirError, match=r"config.json is damaged \(epochs: input should be a valid integer.*\); "
                                          r"restore it from a copy of the run, or train the run again") as info:
        run.read_config(Config)
    assert "Config" not in str(info.value) and "pydantic" not in str(info.value)


def test_rules_are_stored_with_their_hash(run: RunDir) -> None:
    source = "category pushpins\nrule fifteen: count(pushpin) == 15\n"
    digest = run.write_rules(source)
    assert digest == hashlib.sha256(source.encode()).hexdigest() == run.rules_sha256()
    assert (run.path / "rules.sha256").read_text() == f"{digest}  rules.rules\n"
    assert run.read_rules() == source
    (run.path / "rules.rules").write_text(source + "rule extra: true\n")
    with pytest.raises(RunDirError, match="edited after training"):
        run.read_rules()


def test_calibration_round_trip(run: RunDir) -> None:
    class Calibration(BaseModel):
        threshold: float
        scale: float

    run.write_calibration({"threshold": 0.25, "per_rule": {"fifteen": 1.5}})
    assert run.read_calibration() == {"threshold": 0.25, "per_rule": {"fifteen": 1.5}}
    run.write_calibration(Calibration(threshold=0.5, scale=2.0))
    assert run.read_calibration(Calibration) == Calibration(threshold=0.5, scale=2.0)


def test_weights_round_trip_with_metadata(run: RunDir) -> None:
    model = torch.nn.Linear(3, 2)
    run.save_weights(model, metadata={"backbone": "conv-small"})
    loaded = run.load_weights()
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())
    assert run.weights_metadata()["backbone"] == "conv-small"


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_leaves_the_old_file_intact(run: RunDir, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    run.save_weights({"w": torch.zeros(4)})

    def crash(*args: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, failing, crash)
    with pytest.raises(OSError, match="disk gone"):
        run.save_weights({"w": torch.ones(4)})
    monkeypatch.undo()
    assert torch.equal(run.load_weights()["w"], torch.zeros(4))
    assert _no_temp_files(run.path)


def test_checkpoints_move_latest_and_keep_the_newest(run: RunDir) -> None:
    assert run.latest_checkpoint() is None
    for step in (10, 20, 30):
        saved = run.save_checkpoint(_state(step, float(step)), keep=2)
        assert run.latest_checkpoint() == saved
    names = sorted(p.name for p in (run.path / "checkpoints").iterdir())
    assert names == ["latest", "step-000000020", "step-000000030"]
    assert run.load_checkpoint().step == 30
    again = run.save_checkpoint(_state(30, 31.0), keep=2)  # same step again, e.g. after a resume
    assert again.name == "step-000000030-1" and torch.equal(run.load_checkpoint().model["w"], torch.full((3,), 31.0))


def test_crash_while_checkpointing_keeps_the_previous_one(run: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    run.save_checkpoint(_state(1, 1.0))
    real_write = checkpoint.atomic_write_text

    def crash_on_state_json(path: os.PathLike[str], text: str) -> None:
        raise KeyboardInterrupt("killed while writing state.json")

    monkeypatch.setattr(checkpoint, "atomic_write_text", crash_on_state_json)
    with pytest.raises(KeyboardInterrupt):
        run.save_checkpoint(_state(2, 2.0))
    monkeypatch.setattr(checkpoint, "atomic_write_text", real_write)
    reopened = open_run_dir(run.path)
    assert reopened.load_checkpoint().step == 1  # the half-written one is invisible
    reopened.save_checkpoint(_state(3, 3.0))
    assert _no_temp_files(run.path)  # and the next save clears its leftovers


def test_loading_a_run_never_unpickles(run: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    run.write_config(Config(backbone="conv-small", epochs=1))
    run.save_weights({"w": torch.ones(2)})
    run.save_checkpoint(_state(5))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickling")

    for owner, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(owner, name, refuse)
    reopened = open_run_dir(run.path)
    assert reopened.read_config(Config).epochs == 1
    assert torch.equal(reopened.load_weights()["w"], torch.ones(2))
    assert reopened.load_checkpoint().step == 5


def test_bad_latest_pointer_and_missing_files_are_reported(run: RunDir) -> None:
    with pytest.raises(RunDirError, match="no checkpoint to resume from"):
        run.load_checkpoint()
    with pytest.raises(RunDirError, match="model.safetensors is missing"):
        run.load_weights()
    (run.path / "checkpoints").mkdir()
    (run.path / "checkpoints" / "latest").write_text("../../etc\n")
    with pytest.raises(RunDirError, match="not a checkpoint here"):
        run.latest_checkpoint()


def _no_space(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_checkpointing_keeps_the_previous_one(run: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    run.save_checkpoint(_state(1, 1.0))
    monkeypatch.setattr(checkpoint, "atomic_write_bytes", _no_space)
    with pytest.raises(RunDirError, match=r"cannot write checkpoint .*step-000000002: No space left on device; the "
                                          r"previous checkpoint \(if any\) is kept: free some space, then continue "
                                          r"with `dire train \.\.\. --resume`"):
        run.save_checkpoint(_state(2, 2.0))
    monkeypatch.undo()
    assert run.load_checkpoint().step == 1 and torch.equal(run.load_checkpoint().model["w"], torch.full((3,), 1.0))
    assert sorted(p.name for p in (run.path / "checkpoints").iterdir()) == ["latest", "step-000000001"]


def _outside_checkpoints(tmp_path: Path) -> Path:
    outside = tmp_path / "precious"
    for step in (1, 2, 3):
        (outside / f"step-00000000{step}").mkdir(parents=True)
        (outside / f"step-00000000{step}" / "data.txt").write_text("keep")
    return outside


def test_a_linked_checkpoints_folder_is_never_written_or_pruned(run: RunDir, tmp_path: Path) -> None:
    outside = _outside_checkpoints(tmp_path)
    (run.path / "checkpoints").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RunDirError, match=r"checkpoints is a symbolic link; dire writes and deletes checkpoints only "
                                          r"inside the run folder"):
        run.save_checkpoint(_state(9), keep=1)
    with pytest.raises(RunDirError, match="is a symbolic link"):
        create_run_dir(run.path, force=True)
    assert sorted(p.name for p in outside.iterdir()) == ["step-000000001", "step-000000002", "step-000000003"]
    assert all((p / "data.txt").read_text() == "keep" for p in outside.iterdir())


def test_a_linked_checkpoint_is_never_deleted_through(run: RunDir, tmp_path: Path) -> None:
    outside = _outside_checkpoints(tmp_path)
    run.save_checkpoint(_state(5))
    (run.path / "checkpoints" / "step-000000001").symlink_to(outside / "step-000000001", target_is_directory=True)
    with pytest.raises(RunDirError, match=r"step-000000001 is a symbolic link"):
        run.save_checkpoint(_state(6), keep=1)
    with pytest.raises(RunDirError, match=r"step-000000001 is a symbolic link"):
        create_run_dir(run.path, force=True)
    assert (outside / "step-000000001" / "data.txt").read_text() == "keep"
    assert run.load_checkpoint().step == 5


@pytest.mark.parametrize(("name", "content", "words"), [
    ("config.json", b'{"backbone": "caf\xe9", "epochs": 1}', r"config\.json is damaged \(not UTF-8 text"),
    ("config.json", b"[" * 100_000, r"config\.json is damaged \(.*recursion limit"),
    ("rules.rules", b"category caf\xe9\n", r"rules\.rules is damaged \(not UTF-8 text"),
    ("rules.sha256", b"", r"rules\.sha256 is damaged \(it should read `<64 hex digits>  rules\.rules`\)"),
    ("calibration.json", b"[" * 100_000, r"calibration\.json is damaged \(nested too deeply"),
    ("pseudo_labels.json", b"[" * 100_000, r"pseudo_labels\.json is damaged \(nested too deeply"),
    ("pseudo_labels.json", b'{"a": "\xff"}', r"pseudo_labels\.json is damaged \(not UTF-8 text"),
    ("dire-run.json", b"[" * 100_000, r"dire-run\.json is damaged"),
])
def test_damaged_run_files_are_one_run_dir_error(run: RunDir, name: str, content: bytes, words: str) -> None:
    run.write_config(Config(backbone="conv-small", epochs=1))
    run.write_rules("category pushpins\n")
    run.write_calibration({"threshold": 0.5})
    run.write_pseudo_labels({"images": []})
    (run.path / name).write_bytes(content)
    with pytest.raises(RunDirError, match=rf"{words}.*; restore it from a copy of the run, or train the run again"):
        reopened = open_run_dir(run.path)
        reopened.read_config(Config)
        reopened.read_rules()
        reopened.read_calibration()
        reopened.read_pseudo_labels()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(run: RunDir, bad: float) -> None:
    run.save_weights({"w": torch.tensor([1.0, bad]), "steps": torch.tensor([3])})
    with pytest.raises(RunDirError, match=r"model\.safetensors holds NaN/inf values \(in w\); restore it"):
        run.load_weights()
