"""`torchrun --nproc_per_node 2` on the CPU (gloo) trains the same model as one process.

Tolerance: every loss term is a mean over rows, the two ranks take equal halves of the normals
and share the annotated and anomaly rows, the backbone uses GroupNorm (no batch statistics),
jitter is drawn per global row and the centre's batch mean is all-reduced, so both runs compute
the same function, and nothing is normalised per rank. What differs is float rounding: per-rank
means averaged instead of one mean, gradients summed by all-reduce, and convolution kernels for
another batch size and thread count (torchrun sets OMP_NUM_THREADS=1). Adam's division by √v
lets last-bit differences grow over the steps: measured ‖Δw‖/‖w‖ ≈ 7e-7 on this data (one
process with 1 thread instead of 2 differs as much), up to 7e-6 on other tiny sets. Real
mismatches are far larger: jitter drawn per local row gave 4e-2, one epoch more 7e-2, another
seed 1.1. Hence 1e-4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from tests.train.helpers import PINS_RULES, log_steps, run_calibration, run_child, run_weights

RELATIVE_TOLERANCE = 1e-4  # ‖w_ddp − w_single‖ / ‖w_single‖ over all floating-point tensors
CALIBRATION_TOLERANCE = 1e-3  # relative, each calibration number

RANK_SCRIPT = """
import hashlib, os, sys
import torch.distributed as dist
from dire_dsl.train.api import train

result = train(sys.argv[1], sys.argv[2], sys.argv[3])
assert not dist.is_initialized(), "train() must destroy the process group it created"
state = result.detector.state_dict()
digest = hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state))).hexdigest()
# a file per rank: the two ranks' prints can interleave on the shared stdout
with open(os.path.join(sys.argv[4], "digest-" + os.environ["RANK"]), "w") as f:
    f.write(digest)
"""


def _flat(tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([tensors[k].flatten().double() for k in sorted(tensors) if tensors[k].is_floating_point()])


def _numbers(value: object) -> list[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return []


def test_two_processes_train_the_single_process_model(tmp_path: Path, tiny_loco: Path, reference_run: Path) -> None:
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT, encoding="utf-8")
    out = tmp_path / "run"
    result = run_child([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(script), str(PINS_RULES), str(tiny_loco), str(out), str(tmp_path)], timeout=240)

    digests = {path.name.split("-")[1]: path.read_text() for path in tmp_path.glob("digest-*")}
    assert digests.keys() == {"0", "1"} and len(set(digests.values())) == 1, result.stdout  # one model on both ranks
    assert log_steps(out) == log_steps(reference_run)  # rank 0 alone writes the log

    ddp, single = _flat(run_weights(out)), _flat(run_weights(reference_run))
    assert float((ddp - single).norm() / single.norm()) <= RELATIVE_TOLERANCE
    got, want = run_calibration(out), run_calibration(reference_run)
    assert got.keys() == want.keys()
    for key in want:
        for a, b in zip(_numbers(got[key]), _numbers(want[key]), strict=True):
            assert abs(a - b) <= CALIBRATION_TOLERANCE * max(1.0, abs(b)), key
