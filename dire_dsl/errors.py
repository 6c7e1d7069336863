"""The root of every error dire-dsl raises, and the exit code each kind of error means.

Every exception class of the package derives from `DireError`, so a caller (the `dire`
command line, a notebook, a pipeline) catches the package's errors with one `except` and
tells them from bugs. An error carries its exit kind: a problem in the user's input (exit 1)
or a usage error (exit 2). This module sits below every layer, so that each may raise one.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """0: no problems; 1: problems found in the user's input; 2: usage or internal error."""

    OK = 0
    USER_ERROR = 1
    USAGE_ERROR = 2


class DireError(Exception):
    """Base of every exception class of dire-dsl: `except dire_dsl.DireError` catches them all.

    The `dire` commands report one as a message, never as a traceback, and exit with its
    `exit_code`: `ExitCode.USER_ERROR` (1), or `ExitCode.USAGE_ERROR` (2) for a usage error.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.USER_ERROR
