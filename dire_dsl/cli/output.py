"""Shared console objects and the output-format enum of the commands."""

from __future__ import annotations

from enum import Enum

from rich.console import Console

# Plain stdout for machine-readable output; rich for human messages on stderr.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def fail(message: str) -> None:
    """Print a user-facing error line on stderr (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True)
