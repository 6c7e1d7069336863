"""Errors of training, in a module without torch: the CLI names them without importing it."""

from __future__ import annotations

from dire_dsl.errors import DireError


class TrainingDiverged(DireError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""
