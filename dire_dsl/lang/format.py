"""The canonical form of a rules file: printed from the AST, comments kept, idempotent.

Style: one declaration per line; a blank line between groups of different declarations
and before every rule and settings block; rule bodies on their own line indented by four
spaces, split before top-level `and`/`or`/`implies` when longer than the line width;
parentheses only where the grammar needs them. Comments stay above the declaration they
precede (or after it when written on its last line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dire_dsl.lang import ast
from dire_dsl.lang.diagnostics import RulesSyntaxError
from dire_dsl.lang.parser import parse_collecting

LINE_WIDTH = 88
INDENT = "    "

# Binding strength: higher binds tighter.
_PREC = {"quantified": 0, "implies": 1, "or": 2, "and": 3, "not": 4, "compare": 5, "in_range": 5, "mapping": 5,
         "sequence": 5,
         "+": 6, "-": 6, "*": 7, "/": 7, "negate": 8}
_ATOM = 9


def _prec(node: Any) -> int:
    if node.kind == "connective":
        return _PREC[node.op]
    if node.kind == "binary":
        return _PREC[node.op]
    return _PREC.get(node.kind, _ATOM)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


class _Printer:
    """Prints expressions with the fewest parentheses that keep the same tree."""

    def expr(self, node: Any, rightmost: bool = True) -> str:
        return getattr(self, f"_p_{node.kind}")(node, rightmost)

    def _child(self, node: Any, need_parens: bool, rightmost: bool, logical: bool = False) -> str:
        """Print a child; in a logical position (operand of and/or/implies/not) a quantifier
        needs parentheses only when something follows it, since its body extends right."""
        if node.kind == "quantified" and logical:
            need_parens = not rightmost
        if need_parens:
            return f"({self.expr(node, True)})"
        return self.expr(node, rightmost)

    def _p_number(self, node: ast.NumberLit, rightmost: bool) -> str:
        return node.text

    def _p_bool(self, node: ast.BoolLit, rightmost: bool) -> str:
        return "true" if node.value else "false"

    def _p_name(self, node: ast.NameRef, rightmost: bool) -> str:
        return node.name

    def _p_cell(self, node: ast.CellRef, rightmost: bool) -> str:
        return f"{node.region.text}[{node.row}, {node.col}]"

    def _p_attr(self, node: ast.AttrRef, rightmost: bool) -> str:
        return f"{node.owner.text}.{node.attribute.text}"

    def where(self, where: ast.WhereFilter) -> str:
        return f"where {where.attribute.text} {where.op} {where.value.text}"

    def _p_qualified(self, node: ast.QualifiedArg, rightmost: bool) -> str:
        parts = [self._child(node.target, _prec(node.target) < _PREC["+"], False)]
        if node.region is not None:
            parts.append(f"in {self.expr(node.region)}")
        if node.where is not None:
            parts.append(self.where(node.where))
        return " ".join(parts)

    def _p_ordered(self, node: ast.OrderedArg, rightmost: bool) -> str:
        return f"{self.expr(node.target)} by {node.key.text}"

    def _p_sequence(self, node: ast.SequenceCompare, rightmost: bool) -> str:
        values = ", ".join(value.text for value in node.values)
        return f"{self.expr(node.call)}.{node.attribute.text} {node.op} [{values}]"

    def _p_call(self, node: ast.Call, rightmost: bool) -> str:
        return f"{node.func.text}({', '.join(self.expr(a) for a in node.args)})"

    def _p_negate(self, node: ast.Negate, rightmost: bool) -> str:
        return "-" + self._child(node.operand, _prec(node.operand) < _PREC["negate"], rightmost)

    def _p_binary(self, node: ast.Binary, rightmost: bool) -> str:
        p = _PREC[node.op]
        left = self._child(node.left, _prec(node.left) < p, False)
        right = self._child(node.right, _prec(node.right) <= p, rightmost)
        return f"{left} {node.op} {right}"

    def _p_compare(self, node: ast.Compare, rightmost: bool) -> str:
        left = self._child(node.left, _prec(node.left) <= _PREC["compare"], False)
        right = self._child(node.right, _prec(node.right) <= _PREC["compare"], rightmost)
        return f"{left} {node.op} {right}"

    def _p_in_range(self, node: ast.InRange, rightmost: bool) -> str:
        value = self._child(node.value, _prec(node.value) <= _PREC["in_range"], False)
        return f"{value} in [{self.expr(node.low)}, {self.expr(node.high)}]"

    def _p_mapping(self, node: ast.Mapping, rightmost: bool) -> str:
        entries = ", ".join(f"{e.source.text}: {e.target.text}" for e in node.entries)
        return f"{self.expr(node.source)} -> {self.expr(node.target)} {{ {entries} }}"

    def _p_not(self, node: ast.Not, rightmost: bool) -> str:
        return "not " + self._child(node.operand, _prec(node.operand) < _PREC["not"], rightmost, logical=True)

    def _p_connective(self, node: ast.Connective, rightmost: bool) -> str:
        return " ".join(self.chain(node, rightmost))

    def chain(self, node: ast.Connective, rightmost: bool) -> list[str]:
        """The operands and operators of a connective as a flat list: `a`, `and b`, `and c`."""
        p = _PREC[node.op]
        if node.op == "implies":  # right-associative
            left = self._child(node.left, _prec(node.left) <= p, False, logical=True)
            right = self._child(node.right, _prec(node.right) < p, rightmost, logical=True)
            return [left, f"implies {right}"]
        if node.left.kind == "connective" and node.left.op == node.op:
            head = self.chain(node.left, False)
        else:
            head = [self._child(node.left, _prec(node.left) < p, False, logical=True)]
        right = self._child(node.right, _prec(node.right) <= p, rightmost, logical=True)
        return head + [f"{node.op} {right}"]

    def _p_quantified(self, node: ast.Quantified, rightmost: bool) -> str:
        return f"{self.header(node)} {self.expr(node.body, True)}"

    def header(self, node: ast.Quantified) -> str:
        names = ", ".join(v.text for v in node.variables)
        domain = node.domain.name.text + (f" {self.where(node.domain.where)}" if node.domain.where else "")
        return f"{node.quantifier} {names} in {domain}:"


@dataclass
class _Comments:
    """Comments sorted by position, handed out to the declarations they belong to."""

    pending: list[ast.Comment]
    taken: set[int] = field(default_factory=set)

    def before(self, pos: int) -> list[ast.Comment]:
        found = [c for c in self.pending if c.span.start_pos < pos and id(c) not in self.taken]
        self.taken.update(id(c) for c in found)
        return found

    def trailing(self, line: int) -> ast.Comment | None:
        for comment in self.pending:
            if id(comment) not in self.taken and comment.span.line == line:
                self.taken.add(id(comment))
                return comment
        return None

    def rest(self) -> list[ast.Comment]:
        return [c for c in self.pending if id(c) not in self.taken]


def _group(item: Any) -> str:
    return item.kind


def format_program(program: ast.Program) -> str:
    """The canonical text of a Program (comments included)."""
    printer = _Printer()
    comments = _Comments(sorted(program.comments, key=lambda c: c.span.start_pos))
    out: list[str] = []
    previous: Any = None
    for item in program.items:
        leading = comments.before(item.span.start_pos)
        # comments inside the item (multi-line bodies) move above it
        inside = [c for c in comments.before(item.span.end_pos) if c.span.line != item.span.end_line]
        separate = previous is not None and (
            _group(previous) != _group(item) or item.kind in ("rule", "settings") or leading
        )
        if separate:
            out.append("")
        out.extend(c.text.rstrip() for c in leading + inside)
        lines = _format_item(printer, item)
        trailing = comments.trailing(item.span.end_line)
        if trailing is not None:
            lines[-1] = f"{lines[-1]}  {trailing.text.rstrip()}"
        out.extend(lines)
        previous = item
    rest = comments.rest()
    if rest:
        if out:
            out.append("")
        out.extend(c.text.rstrip() for c in rest)
    return "\n".join(out) + "\n" if out else ""


def _format_item(printer: _Printer, item: Any) -> list[str]:
    if isinstance(item, ast.CategoryDecl):
        return [f"category {item.name.text}"]
    if isinstance(item, ast.ObjectDecl):
        return [" ".join(["object", item.name.text, *(_quote(p) for p in item.prompts)])]
    if isinstance(item, ast.AttributeDecl):
        values = ", ".join(v.text for v in item.values)
        return [f"attribute {item.owner.text}.{item.name.text} {{ {values} }}"]
    if isinstance(item, ast.RegionDecl):
        shape = item.shape
        text = shape.func.text if shape.args is None else f"{shape.func.text}({', '.join(a.text for a in shape.args)})"
        return [f"region {item.name.text} = {text}"]
    if isinstance(item, ast.RuleDecl):
        return _format_rule(printer, item)
    assert isinstance(item, ast.SettingsBlock)
    entries = [f"{s.key.text} = {_setting_text(s)}" for s in item.settings]
    one_line = f"{item.block} {{ {', '.join(entries)} }}" if entries else f"{item.block} {{ }}"
    if len(one_line) <= LINE_WIDTH:
        return [one_line]
    return [f"{item.block} {{", *(f"{INDENT}{e}," for e in entries), "}"]


def _setting_text(setting: ast.Setting) -> str:
    if isinstance(setting.value, bool):
        return "true" if setting.value else "false"
    if isinstance(setting.value, str) and setting.text.startswith('"'):
        return _quote(setting.value)
    return setting.text


def _format_rule(printer: _Printer, rule: ast.RuleDecl) -> list[str]:
    header = f"rule {rule.name.text}"
    if rule.weight is not None:
        header += f" weight {rule.weight.text}"
    if rule.hardness is not None:
        header += f" {rule.hardness}"
    return [header + ":", *_body_lines(printer, rule.body, INDENT)]


def _body_lines(printer: _Printer, body: Any, indent: str) -> list[str]:
    flat = printer.expr(body)
    if len(indent) + len(flat) <= LINE_WIDTH:
        return [indent + flat]
    if body.kind == "connective":
        return [indent + part for part in printer.chain(body, True)]
    if body.kind == "quantified":
        return [indent + printer.header(body), *_body_lines(printer, body.body, indent + INDENT)]
    return [indent + flat]


def format_source(source: str, file: str = "<string>") -> str:
    """Format a rules text; raise RulesSyntaxError (and change nothing) if it does not parse."""
    from dire_dsl.lang.program import too_deep

    try:
        program, syntax = parse_collecting(source, file)
        if syntax:
            raise RulesSyntaxError(syntax, source)
        return format_program(program)
    except RecursionError:  # like `dire check`: E107, not a traceback
        raise RulesSyntaxError([too_deep(file)], source) from None
