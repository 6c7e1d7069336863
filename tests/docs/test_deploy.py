"""docs/deploy.md works as written: from the tutorial's trained run to an exported graph, served over HTTP.

Every ```bash block runs, in order, in a fresh folder holding a copy of examples/pill_blister/
and nothing else. The block marked `<!-- test: background -->` (`dire serve`) is started in the
background; the blocks after it run once its /health answers, and it is stopped at the end. The
port the page uses (8000) is replaced by a free one. Skipped blocks say why, and their `dire`
commands are still parsed, so their options exist.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import typer

from tests.docs.blocks import Block, fenced_blocks
from tests.serve.helpers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "deploy.md"
EXAMPLE = ROOT / "examples" / "pill_blister"
BLOCKS = fenced_blocks(PAGE)
BACKGROUND = "background"
PORT = "8000"
START_SECONDS = 180

EXPECTED_OUTPUT = {
    "dire export out/run": ["wrote out/model.onnx", "parity on 20 image(s)"],
    "import onnxruntime": ["score ", "threshold ", "  one_per_pocket: truth ", "  dose_code: truth "],
    "8000/health": ['"backend":"onnx"', '"category":"pill_blister"', '"one_per_pocket"', '"sha256"'],
    "/inspect | python -m json.tool > out/inspect.json": ['"verdict"', '"rules"'],
    "--data-binary @out/synloco": ["normal ", "anomalous "],
    "/inspect/batch": ["['normal', 'anomalous']", "['normal', 'normal']", "['anomalous', 'anomalous']",
                       "['anomalous', 'normal']"],
    "%{http_code}": ["not an image", " 422"],
}
"""Text a block must print when its body holds the key: all of the texts, or for the verdicts (which depend
on the trained run) any one of them."""
ANY_OF = {"--data-binary @out/synloco", "/inspect/batch"}
EXPECTED_FILES = ["out/model.onnx", "out/inspect.json", "out/overlay.png"]


def _cli() -> typer.Typer:
    from dire_dsl.cli.app import app

    return app


def test_the_page_uses_only_commands_and_options_the_cli_has() -> None:
    group = typer.main.get_command(_cli())
    used = set()
    for block in BLOCKS:
        if block.lang != "bash":
            continue
        for command in block.commands():
            argv = shlex.split(command)
            argv = argv[argv.index("dire"):] if "dire" in argv else []  # also `VAR=... dire ...`
            if not argv:
                continue
            name = argv[1]
            assert name in group.commands, f"docs/deploy.md line {block.line} runs `dire {name}`, which the CLI lacks"
            group.commands[name].make_context(name, list(argv[2:]))  # raises on an unknown option
            if block.skip_reason is None:
                used.add(name)
    assert {"train", "export", "serve"} <= used, "docs/deploy.md must train, export and serve in blocks that run"


def test_skipped_blocks_say_why_and_one_block_serves() -> None:
    for block in BLOCKS:
        if block.skip_reason is not None:
            assert block.skip_reason, f"docs/deploy.md line {block.line}: `<!-- test: skip, REASON -->` needs a reason"
    background = [block for block in BLOCKS if block.marker == BACKGROUND]
    assert len(background) == 1 and background[0].body.startswith("dire serve ")


@contextmanager
def _background(body: str, cwd: Path, env: dict[str, str], port: str, log: Path) -> Iterator[None]:
    """The block running in its own process group until the with-block ends; entered once /health answers."""
    with log.open("w") as out:
        server = subprocess.Popen(["bash", "-c", f"exec {body}"], cwd=cwd, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_serving(server, f"http://127.0.0.1:{port}", log, START_SECONDS, f"`{body.strip()}`")
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _check_output(block: Block, output: str) -> None:
    for key, texts in EXPECTED_OUTPUT.items():
        if key in block.body:
            found = [text for text in texts if text in output]
            assert found if key in ANY_OF else found == texts, \
                f"docs/deploy.md line {block.line} did not print {texts}:\n{output[-3000:]}"


@pytest.mark.slow
def test_every_bash_block_runs_in_order(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "pill_blister")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "100", "NO_COLOR": "1"}
    port = str(free_port())
    runnable = [block for block in BLOCKS if block.lang == "bash" and block.skip_reason is None]
    served = next(i for i, block in enumerate(runnable) if block.marker == BACKGROUND)
    for block in runnable[:served]:
        _run(block, tmp_path, env, port)
    with _background(runnable[served].body.replace(PORT, port), tmp_path, env, port, tmp_path / "serve.log"):
        for block in runnable[served + 1:]:
            _run(block, tmp_path, env, port)
    missing = [path for path in EXPECTED_FILES if not (tmp_path / path).is_file()]
    assert not missing, f"the walkthrough did not write {missing}"


def _run(block: Block, cwd: Path, env: dict[str, str], port: str) -> None:
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", block.body.replace(PORT, port)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == block.expected_exit, (
        f"docs/deploy.md line {block.line} exited {result.returncode}, expected {block.expected_exit}:\n"
        f"{block.body}\n--- output ---\n{output[-3000:]}")
    _check_output(block, output)
