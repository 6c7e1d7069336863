"""Atomic file writes: write to a temporary file in the same folder, then rename.

A crash or a full disk therefore never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

GENERATOR = "dire-dsl"
"""The marker every file written for a user carries (a JSON "generator" key, an HTML generator
meta tag, a PNG "Software" text chunk, a TIFF Software tag), so that a command can tell its own
earlier output, which it may replace, from a file it must not overwrite."""
MARKDOWN_MARKER = f"<!-- generator: {GENERATOR} -->"
"""The first line of a Markdown file dire writes (a comment, so it does not show when rendered)."""


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (same-folder temp file, fsync, os.replace).

    Raises OSError naming `path` itself: a full disk fails on the hidden temp file or on fsync,
    and a message naming that file would not tell the user which output was lost.
    """
    target = Path(path)
    try:
        _write_then_rename(target, data)
    except OSError as error:
        if error.filename == str(target):
            raise
        raise OSError(error.errno, error.strerror or str(error), str(target)) from error


def _write_then_rename(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes 0600 files; give the result the permissions an ordinary write would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode(encoding))
