"""docs/tutorial.md works as written: every ```bash block runs, in order, in a fresh folder.

The folder holds a copy of examples/pill_blister/ and nothing else, so the tutorial cannot
lean on files a reader would not have. A block runs unless a `<!-- test: skip, reason -->`
marker says why not; the `dire` commands of skipped blocks are still parsed, so their
options exist. If the tutorial uses a command the CLI does not have (yet), the test fails
and names it: nothing is skipped silently.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from tests.docs.blocks import Block, fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
EXAMPLE = ROOT / "examples" / "pill_blister"
BLOCKS = fenced_blocks(TUTORIAL)
STEPS = ("check", "synth", "train", "eval", "explain", "sweep")
"""The commands the tutorial must run (the issue's path from a new product to a tuned detector)."""

EXPECTED_OUTPUT = {
    "dire check examples/pill_blister/pill_blister.rules": ["0 error(s), 0 warning(s)"],
    "dire check out/typo.rules": ["error[E203]: unknown object `pil`", "did you mean `pill`?"],
    "dire compile": ["rule one_per_pocket", "quantifier: forall p in cells of pocket"],
    "dire synth": ["wrote out/synloco/pill_blister"],
    "dire measure": ["rule one_per_pocket (line 13): holds on 60 of 60 image(s)", "0 false on some good image"],
    "dire train": ["trained pill_blister", "threshold"],
    "dire eval": ["image AUROC logical", "rule violation rate", "one_per_pocket"],
    "dire explain": ["out/synloco/pill_blister/test/logical_anomalies/000.png: ",
                     "out/synloco/pill_blister/test/good/000.png: ", "one_per_pocket (truth"],
    "dire sweep": ["chosen: fusion="],
}
"""Key text a block must print when one of its commands starts with the key."""

EXPECTED_FILES = [
    "out/synloco/pill_blister/defects_config.json",
    "out/synloco/pill_blister/annotations/train.json",
    "out/run/model.safetensors",
    "out/metrics.json",
    "out/report.html",
    "out/overlays/logical_anomalies_000.png",
    "out/overlays/good_000.png",
    "out/sweep/sweep.md",
]


def _dire_commands(block: Block) -> list[list[str]]:
    return [shlex.split(command)[1:] for command in block.commands() if command.startswith("dire ")]


def _cli() -> typer.Typer:
    from dire_dsl.cli.app import app

    return app


def test_the_tutorial_uses_only_commands_and_options_the_cli_has() -> None:
    group = typer.main.get_command(_cli())
    used = set()
    for block in BLOCKS:
        if block.lang != "bash":
            continue
        for argv in _dire_commands(block):
            name = argv[0]
            assert name in group.commands, (  # type: ignore[attr-defined]
                f"docs/tutorial.md line {block.line} runs `dire {name}`, which the CLI does not have yet; "
                "it must land before the tutorial can pass")
            command = group.commands[name]  # type: ignore[attr-defined]
            command.make_context(name, list(argv[1:]))  # raises on an unknown option or a missing argument
            if block.skip_reason is None:
                used.add(name)
    missing = [step for step in STEPS if step not in used]
    assert not missing, f"the tutorial must run `dire {'`, `dire '.join(missing)}` in a block that is not skipped"


def test_skipped_blocks_say_why() -> None:
    for block in BLOCKS:
        if block.skip_reason is not None:
            assert block.skip_reason, \
                f"docs/tutorial.md line {block.line}: `<!-- test: skip, REASON -->` needs a reason"


def test_shown_files_are_the_example_files() -> None:
    titled = [block for block in BLOCKS if block.title]
    assert {block.title for block in titled} == {"examples/pill_blister/pill_blister.toml",
                                                 "examples/pill_blister/pill_blister.rules"}
    for block in titled:
        assert block.body == (ROOT / block.title).read_text(encoding="utf-8"), \
            f"docs/tutorial.md line {block.line} must show {block.title} exactly (copy the file into the page)"


@pytest.mark.slow
def test_every_bash_block_runs_in_order(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "pill_blister")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "100", "NO_COLOR": "1"}
    timings = []
    for block in BLOCKS:
        if block.lang != "bash" or block.skip_reason is not None:
            continue
        start = time.perf_counter()
        result = subprocess.run(["bash", "-eo", "pipefail", "-c", block.body], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        timings.append(f"line {block.line}: {time.perf_counter() - start:.0f} s")
        output = result.stdout + result.stderr
        assert result.returncode == block.expected_exit, (
            f"docs/tutorial.md line {block.line} exited {result.returncode}, expected {block.expected_exit}:\n"
            f"{block.body}\n--- output ---\n{output[-3000:]}")
        for prefix, texts in EXPECTED_OUTPUT.items():
            for command in (c for c in block.commands() if c.startswith(prefix)):
                for text in texts:
                    assert text in output, f"line {block.line}: `{command}` did not print {text!r}:\n{output[-3000:]}"
    missing = [path for path in EXPECTED_FILES if not (tmp_path / path).is_file()]
    assert not missing, f"the tutorial did not write {missing} ({', '.join(timings)})"
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["category"] == "pill_blister" and metrics["n_images"], metrics.keys()
    print("tutorial block timings:", ", ".join(timings))
