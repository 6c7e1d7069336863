"""Shared console helpers and the output-format enum of the commands."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


@lru_cache(maxsize=1)
def err_console() -> Console:
    """Rich console on stderr, created on first use (rich costs import time `dire check` avoids)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> None:
    """Print a user-facing error line on stderr (no traceback)."""
    err_console().print(f"[bold red]error:[/] {message}", markup=True)
