"""Check where a command will write before it works, so a bad output path costs nothing and
no output lands on something the user keeps.

An evaluation that runs for minutes and then fails on `--json somefile/m.json` wastes the
minutes; worse, `--json run/model.safetensors` would replace the run's weights. Every output
of every command goes through `output_file_or_exit` (a file) or `output_dir_or_exit` (a folder
that will hold written files). A path is refused when:

- nothing can be written there (a file where a folder goes, a folder where a file goes, an
  ancestor that is not writable);
- it is not a regular file (a FIFO or a device: opening one to look for the marker could block
  forever, and replacing one is never meant);
- it is an input of the command (an image it reads, a category folder of the data set, a
  run's own files, the rules file), or it lies in any MVTec-LOCO-style category folder, where
  written files would be read as data: even `--force` does not allow that;
- two outputs of one command name the same file (`distinct_outputs_or_exit`);
- it is an existing file dire did not write, unless `--force`: every file dire writes for a
  user carries the `dire_dsl.atomic.GENERATOR` marker, so re-running a command over its own
  earlier output needs no `--force`, while a user's file is never replaced unasked.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import typer

from dire_dsl.atomic import GENERATOR, MARKDOWN_MARKER
from dire_dsl.cli.output import fail
from dire_dsl.errors import ExitCode

FORCE_HINT = "pass --force to replace it, or give another path"
"""What to do about an existing file dire did not write, for a command with `--force`."""

_HEAD_BYTES = 4096
"""The markers sit at the top of a file: recognising one reads this much, whatever the file's size."""
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_TEXT_MARKERS = (re.compile(rb'\A\s*\{\s*"generator"\s*:\s*"' + GENERATOR.encode() + rb'"'),
                 re.compile(rb'<meta name="generator" content="' + GENERATOR.encode() + rb'">'),
                 re.compile(rb"\A" + re.escape(MARKDOWN_MARKER.encode())))
_ONNX_MARKER = re.compile(rb"\A\x08[\x00-\xff]{1,10}?\x12" + bytes([len(GENERATOR)]) + re.escape(GENERATOR.encode()))
"""An ONNX model whose producer_name is dire's (field 2, right after the ir_version)."""
_SPLITS = ("train", "validation", "test")
_SPLIT_FOLDERS = ("good", "logical_anomalies", "structural_anomalies")


@dataclass(frozen=True)
class Inputs:
    """What a command reads; no output may land on it, `--force` or not."""

    files: tuple[Path, ...] = ()
    data_root: Path | None = None
    run: Path | None = None

    def clash(self, path: Path) -> str | None:
        """Which input writing `path` (a file, or a folder to write into) would destroy, in words."""
        for file in self.files:
            if _same(path, file):
                return f"it is an input of this command ({file})"
        if self.run is not None and _in_run(path, self.run):
            return f"it is part of the run {self.run}"
        if self.data_root is not None and _reads_as_data(path, self.data_root):
            return f"files written there would be read as data of {self.data_root}"
        return None


def _same(path: Path, other: Path) -> bool:
    """Same file, through links and case-insensitive file systems too."""
    try:
        return os.path.samefile(path, other)
    except OSError:
        return path.resolve() == other.resolve()


def _in_run(path: Path, run: Path) -> bool:
    """True for the run folder itself and its own files; a new file in it (metrics.json) is fine."""
    from dire_dsl.run.folder import (
        CALIBRATION,
        CHECKPOINTS,
        CONFIG,
        LOG,
        MANIFEST,
        PSEUDO_LABELS,
        RULES,
        RULES_HASH,
        WEIGHTS,
    )

    path, run = path.resolve(), run.resolve()
    if path == run:
        return True
    if not path.is_relative_to(run):
        return False
    own = {MANIFEST, CONFIG, RULES, RULES_HASH, CALIBRATION, PSEUDO_LABELS, WEIGHTS, LOG, CHECKPOINTS}
    return path.relative_to(run).parts[0] in own


def _reads_as_data(path: Path, data_root: Path) -> bool:
    """True if files written at or under `path` can land where the loader reads data: the data
    root itself (maps go to <path>/<category>/test/...) or inside one of its category folders."""
    path, root = path.resolve(), data_root.resolve()
    if path == root:
        return True
    if not path.is_relative_to(root):
        return False
    category = root / path.relative_to(root).parts[0]
    return (category / "test").is_dir() or (category / "train").is_dir()


def category_folder(path: Path) -> Path | None:
    """The MVTec-LOCO-style category folder that `path` is or lies in, or None: the nearest
    ancestor-or-self holding a `<split>/good` folder, or `path` itself being a split folder
    (`test/good`, `test/logical_anomalies`, ...) of such a tree. A loader reads files written
    there as images, whatever data root the command was given (explain is given none)."""
    path = path.resolve()
    if path.name in _SPLIT_FOLDERS and path.parent.name in _SPLITS and path.is_dir():
        return path.parent.parent
    return next((folder for folder in (path, *path.parents)
                 if any((folder / split / "good").is_dir() for split in _SPLITS)), None)


def _regular_or_absent(path: Path) -> bool:
    """True unless something other than a plain file (a FIFO, a device, a socket) is at `path`;
    checked with stat, since opening a FIFO blocks until a writer comes."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # absent, a dangling link, no permission: the write itself says what is wrong
        return True


def written_by_dire(path: Path) -> bool:
    """True if the file at `path` carries dire's generator marker: a PNG's "Software" text, a
    TIFF's Software tag, a JSON file's leading "generator" key, an HTML page's generator meta tag,
    a Markdown file's leading generator comment, an ONNX graph's producer name. Never opens what
    is not a regular file."""
    if not _regular_or_absent(path):
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
        if head.startswith(_PNG_MAGIC):
            from PIL import Image

            with Image.open(path) as image:
                return image.info.get("Software") == GENERATOR
        if head[:4] in _TIFF_MAGICS:
            import tifffile

            with tifffile.TiffFile(path) as tiff:
                tag = tiff.pages[0].tags.get("Software")
                return tag is not None and tag.value == GENERATOR
        return any(marker.search(head) for marker in (*_TEXT_MARKERS, _ONNX_MARKER))
    except Exception:  # unreadable or damaged: not recognisably ours, so not replaced unasked
        return False


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


def _data_problem(path: Path) -> str | None:
    """Why files must not be written at or under the folder `path`: it is in a category folder."""
    category = category_folder(path)
    return category and f"it is in the data category folder {category}, where files are read as data"


def file_problem(path: Path, inputs: Inputs = Inputs(), force: bool = False,
                 replace_hint: str = FORCE_HINT) -> str | None:
    """Why `path` must not be (re)written as a file, with what to do; None if it may."""
    if path.is_dir():
        return f"{path} is a folder; give a file path in a writable folder"
    if not _regular_or_absent(path):
        return f"{path} is not a regular file (a FIFO, a device or a socket); give a file path in a writable folder"
    blocker = _blocker(path)
    if blocker:
        return f"{blocker}; give a file path in a writable folder"
    clash = inputs.clash(path)
    if clash:
        return f"{clash}; write the output elsewhere"
    if path.exists() and not force and not written_by_dire(path):
        return f"{path} exists and was not written by dire; {replace_hint}"
    return None


def output_file_or_exit(path: Path | None, option: str, inputs: Inputs = Inputs(), force: bool = False,
                        replace_hint: str = FORCE_HINT) -> None:
    """`path`, named by the user, can be (re)written as a file (and lies in no data category
    folder); otherwise one `error:` line naming option and path, exit 1."""
    if path is not None:
        problem = file_problem(path, inputs, force, replace_hint)
        data = None if problem else _data_problem(path.parent)
        _exit_on(option, path, problem or (data and f"{data}; write the output elsewhere"))


def output_files_or_exit(paths: Iterable[Path], option: str, inputs: Inputs = Inputs(), force: bool = False,
                         replace_hint: str = FORCE_HINT) -> None:
    """`file_problem` for each file a command will write into an output folder already checked by
    `output_dir_or_exit` (the maps tree of `dire eval --maps` mirrors the data layout by design)."""
    for path in paths:
        _exit_on(option, path, file_problem(path, inputs, force, replace_hint))


def distinct_outputs_or_exit(outputs: dict[str, Path | None]) -> None:
    """No two outputs of one command (option → path) name the same file, through links too:
    the second write would silently replace the first."""
    named = [(option, path) for option, path in outputs.items() if path is not None]
    for i, (option, path) in enumerate(named):
        for other, other_path in named[i + 1:]:
            if _same(path, other_path):
                _exit_on(option, path, f"{other} names the same file; give each output its own path")


def output_dir_or_exit(path: Path | None, option: str, inputs: Inputs = Inputs()) -> None:
    """`path` can hold written files: not a file, creatable, and not an input of the command
    (with the data root among the inputs: not where the written files would be read as data)."""
    if path is None:
        return
    problem = f"{path} is a file" if path.exists() and not path.is_dir() else _blocker(path)
    problem = problem or inputs.clash(path) or _data_problem(path)
    _exit_on(option, path, problem and f"{problem}; give another folder")


def _exit_on(option: str, path: Path, problem: str | None) -> None:
    from rich.markup import escape

    if problem:
        fail(escape(f"{option} {path}: {problem}"))
        raise typer.Exit(ExitCode.USER_ERROR)
