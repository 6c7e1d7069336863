"""Render diagnostics: rustc-like text with the source line and a caret, or JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dire_dsl.lang.diagnostics import Diagnostic


def render_text(diagnostic: Diagnostic, source: str) -> str:
    """`file:line:col: error[CODE]: message`, the source line, a caret under the span, the help."""
    span = diagnostic.span
    head = f"{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"
    if span is None:
        lines = [f"{diagnostic.file}: {head}"]
    else:
        lines = [f"{diagnostic.file}:{span.line}:{span.column}: {head}"]
        source_lines = source.splitlines()
        if 1 <= span.line <= len(source_lines):
            text = source_lines[span.line - 1].expandtabs(1)
            gutter = " " * len(str(span.line))
            end = span.end_column if span.end_line == span.line else len(text) + 1
            width = max(1, end - span.column)
            lines.append(f"{gutter} |")
            lines.append(f"{span.line} | {text}")
            lines.append(f"{gutter} | {' ' * (span.column - 1)}{'^' * width}")
    if diagnostic.help:
        lines.append(f"  = help: {diagnostic.help}")
    return "\n".join(lines)


def render_all_text(diagnostics: Iterable[Diagnostic], source: str) -> str:
    return "\n\n".join(render_text(d, source) for d in diagnostics)


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2, ensure_ascii=False)
