"""The run directory: everything a training run leaves behind, in one folder, safe to reload.

    RUN/
      dire-run.json           marks the folder as a run (format, package version, creation time)
      config.json             the validated run configuration
      rules.rules             the rules source the run was trained with
      rules.sha256            its hash, in `sha256sum -c` format
      calibration.json        score calibration from validation normals
      pseudo_labels.json      unsupervised / prompts grounding: the pseudo-annotated images, cluster names
      model.safetensors       final weights
      log.jsonl               the training log
      checkpoints/
        step-000000120/       model.safetensors, state.safetensors, state.json
        latest                name of the newest complete checkpoint

Every file is written atomically; a checkpoint folder is complete before ``latest`` names it,
so a run killed at any instant resumes from a consistent state.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError
from torch import Tensor, nn

from dire_dsl import __version__
from dire_dsl.atomic import atomic_write_text
from dire_dsl.errors import DireError
from dire_dsl.json_read import parse_json
from dire_dsl.run.checkpoint import (
    CheckpointError,
    TrainState,
    load_tensors,
    load_train_state,
    read_tensor_metadata,
    save_tensors,
    save_train_state,
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

RUN_FORMAT = "dire-dsl/run-1"
MANIFEST = "dire-run.json"
CONFIG = "config.json"
RULES = "rules.rules"
RULES_HASH = "rules.sha256"
CALIBRATION = "calibration.json"
PSEUDO_LABELS = "pseudo_labels.json"
WEIGHTS = "model.safetensors"
LOG = "log.jsonl"
CHECKPOINTS = "checkpoints"
LATEST = "latest"
_CHECKPOINT_NAME = re.compile(r"step-(\d{9})(?:-(\d+))?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TMP_PREFIX = ".tmp-"


class RunDirError(DireError):
    """A run directory cannot be created, read or written as asked."""


class _Manifest(BaseModel):
    format: str
    dire_dsl: str
    created: str


@dataclass(frozen=True)
class RunDir:
    """Handle on a run directory; get one from :func:`create_run_dir` or :func:`open_run_dir`."""

    path: Path

    @property
    def log_path(self) -> Path:
        """Where the training loop appends its JSONL log."""
        return self.path / LOG

    def write_config(self, config: BaseModel) -> None:
        atomic_write_text(self.path / CONFIG, config.model_dump_json(indent=2) + "\n")

    def read_config(self, model: type[M]) -> M:
        """The stored config, validated by ``model``; errors name the file."""
        return _read_model(self.path / CONFIG, model)

    def write_rules(self, source: str) -> str:
        """Store the rules source and return its sha256 (hex)."""
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        atomic_write_text(self.path / RULES, source)
        atomic_write_text(self.path / RULES_HASH, f"{digest}  {RULES}\n")
        return digest

    def read_rules(self) -> str:
        """The stored rules source, checked against its hash."""
        source = _read_text(self.path / RULES)
        if hashlib.sha256(source.encode("utf-8")).hexdigest() != self.rules_sha256():
            raise RunDirError(f"{self.path / RULES} does not match {RULES_HASH}: the rules were edited after training")
        return source

    def rules_sha256(self) -> str:
        """The hash in rules.sha256 (`sha256sum` format); a damaged file is a RunDirError."""
        path = self.path / RULES_HASH
        digest = next(iter(_read_text(path).split()), "")
        if not _SHA256.fullmatch(digest):
            raise RunDirError(f"{path} is damaged (it should read `<64 hex digits>  {RULES}`); {RESTORE}")
        return digest

    def write_calibration(self, calibration: BaseModel | Mapping[str, Any]) -> None:
        text = (
            calibration.model_dump_json(indent=2)
            if isinstance(calibration, BaseModel)
            else json.dumps(dict(calibration), indent=2, allow_nan=False)
        )
        atomic_write_text(self.path / CALIBRATION, text + "\n")

    @overload
    def read_calibration(self, model: None = None) -> dict[str, Any]: ...
    @overload
    def read_calibration(self, model: type[M]) -> M: ...
    def read_calibration(self, model: type[M] | None = None) -> M | dict[str, Any]:
        if model is not None:
            return _read_model(self.path / CALIBRATION, model)
        return _read_json(self.path / CALIBRATION)

    def write_pseudo_labels(self, record: Mapping[str, Any]) -> None:
        """What the unsupervised or prompts grounding did: which images it pseudo-annotated, with
        how many instances of each object, and (unsupervised) which cluster became which object."""
        atomic_write_text(self.path / PSEUDO_LABELS, json.dumps(dict(record), indent=2, allow_nan=False) + "\n")

    def read_pseudo_labels(self) -> dict[str, Any] | None:
        """The record of the pseudo-annotations, or None for a run that made none (few-shot)."""
        if not (self.path / PSEUDO_LABELS).exists():
            return None
        return _read_json(self.path / PSEUDO_LABELS)

    def save_weights(self, weights: nn.Module | Mapping[str, Tensor],
                     metadata: Mapping[str, str] | None = None) -> Path:
        """Write the final weights (a module's state dict, or a state dict) to model.safetensors."""
        tensors = dict(weights.state_dict() if isinstance(weights, nn.Module) else weights)
        save_tensors(self.path / WEIGHTS, tensors, {"format": RUN_FORMAT, **(metadata or {})})
        return self.path / WEIGHTS

    def load_weights(self) -> dict[str, Tensor]:
        """The final weights; NaN or infinite values are refused here, since they would only show
        up later as a `nan` score that compares as "normal"."""
        tensors = _checked(load_tensors, self.path / WEIGHTS)
        broken = [name for name, tensor in tensors.items()
                  if tensor.is_floating_point() and not bool(tensor.isfinite().all())]
        if broken:
            raise RunDirError(f"{self.path / WEIGHTS} holds NaN/inf values (in {', '.join(broken[:3])}"
                              f"{', ...' if len(broken) > 3 else ''}); {RESTORE}")
        return tensors

    def weights_metadata(self) -> dict[str, str]:
        return _checked(read_tensor_metadata, self.path / WEIGHTS)

    def save_checkpoint(self, state: TrainState, *, keep: int = 2) -> Path:
        """Write a checkpoint, point ``latest`` at it, and keep the newest ``keep`` checkpoints.

        A failed write (a full disk) removes its partial folder and leaves ``latest`` on the
        previous checkpoint; it is reported as a RunDirError naming the checkpoint.
        """
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.check_checkpoints()
        root = self.path / CHECKPOINTS
        final = root / _unique_name(root, state.step)
        staging = root / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            save_train_state(staging, state)
            os.rename(staging, final)  # a folder appears complete or not at all
            atomic_write_text(root / LATEST, final.name + "\n")
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise RunDirError(_checkpoint_write_failure(final, error)) from error
        _prune(root, keep=keep, latest=final.name)
        return final

    def check_checkpoints(self) -> None:
        """Refuse a ``checkpoints`` folder that is, or holds a checkpoint that is, a symbolic link:
        saving prunes old checkpoints, and deleting through a link would delete outside the run."""
        root = self.path / CHECKPOINTS
        entries = list(root.iterdir()) if root.is_dir() and not root.is_symlink() else []
        linked = [root] if root.is_symlink() else [e for e in entries if e.is_symlink() and _managed(e.name)]
        if linked:
            raise RunDirError(f"{linked[0]} is a symbolic link; dire writes and deletes checkpoints only inside the "
                              "run folder. Replace the link with a real folder, or remove it")

    def latest_checkpoint(self) -> Path | None:
        """The folder ``latest`` names, or None before the first checkpoint."""
        pointer = self.path / CHECKPOINTS / LATEST
        if not pointer.exists():
            return None
        name = _read_text(pointer).strip()
        if not _CHECKPOINT_NAME.fullmatch(name) or not (self.path / CHECKPOINTS / name).is_dir():
            raise RunDirError(f"{pointer} names {name!r}, which is not a checkpoint here")
        return self.path / CHECKPOINTS / name

    def load_checkpoint(self, directory: Path | None = None) -> TrainState:
        """Read a checkpoint, by default the latest."""
        directory = directory or self.latest_checkpoint()
        if directory is None:
            raise RunDirError(f"{self.path} has no checkpoint to resume from")
        return _checked(load_train_state, directory)


def check_new_run_dir(path: str | os.PathLike[str], *, force: bool = False) -> None:
    """Raise the RunDirError :func:`create_run_dir` would raise for ``path``; change nothing.
    Lets a caller refuse a bad ``--out`` before slow work, and create the folder after it."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise RunDirError(f"{root} exists and is not a directory")
    if root.exists() and any(root.iterdir()):
        if not force:
            raise RunDirError(f"{root} already exists and is not empty; choose another --out, or pass --force "
                              "to replace the run in it")
        if not (root / MANIFEST).is_file():
            raise RunDirError(f"{root} is not empty and is not a dire run directory (no {MANIFEST}); "
                              "--force only replaces an earlier run, it never empties other folders")
        RunDir(root).check_checkpoints()  # --force deletes the old checkpoints: never through a link


def create_run_dir(path: str | os.PathLike[str], *, force: bool = False) -> RunDir:
    """Make ``path`` a fresh run directory.

    An existing non-empty folder is refused, unless ``force`` is set and it is a run directory:
    then the previous run's files are removed and any other files are kept (with a warning).
    """
    root = Path(path)
    check_new_run_dir(root, force=force)
    if root.exists() and any(root.iterdir()):
        _clear_run(root)
    root.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest(format=RUN_FORMAT, dire_dsl=__version__, created=datetime.now(timezone.utc).isoformat())
    atomic_write_text(root / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
    return RunDir(root)


def open_run_dir(path: str | os.PathLike[str]) -> RunDir:
    """Open an existing run directory (to resume, evaluate or explain)."""
    root = Path(path)
    manifest = _read_model(root / MANIFEST, _Manifest)
    if manifest.format != RUN_FORMAT:
        raise RunDirError(f"{root} holds a {manifest.format} run; this version reads {RUN_FORMAT}")
    return RunDir(root)


def _clear_run(root: Path) -> None:
    """Remove what a run writes, nothing else, and say so."""
    for name in (MANIFEST, CONFIG, RULES, RULES_HASH, CALIBRATION, PSEUDO_LABELS, WEIGHTS, LOG):
        (root / name).unlink(missing_ok=True)
    checkpoints = root / CHECKPOINTS
    if checkpoints.is_dir():
        for entry in checkpoints.iterdir():
            if entry.name == LATEST:
                entry.unlink()
            elif entry.is_dir() and not entry.is_symlink() and _managed(entry.name):
                shutil.rmtree(entry)
        if not any(checkpoints.iterdir()):
            checkpoints.rmdir()
    kept = sorted(entry.name for entry in root.iterdir())
    note = f"; other files there were kept: {', '.join(kept)}" if kept else ""
    warnings.warn(f"--force removed the earlier run in {root}{note}", stacklevel=3)


def _unique_name(root: Path, step: int) -> str:
    base = f"step-{step:09d}"
    name, n = base, 0
    while (root / name).exists():  # the same step saved again, e.g. after a resume
        n += 1
        name = f"{base}-{n}"
    return name


def _managed(name: str) -> bool:
    """Whether a name in checkpoints/ is one dire writes (and so may delete)."""
    return bool(_CHECKPOINT_NAME.fullmatch(name)) or name.startswith(_TMP_PREFIX)


def _checkpoint_write_failure(final: Path, error: OSError) -> str:
    """The message for a checkpoint that could not be written: which one, why, what is kept."""
    advice = "free some space" if error.errno in (errno.ENOSPC, errno.EDQUOT) else "check the folder's permissions"
    return (f"cannot write checkpoint {final}: {error.strerror or error}; the previous checkpoint (if any) is "
            f"kept: {advice}, then continue with `dire train ... --resume`")


def _prune(root: Path, *, keep: int, latest: str) -> None:
    """Drop older checkpoints and staging folders left by a crash (never through a link)."""
    complete = []
    for entry in root.iterdir():
        if entry.is_symlink():
            continue
        match = _CHECKPOINT_NAME.fullmatch(entry.name)
        if entry.name.startswith(_TMP_PREFIX) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif match and entry.is_dir() and entry.name != latest:
            complete.append(((int(match[1]), int(match[2] or 0)), entry))
    complete.sort()
    for _, entry in complete[: max(0, len(complete) - (keep - 1))]:
        shutil.rmtree(entry, ignore_errors=True)


def _read_model(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate_json(_read_text(path))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc']) or 'the file'}: {e['msg'].lower()}"
                             for e in error.errors()[:3])
        raise RunDirError(f"{path} is damaged ({problems}); {RESTORE}") from None


RESTORE = "restore it from a copy of the run, or train the run again"


def _read_text(path: Path) -> str:
    if path.parent.is_file():
        raise RunDirError(f"{path.parent} is a file, not a run folder; give the folder `dire train --out` wrote")
    if not path.parent.exists():
        raise RunDirError(f"{path.parent}: no such run folder; train one with `dire train RULES --data ROOT "
                          f"--out {path.parent}`")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunDirError(f"{path} is missing; {RESTORE}") from None
    except UnicodeDecodeError as error:
        raise RunDirError(f"{path} is damaged (not UTF-8 text: {error.reason} at byte {error.start}); "
                          f"{RESTORE}") from None
    except OSError as error:
        raise RunDirError(f"cannot read {path}: {error}") from error


def _read_json(path: Path) -> Any:
    return parse_json(_read_text(path), lambda reason: RunDirError(f"{path} is damaged ({reason}); {RESTORE}"))


def _checked(read: Callable[[Path], T], path: Path) -> T:
    """Run a checkpoint reader, reporting a missing or damaged file as a RunDirError."""
    if not path.exists():
        raise RunDirError(f"{path} is missing; {RESTORE}")
    try:
        return read(path)
    except CheckpointError as error:
        raise RunDirError(f"{error}; {RESTORE}") from None
