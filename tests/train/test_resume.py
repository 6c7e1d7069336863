"""A run killed with SIGKILL mid-epoch and resumed ends bit-identical to an uninterrupted one;
two runs with the same seed are identical (CPU)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dire_dsl.cli.app import app
from dire_dsl.run.checkpoint import load_tensors, save_tensors
from dire_dsl.run.folder import open_run_dir
from dire_dsl.train.api import train
from tests.train.helpers import (
    PINS_RULES,
    assert_identical,
    log_records,
    log_steps,
    run_calibration,
    run_weights,
)

KILL_AT = 3
"""The child checkpoints every 2 steps and waits for SIGKILL after step 3 (3 steps an epoch):
the last checkpoint (step 2) is mid-epoch, and step 3 is lost."""

KILLED_RUN = f"""
import sys, time
from dire_dsl.train import loop
from dire_dsl.train.api import train

loop.CHECKPOINT_EVERY = 2

def on_step(record):
    print(record["step"], flush=True)
    if record["step"] == {KILL_AT}:
        time.sleep(600)

train(sys.argv[1], sys.argv[2], sys.argv[3], on_step=on_step)
"""


def _kill_mid_run(data: Path, out: Path, stderr: Path) -> None:
    """Train in a child process and SIGKILL it once step KILL_AT is done."""
    with stderr.open("w") as err:
        child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(PINS_RULES), str(data), str(out)],
                                 stdout=subprocess.PIPE, stderr=err, text=True)
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    steps: list[int] = []
    try:
        for line in child.stdout:
            steps.append(int(line))
            if steps[-1] == KILL_AT:
                child.send_signal(signal.SIGKILL)
                break
    finally:
        watchdog.cancel()
        child.kill()
        child.wait()
    assert steps == list(range(1, KILL_AT + 1)), stderr.read_text()


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path: Path, tiny_loco: Path,
                                                           reference_run: Path) -> None:
    epoch_of = {record["step"]: record["epoch"] for record in log_records(reference_run)}
    assert max(epoch_of) > KILL_AT and epoch_of[KILL_AT - 1] == epoch_of[KILL_AT]  # killed mid-run, mid-epoch
    out = tmp_path / "run"
    _kill_mid_run(tiny_loco, out, tmp_path / "child.err")
    assert open_run_dir(out).load_checkpoint().step == KILL_AT - 1
    assert not (out / "model.safetensors").exists()
    with (out / "log.jsonl").open("a", encoding="utf-8") as log:
        log.write('{"component": 1.2')  # as if the kill had cut a line short

    result = CliRunner().invoke(app, ["train", str(PINS_RULES), "--data", str(tiny_loco), "--out", str(out),
                                         "--resume"])
    assert result.exit_code == 0, result.output
    assert "last step of epoch" in result.output and "loss=" in result.output  # the bar is gone, its losses kept

    assert_identical(run_weights(out), run_weights(reference_run))
    assert run_calibration(out) == run_calibration(reference_run)
    assert log_steps(out) == log_steps(reference_run)  # each step logged once, after the resume too


def test_same_seed_same_weights(tmp_path: Path, tiny_loco: Path, reference_run: Path) -> None:
    again = train(PINS_RULES, tiny_loco, tmp_path / "again")
    assert_identical(run_weights(again.run.path), run_weights(reference_run))
    assert run_calibration(again.run.path) == run_calibration(reference_run)


def _state_json(update: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(checkpoint: Path) -> None:
        tree = json.loads((checkpoint / "state.json").read_text())
        update(tree)
        (checkpoint / "state.json").write_text(json.dumps(tree))  # inf is written as Infinity, read back as inf
    return damage


def _cut_first_conv(file: str, suffix: str) -> Callable[[Path], None]:
    def damage(checkpoint: Path) -> None:
        tensors = load_tensors(checkpoint / file)
        key = next(k for k, v in tensors.items() if v.dim() == 4 and k.endswith(suffix))
        tensors[key] = tensors[key][:1].clone()
        save_tensors(checkpoint / file, tensors)
    return damage


def _too_deep(checkpoint: Path) -> None:
    (checkpoint / "state.json").write_text('{"format": "dire-dsl/checkpoint-1", "rng": ' + "[" * 200_000)


@pytest.mark.parametrize(("damage", "words"), [  # one per check; tests/train/test_checkpoint.py has every kind
    (_cut_first_conv("state.safetensors", "exp_avg"), "state.safetensors: optimizer exp_avg of parameter #0"),
    (_state_json(lambda t: t.update(epoch=float("inf"))), "`epoch` is inf, not a whole number ≥ 0"),
    (_state_json(lambda t: t.update(step=10**30)), f"step {10**30}, beyond this run's 1 epoch(s)"),
    (_state_json(lambda t: t.update(epoch=3)), "it records epoch 3 and step 2, beyond this run's 1 epoch(s)"),
    (_too_deep, "nested too deeply"),
])
def test_a_damaged_checkpoint_is_one_error_naming_it(tmp_path: Path, tiny_run: Path, tiny_rules: Path,
                                                     tiny_loco: Path, damage: Callable[[Path], None],
                                                     words: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    checkpoint = open_run_dir(run).latest_checkpoint()
    damage(checkpoint)
    before = {name: (run / name).read_bytes() for name in ("model.safetensors", "log.jsonl", "calibration.json")}
    result = CliRunner().invoke(app, ["train", str(tiny_rules), "--data", str(tiny_loco), "--out", str(run),
                                         "--resume"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    message = " ".join(result.output.split())  # the console wraps long lines
    assert str(checkpoint) in message and words in message, message
    assert "restore" in message  # and what to do
    assert {name: (run / name).read_bytes() for name in before} == before
