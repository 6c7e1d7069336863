"""docs/extending.md: its complete Python examples run, and the example plugin's measurement works."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.docs.blocks import fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin_symmetry"


def _run(code: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """In a fresh interpreter: plugins register predicates globally, and tests must not share them."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (pythonpath, ROOT) if p)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_complete_python_examples_run() -> None:
    examples = [b for b in fenced_blocks(ROOT / "docs" / "extending.md")
                if b.lang == "python" and "(abridged)" not in b.body]
    assert examples, "docs/extending.md shows a runnable grounding-model example"
    for block in examples:
        result = _run(block.body)
        assert result.returncode == 0, f"docs/extending.md line {block.line}:\n{result.stderr[-3000:]}"


def test_plugin_measurement_is_a_smooth_elongation() -> None:
    result = _run(textwrap.dedent("""
        import torch
        from dire_symmetry import elongation
        bar = torch.zeros(32, 32); bar[10:12, 4:28] = 1               # 24 x 2 pixels
        ys, xs = torch.meshgrid(torch.arange(32) + 0.5, torch.arange(32) + 0.5, indexing="ij")
        disc = ((ys - 16) ** 2 + (xs - 16) ** 2 < 64).float()
        masks = torch.stack([bar, bar.T, disc, torch.zeros(32, 32)]).requires_grad_(True)
        values = elongation(masks)
        values.sum().backward()
        print(*[round(v, 2) for v in values.tolist()], bool(torch.isfinite(masks.grad).all()))
        print(tuple(elongation(torch.rand(2, 3, 1, 8, 8)).shape))      # [B, K, 1] inside two quantifiers
    """), pythonpath=PLUGIN)
    assert result.returncode == 0, result.stderr
    values, shape = result.stdout.splitlines()
    bar, bar_t, disc, empty, finite = values.split()
    assert abs(float(bar) - 12) < 0.1 and bar == bar_t and abs(float(disc) - 1) < 0.05 and abs(float(empty) - 1) < 0.05
    assert finite == "True" and shape == "(2, 3, 1)"


def test_example_rules_use_both_and_check_with_the_plugin() -> None:
    result = _run("import sys, dire_symmetry\nfrom dire_dsl.cli.app import main\n"
                  "sys.argv = ['dire', 'check', 'examples/plugin_symmetry/symmetric.rules']\nmain()", pythonpath=PLUGIN)
    assert result.returncode == 0 and "0 error(s)" in result.stdout, result.stdout + result.stderr
    source = (PLUGIN / "symmetric.rules").read_text(encoding="utf-8")
    assert "symmetric(" in source and "elongation(" in source
