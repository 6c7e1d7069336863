"""Exit codes of every `dire` command, in one place."""

from enum import IntEnum


class ExitCode(IntEnum):
    """0: no problems; 1: problems found in the user's input; 2: usage or internal error."""

    OK = 0
    USER_ERROR = 1
    USAGE_ERROR = 2
