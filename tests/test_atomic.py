"""Atomic writes: a failed write leaves the old file and no temp file, and its error names the target."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dire_dsl.atomic import atomic_write_bytes, atomic_write_text


def _full_disk(*_args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_names_the_target_and_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "metrics.json"
    target.write_text("old", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "new")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert "No space left on device" in str(caught.value)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # the temp file is gone


def test_read_only_folder_names_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / ".map.tiff.x.tmp"))

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    target = tmp_path / "map.tiff"
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(target, b"\0")
    assert caught.value.errno == errno.EROFS and caught.value.filename == str(target)
    assert not target.exists()


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text(encoding="utf-8") == "two"
