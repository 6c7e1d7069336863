"""Progress of long commands as plain lines, for when stderr is not a terminal.

A rich progress bar draws nothing while stderr is not a terminal (under `nohup`, in CI, into a
log file), so a 30-minute `dire train` looked dead. There the commands print these lines
instead: each phase's start and end, one line per training epoch, and counts every 10 %, each
with the time elapsed since the command started.
"""

from __future__ import annotations

import time
from typing import Any

import typer

LOSS_KEYS = ("loss", "component", "rules", "compact", "push", "gates")
"""The loss terms of a training step record, in the order they are shown."""


def format_losses(record: dict[str, Any]) -> str:
    """The loss terms of a training step record, e.g. `loss=0.412 rules=0.031`."""
    return " ".join(f"{k}={record[k]:.3f}" for k in LOSS_KEYS if k in record)


def clock(seconds: float) -> str:
    """Elapsed time the way a log reader scans it: `42s`, `3m05s`, `1h02m`."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class PlainLines:
    """Progress as plain stderr lines, each stamped with the time since the command started."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._phase: tuple[str, float] | None = None
        self._counted: tuple[str, int] | None = None  # what is being counted, and the last tenth said

    def say(self, text: str) -> None:
        typer.echo(f"[{clock(time.monotonic() - self._started)}] {text}", err=True)

    def phase(self, name: str) -> None:
        """End the current phase (with its duration) and start `name`."""
        self.end_phase()
        self._phase = (name, time.monotonic())
        self.say(f"{name} ...")

    def end_phase(self) -> None:
        """Say the current phase is done; only on success, so a failed phase never reads as done."""
        if self._phase is not None:
            name, since = self._phase
            self.say(f"{name}: done in {clock(time.monotonic() - since)}")
            self._phase = None

    def count(self, what: str, done: int, total: int) -> None:
        """A line at the first call, then whenever another tenth of `total` is done; counting
        something else (`dire demo` counts images synthesized, then images scored) starts afresh."""
        decile = done * 10 // total if total > 0 else 10
        if self._counted is not None and self._counted[0] == what and decile <= self._counted[1]:
            return
        percent = f" ({done * 100 // total}%)" if total > 0 else ""
        self.say(f"{what}: {done}/{total}{percent}")
        self._counted = (what, decile)

    def step(self, record: dict[str, Any]) -> None:
        """A line after the last step of each training epoch (`epochs` and `total_steps` in the record)."""
        epochs, total, step = record.get("epochs"), record.get("total_steps"), record["step"]
        if not epochs or not total or step % max(1, total // epochs):
            return
        self.say(f"epoch {record['epoch'] + 1}/{epochs}: step {step}/{total} {format_losses(record)}")
