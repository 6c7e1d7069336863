"""The import contracts of pyproject.toml hold, and breaking one fails `lint-imports`.

The contracts keep the packages a pipeline (each imports only the layers below it), the CLI
out of the library, the command modules from importing the app that registers them, torch
out of the rule language and the workflows out of everything but the CLI. They run here so
that CI fails on the commit that breaks one; the second test breaks each contract on a copy
of the package to show that it would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `dire_dsl` package found in `folder`, with that folder's pyproject.toml."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(folder / "pyproject.toml")],
                          cwd=folder, capture_output=True, text=True, timeout=120,
                          env={"PATH": "", "PYTHONPATH": str(folder), "COLUMNS": "1000"})  # one contract a line


def test_the_package_keeps_its_import_contracts() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "statement", "contract", "edge"), [
    pytest.param("eval/evaluate.py", "from dire_dsl.train.loop import train_detector",
                 "The packages are the pipeline", "dire_dsl.eval.evaluate -> dire_dsl.train.loop", id="layers"),
    pytest.param("lang/program.py", "import dire_dsl.cli",
                 "The library never imports the CLI", "dire_dsl.lang.program -> dire_dsl.cli", id="library-cli"),
    pytest.param("lang/program.py", "import torch",
                 "The rule language imports no torch", "dire_dsl.lang.program -> torch", id="lang-torch"),
    pytest.param("eval/evaluate.py", "import dire_dsl.workflows",
                 "Only the CLI imports the workflows", "dire_dsl.eval.evaluate -> dire_dsl.workflows",
                 id="workflows"),
    pytest.param("cli/check_cmd.py", "from dire_dsl.cli.app import app",
                 "Commands register one way", "dire_dsl.cli.check_cmd -> dire_dsl.cli.app", id="cli-registration"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, statement: str, contract: str,
                                                edge: str) -> None:
    shutil.copytree(ROOT / "dire_dsl", tmp_path / "dire_dsl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    source = tmp_path / "dire_dsl" / module
    source.write_text(source.read_text() + f"\n{statement}\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert any(line.startswith(contract) and line.endswith(" BROKEN") for line in result.stdout.splitlines()), \
        result.stdout
    assert edge in result.stdout
