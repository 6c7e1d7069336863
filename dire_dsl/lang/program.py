"""The facade of the language pipeline: text → AST → diagnostics → CheckedProgram.

This is what the CLI and the rest of the library call; the stages stay in their modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dire_dsl.errors import DireError
from dire_dsl.lang import ast, ir
from dire_dsl.lang.check import check_program
from dire_dsl.lang.diagnostics import Diagnostic, RulesCheckError, Severity
from dire_dsl.lang.parser import empty_program, parse_collecting


@dataclass(frozen=True)
class CheckResult:
    """Everything `dire check` reports for one file."""

    file: str
    source: str
    program: ir.CheckedProgram | None
    syntax_tree: ast.Program
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.program is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


SPEC_SUFFIXES = (".toml", ".json")
"""Files these suffixes name are scene specs (`dire synth`), never rules."""


class RulesFileError(DireError):
    """A rules file that cannot be read at all (missing, a folder, not UTF-8)."""


def read_rules_text(path: str | Path) -> str:
    """Read a rules file, turning OS and encoding problems into one clear error."""
    file = Path(path)
    if file.suffix.lower() in SPEC_SUFFIXES and file.is_file():
        raise RulesFileError(f"{file}: a scene spec, not a rules file; give the product's .rules file "
                             "(a spec is checked and used by `dire synth SPEC`)")
    try:
        return file.read_text(encoding="utf-8-sig")  # a byte-order mark some editors add is not part of the text
    except FileNotFoundError:
        raise RulesFileError(f"{file}: no such rules file") from None
    except IsADirectoryError:
        raise RulesFileError(f"{file}: is a folder; give a .rules file") from None
    except UnicodeDecodeError as error:
        raise RulesFileError(f"{file}: not UTF-8 text (byte {error.start}); save the file as UTF-8") from None
    except OSError as error:
        raise RulesFileError(f"{file}: cannot be read ({error.strerror})") from None


def check_source(source: str, file: str = "<string>") -> CheckResult:
    """Parse and check a rules text, collecting every syntax and semantic problem."""
    try:
        return _check_source(source, file)
    except RecursionError:  # the parser and the checker recurse once per operator of a chain
        return CheckResult(file, source, None, empty_program(source, file), [too_deep(file)])


def too_deep(file: str) -> Diagnostic:
    """E107: an expression with hundreds of operators in one chain; Python's stack gives out first."""
    return Diagnostic("E107", Severity.ERROR, "an expression is nested too deeply to read (hundreds of operators "
                      "or brackets in one rule)", None, file,
                      help="split it into several rules, one per idea; each rule is checked on its own")


def _check_source(source: str, file: str) -> CheckResult:
    tree, syntax = parse_collecting(source, file)
    if syntax:
        # Still check what parsed, but only keep problems that are not echoes of the broken parts.
        _, semantic = check_program(tree, source, file)
        semantic = [d for d in semantic
                    if (d.code not in ("E201",) or not tree.items) and not _echoes_literal(d, syntax)]
        return CheckResult(file, source, None, tree, sorted_diagnostics(syntax + semantic))
    program, diagnostics = check_program(tree, source, file)
    return CheckResult(file, source, program, tree, diagnostics)


def _echoes_literal(diagnostic: Diagnostic, syntax: list[Diagnostic]) -> bool:
    """A problem about a span holding a literal already reported as unrepresentable (E108): the
    checker saw it as inf or 0, so what it says (`got inf`, always true, ...) only repeats that."""
    span = diagnostic.span
    return span is not None and any(
        d.code == "E108" and d.span is not None and span.start_pos <= d.span.start_pos <= d.span.end_pos <= span.end_pos
        for d in syntax)


def check_file(path: str | Path) -> CheckResult:
    """Read and check a rules file; problems in the text come back as diagnostics, not exceptions.

    Raises RulesFileError only when the file cannot be read at all (missing, a folder, not UTF-8).
    """
    return check_source(read_rules_text(path), str(path))


def load_rules(path: str | Path) -> ir.CheckedProgram:
    """Read, parse and check a rules file; raise RulesCheckError with all diagnostics on errors."""
    result = check_file(path)
    if not result.ok:
        raise RulesCheckError(result.errors or result.diagnostics, result.source)
    assert result.program is not None
    return result.program


def sorted_diagnostics(items: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(items, key=lambda d: (d.span.line, d.span.column, d.code) if d.span else (0, 0, d.code))
