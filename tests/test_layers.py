"""The import contracts of pyproject.toml hold, and breaking one fails `lint-imports`.

The contracts keep the packages a pipeline (each imports only the layers below it), the CLI
out of the library, torch out of the rule language and the workflows out of everything but
the CLI. They run here so that CI fails on the commit that breaks one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `dire_dsl` package found in `folder`, with that folder's pyproject.toml."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(folder / "pyproject.toml")],
                          cwd=folder, capture_output=True, text=True, timeout=120,
                          env={"PATH": "", "PYTHONPATH": str(folder)})


def test_the_package_keeps_its_import_contracts() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_a_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "dire_dsl", tmp_path / "dire_dsl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    evaluate = tmp_path / "dire_dsl" / "eval" / "evaluate.py"
    evaluate.write_text(evaluate.read_text() + "\nfrom dire_dsl.train.loop import train_detector  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "dire_dsl.eval.evaluate -> dire_dsl.train.loop" in result.stdout
