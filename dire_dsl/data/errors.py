"""Errors of the data package: one base class, one subclass per kind of problem.

Every error says *what* is wrong, *where* (a file, a folder, a field path) and, where it can,
what to do about it. Callers (the CLI) render them; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dire_dsl.errors import DireError


class DataError(DireError):
    """Base class of every error raised by `dire_dsl.data`."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a scene spec: the field path, what is wrong, and what to do."""

    field: str
    message: str
    hint: str = ""

    def render(self, file: str) -> str:
        text = f"{file}: {self.field}: {self.message}" if self.field else f"{file}: {self.message}"
        if self.hint:
            text += f" -- {self.hint}"
        return text


class SpecError(DataError):
    """A scene spec that cannot be read or is invalid; carries every issue found."""

    def __init__(self, file: str | Path, issues: list[SpecIssue]):
        self.file = str(file)
        self.issues = list(issues)
        super().__init__(self.render())

    def render(self, limit: int = 20) -> str:
        lines = [issue.render(self.file) for issue in self.issues[:limit]]
        if len(self.issues) > limit:
            lines.append(f"... and {len(self.issues) - limit} more")
        return "\n".join(lines)


class LayoutError(DataError):
    """A data-set folder that is missing, partial or not in the MVTec LOCO layout."""

    def __init__(self, root: str | Path, problems: list[str], limit: int = 15):
        self.root = str(root)
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:limit])
        more = f"\n  ... and {len(self.problems) - limit} more" if len(self.problems) > limit else ""
        super().__init__(
            f"{self.root} is not a valid MVTec LOCO category folder "
            f"({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):\n{shown}{more}"
        )


class ConfigError(DataError):
    """A defects_config.json (or annotation file) that cannot be read or has a wrong schema."""

    def __init__(self, path: str | Path, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class ImageReadError(DataError):
    """An image or mask file that cannot be decoded."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        super().__init__(f"cannot read image {self.path}: {reason}")


class OutputError(DataError):
    """The output folder of the generator cannot be used (e.g. a foreign non-empty folder)."""
