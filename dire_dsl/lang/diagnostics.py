"""Diagnostics are data: a code, a severity, a message, a span. Rendering lives elsewhere.

Syntax and semantic errors are `DireError`s that carry their diagnostics, so every caller
can render them the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from dire_dsl.errors import DireError
from dire_dsl.lang.ast import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a rules file."""

    code: str
    severity: Severity
    message: str
    span: Span | None
    file: str = "<string>"
    help: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["span"] = self.span.model_dump() if self.span else None
        return data


@dataclass
class DiagnosticBag:
    """Collects diagnostics for one file; the checker never stops at the first problem."""

    file: str = "<string>"
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.items.append(Diagnostic(code, Severity.ERROR, message, span, self.file, help))

    def warning(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.items.append(Diagnostic(code, Severity.WARNING, message, span, self.file, help))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        def key(d: Diagnostic) -> tuple[int, int, str]:
            return (d.span.line, d.span.column, d.code) if d.span else (0, 0, d.code)

        return sorted(self.items, key=key)


class RulesError(DireError):
    """A rules file has errors; carries all its diagnostics (and the source, for rendering)."""

    def __init__(self, diagnostics: list[Diagnostic], source: str = "") -> None:
        self.diagnostics = diagnostics
        self.source = source
        first = diagnostics[0] if diagnostics else None
        where = f"{first.file}:{first.span.line}:{first.span.column}: " if first and first.span else ""
        summary = f"{where}{first.message}" if first else "rules file has errors"
        more = len([d for d in diagnostics if d.is_error]) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))


class RulesSyntaxError(RulesError):
    """The text does not follow the grammar."""


class RulesCheckError(RulesError):
    """The text parses but does not make sense (unknown names, wrong kinds, ...)."""
