"""Check where a command will write before it works, so a bad output path costs nothing.

An evaluation that runs for minutes and then fails on `--json somefile/m.json` wastes the
minutes; these checks run first and name the option, the path and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from dire_dsl.cli.exit_codes import ExitCode
from dire_dsl.cli.output import fail


def _blocker(path: Path) -> str | None:
    """Why nothing can be created at `path`: an ancestor that is a file, or not writable."""
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return None


def output_file_or_exit(path: Path | None, option: str) -> None:
    """`path` can be (re)written as a file: not a folder, its folder creatable and writable."""
    if path is None:
        return
    problem = f"{path} is a folder" if path.is_dir() else _blocker(path)
    if problem:
        fail(f"{option} {path}: {problem}; give a file path in a writable folder")
        raise typer.Exit(ExitCode.USER_ERROR)


def _reads_as_data(path: Path, data_root: Path) -> bool:
    """True if files written under `path` can land where the loader reads data: the data root
    itself (maps go to <path>/<category>/test/...) or inside one of its category folders."""
    path, root = path.resolve(), data_root.resolve()
    if path == root:
        return True
    if not path.is_relative_to(root):
        return False
    category = root / path.relative_to(root).parts[0]
    return (category / "test").is_dir() or (category / "train").is_dir()


def output_dir_or_exit(path: Path | None, option: str, data_root: Path | None = None) -> None:
    """`path` can hold written files: not a file, creatable, and (given the data root) not
    where the written files would be read back as data."""
    if path is None:
        return
    problem = f"{path} is a file" if path.exists() and not path.is_dir() else _blocker(path)
    if problem is None and data_root is not None and _reads_as_data(path, data_root):
        problem = f"files written there would be read as data of {data_root}"
    if problem:
        fail(f"{option} {path}: {problem}; give another folder")
        raise typer.Exit(ExitCode.USER_ERROR)
