"""What the checker's passes share: the file, the diagnostics so far and the declared names.

The declaration passes fill the tables; the rule pass only reads them. Keeping them in one
object lets each pass be a plain function of it, run in the order the driver gives.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from dire_dsl.lang import ast, ir
from dire_dsl.lang.diagnostics import DiagnosticBag
from dire_dsl.lang.parser import RESERVED_WORDS
from dire_dsl.lang.settings import BLOCKS, defaults


def _default_settings() -> dict[str, dict[str, Any]]:
    return {block: defaults(block) for block in BLOCKS}


@dataclass
class CheckContext:
    """One file being checked: its tree and text, the diagnostics, and every name it declares."""

    program: ast.Program
    source: str
    bag: DiagnosticBag
    objects: dict[str, ast.ObjectDecl] = field(default_factory=dict)
    attributes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    regions: dict[str, ir.RegionDef] = field(default_factory=dict)
    broken_regions: set[str] = field(default_factory=set)  # declared with an error already reported: uses stay quiet
    settings: dict[str, dict[str, Any]] = field(default_factory=_default_settings)

    def text(self, span: ast.Span) -> str:
        """The source under `span`, whitespace collapsed: how diagnostics and the IR quote it."""
        return " ".join(self.source[span.start_pos:span.end_pos].split())

    def ir_fields(self, node: Any) -> dict[str, Any]:
        """The span and quoted text every IR node keeps, so explanations can cite the rule."""
        return {"span": node.span, "text": self.text(node.span)}

    def check_name(self, ident: ast.Ident) -> None:
        if ident.text in RESERVED_WORDS:
            self.bag.error("E105", f"`{ident.text}` is a reserved word and cannot be used as a name", ident.span,
                           help=f"choose another name, for example `{ident.text}_`")

    def unknown_object(self, ident: ast.Ident) -> None:
        self.bag.error("E203", f"unknown object `{ident.text}`; {listing('objects', list(self.objects))}", ident.span,
                       help=suggest(ident.text, list(self.objects)))


def suggest(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def listing(kind: str, names: list[str]) -> str:
    return f"declared {kind}: {', '.join(names)}" if names else f"no {kind} are declared"
