"""Text → parse tree (Lark, LALR) → typed AST, with syntax errors in plain words.

A syntax error does not stop the parse: the parser records it and resumes at the next
top-level declaration, so one run reports every broken declaration of a file.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from dire_dsl.lang import ast
from dire_dsl.lang.diagnostics import Diagnostic, DiagnosticBag, RulesSyntaxError
from dire_dsl.lang.limits import MAX_NUMBER

TOP_LEVEL_KEYWORDS = ("category", "object", "attribute", "region", "rule", "train", "logic")
RESERVED_WORDS = frozenset(
    TOP_LEVEL_KEYWORDS
    + ("forall", "exists", "in", "where", "and", "or", "not", "implies", "true", "false",
       "weight", "hard", "soft")
)
_TOP_LEVEL_LINE = re.compile(rf"^[ \t]*(?:{'|'.join(TOP_LEVEL_KEYWORDS)})\b", re.MULTILINE)

# How terminals are named to a person who has never seen the grammar.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": 'a quoted text such as "a red pushpin"',
    "COMP_OP": "a comparison (== != < <= > >=)",
    "$END": "the end of the file",
}


# Comments are ignored by the grammar but kept for the formatter: the lexer hands each
# one to this sink, which _parse_tree points at a fresh list for every parse.
_comment_sink: list[list[Token]] = [[]]


def _collect_comment(token: Token) -> Token:
    _comment_sink[0].append(token)
    return token


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("dire_dsl.lang").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                lexer_callbacks={"COMMENT": _collect_comment}, cache=True)


def _span_of(meta_or_token: Any) -> ast.Span:
    return ast.Span(
        line=meta_or_token.line,
        column=meta_or_token.column,
        end_line=meta_or_token.end_line,
        end_column=meta_or_token.end_column,
        start_pos=meta_or_token.start_pos,
        end_pos=meta_or_token.end_pos,
    )


def _ident(token: Token) -> ast.Ident:
    return ast.Ident(text=str(token), span=_span_of(token))


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _unquote(token: Token) -> str:
    """The text of a quoted string: `\\"`, `\\\\`, `\\n`, `\\t` are escapes; any other character stays."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), str(token)[1:-1])


def canonical_int(text: str) -> str:
    """A whole number's digits without leading zeros: `02` and `2` name the same attribute value.

    Done on the text, since int() refuses numbers of more than 4300 digits.
    """
    return text.lstrip("0") or "0"


def number_value(text: str) -> float:
    """The float of a number literal; -0.0 reads as 0.0 so no plan or message shows `-0`."""
    return float(text) + 0.0


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} characters)"


def literal_problem(text: str) -> tuple[str, str] | None:
    """(message, help) when a number literal does not fit a float (it would read as inf or as 0), else None."""
    value = float(text)
    if value > MAX_NUMBER:
        return (f"`{_shown(text)}` is too large: numbers go up to about 3.4e38 (rules compute in 32-bit floats)",
                "to leave a bound open, drop it: write `count(pin) >= 5`, not `count(pin) in [5, 1e309]`")
    mantissa = text.lower().partition("e")[0]
    if value == 0.0 and any(digit in mantissa for digit in "123456789"):
        return f"`{_shown(text)}` is too close to zero: it would read as 0", "write 0, or a number of at least 1e-300"
    return None


@v_args(meta=True, inline=True)
class _ToAst(Transformer):
    """One method per grammar rule name; each returns the matching AST node.

    Number literals a float cannot hold are reported into `bag` (E108) rather than raised,
    so the rest of the file is still read and checked.
    """

    def __init__(self, bag: DiagnosticBag) -> None:
        super().__init__()
        self.bag = bag

    def _literal(self, token: Token) -> float:
        problem = literal_problem(str(token))
        if problem is not None:
            self.bag.error("E108", problem[0], _span_of(token), help=problem[1])
        return number_value(str(token))

    def start(self, meta: Any, *items: Any) -> list[Any]:
        return list(items)

    # -- declarations
    def category_decl(self, meta: Any, name: Token) -> ast.CategoryDecl:
        return ast.CategoryDecl(span=_span_of(meta), name=_ident(name))

    def object_decl(self, meta: Any, name: Token, *prompts: Token) -> ast.ObjectDecl:
        return ast.ObjectDecl(span=_span_of(meta), name=_ident(name), prompts=[_unquote(p) for p in prompts])

    def attribute_decl(self, meta: Any, owner: Token, name: Token, values: list[ast.AttrValue]) -> ast.AttributeDecl:
        return ast.AttributeDecl(span=_span_of(meta), owner=_ident(owner), name=_ident(name), values=values)

    def value_list(self, meta: Any, *values: ast.AttrValue) -> list[ast.AttrValue]:
        return list(values)

    def name_value(self, meta: Any, token: Token) -> ast.AttrValue:
        return ast.AttrValue(span=_span_of(token), text=str(token), is_int=False)

    def int_value(self, meta: Any, token: Token) -> ast.AttrValue:
        return ast.AttrValue(span=_span_of(token), text=canonical_int(str(token)), is_int=True)

    def region_decl(self, meta: Any, name: Token, shape: ast.RegionShape) -> ast.RegionDecl:
        return ast.RegionDecl(span=_span_of(meta), name=_ident(name), shape=shape)

    def region_call(self, meta: Any, func: Token, *args: ast.NumberLit | None) -> ast.RegionShape:
        numbers = [a for a in args if a is not None]
        return ast.RegionShape(span=_span_of(meta), func=_ident(func), args=numbers)

    def region_named(self, meta: Any, name: Token) -> ast.RegionShape:
        return ast.RegionShape(span=_span_of(meta), func=_ident(name), args=None)

    def rule_decl(self, meta: Any, name: Token, *rest: Any) -> ast.RuleDecl:
        *modifiers, body = rest
        weight = next((m for m in modifiers if isinstance(m, ast.NumberLit)), None)
        hardness = next((m for m in modifiers if isinstance(m, str)), None)
        return ast.RuleDecl(span=_span_of(meta), name=_ident(name), weight=weight, hardness=hardness, body=body)

    def weight_modifier(self, meta: Any, number: ast.NumberLit) -> ast.NumberLit:
        return number

    def hardness(self, meta: Any, token: Token) -> str:
        return str(token)

    def settings_block(self, meta: Any, kind: str, *settings: ast.Setting | None) -> ast.SettingsBlock:
        return ast.SettingsBlock(span=_span_of(meta), block=kind, settings=[s for s in settings if s is not None])

    def settings_kind(self, meta: Any, token: Token) -> str:
        return str(token)

    def setting(self, meta: Any, key: Token, value: tuple[Any, str] | ast.NumberLit) -> ast.Setting:
        if isinstance(value, ast.NumberLit):
            whole = value.is_int and math.isfinite(value.value)
            number: float | int = int(value.value) if whole else value.value
            return ast.Setting(span=_span_of(meta), key=_ident(key), value=number, text=value.text)
        return ast.Setting(span=_span_of(meta), key=_ident(key), value=value[0], text=value[1])

    def signed_number(self, meta: Any, sign: Token | None, token: Token) -> ast.NumberLit:
        negative = sign is not None and str(sign) == "-"
        value = self._literal(token)
        text = ("-" if negative else "") + str(token)
        return ast.NumberLit(span=_span_of(meta), value=-value + 0.0 if negative else value, text=text,
                             is_int=token.type == "INT")

    def string_setting(self, meta: Any, token: Token) -> tuple[str, str]:
        return _unquote(token), str(token)

    def name_setting(self, meta: Any, token: Token) -> tuple[str, str]:
        return str(token), str(token)

    def true_setting(self, meta: Any) -> tuple[bool, str]:
        return True, "true"

    def false_setting(self, meta: Any) -> tuple[bool, str]:
        return False, "false"

    # -- expressions
    def implies(self, meta: Any, left: Any, right: Any) -> ast.Connective:
        return ast.Connective(span=_span_of(meta), op="implies", left=left, right=right)

    def or_(self, meta: Any, left: Any, right: Any) -> ast.Connective:
        return ast.Connective(span=_span_of(meta), op="or", left=left, right=right)

    def and_(self, meta: Any, left: Any, right: Any) -> ast.Connective:
        return ast.Connective(span=_span_of(meta), op="and", left=left, right=right)

    def not_(self, meta: Any, operand: Any) -> ast.Not:
        return ast.Not(span=_span_of(meta), operand=operand)

    def quantified(self, meta: Any, quantifier: str, names: list[ast.Ident], domain: ast.Domain,
                   body: Any) -> ast.Quantified:
        return ast.Quantified(span=_span_of(meta), quantifier=quantifier, variables=names, domain=domain, body=body)

    def quantifier(self, meta: Any, token: Token) -> str:
        return str(token)

    def bound_names(self, meta: Any, *names: Token) -> list[ast.Ident]:
        return [_ident(n) for n in names]

    def domain(self, meta: Any, name: Token, where: ast.WhereFilter | None) -> ast.Domain:
        return ast.Domain(span=_span_of(meta), name=_ident(name), where=where)

    def _where(self, meta: Any, attribute: Token, op: Token, value: ast.AttrValue) -> ast.WhereFilter:
        return ast.WhereFilter(span=_span_of(meta), attribute=_ident(attribute), op=str(op), value=value)

    domain_where = _where
    arg_where = _where

    def compare(self, meta: Any, left: Any, op: Token, right: Any) -> ast.Compare:
        return ast.Compare(span=_span_of(meta), op=str(op), left=left, right=right)

    def in_range(self, meta: Any, value: Any, low: Any, high: Any) -> ast.InRange:
        return ast.InRange(span=_span_of(meta), value=value, low=low, high=high)

    def mapping(self, meta: Any, source: ast.AttrRef, target: ast.AttrRef, *entries: ast.MappingEntry) -> ast.Mapping:
        return ast.Mapping(span=_span_of(meta), source=source, target=target, entries=list(entries))

    def mapping_entry(self, meta: Any, source: ast.AttrValue, target: ast.AttrValue) -> ast.MappingEntry:
        return ast.MappingEntry(span=_span_of(meta), source=source, target=target)

    def attr_path(self, meta: Any, owner: Token, attribute: Token) -> ast.AttrRef:
        return ast.AttrRef(span=_span_of(meta), owner=_ident(owner), attribute=_ident(attribute))

    attr_ref = attr_path

    def binary(self, meta: Any, left: Any, op: str, right: Any) -> ast.Binary:
        return ast.Binary(span=_span_of(meta), op=op, left=left, right=right)

    def add_op(self, meta: Any, token: Token) -> str:
        return str(token)

    mul_op = add_op

    def negate(self, meta: Any, operand: Any) -> ast.Negate:
        return ast.Negate(span=_span_of(meta), operand=operand)

    def number(self, meta: Any, token: Token) -> ast.NumberLit:
        return ast.NumberLit(span=_span_of(meta), value=self._literal(token), text=str(token),
                             is_int=token.type == "INT")

    def true_lit(self, meta: Any) -> ast.BoolLit:
        return ast.BoolLit(span=_span_of(meta), value=True)

    def false_lit(self, meta: Any) -> ast.BoolLit:
        return ast.BoolLit(span=_span_of(meta), value=False)

    def call(self, meta: Any, func: Token, *args: Any) -> ast.Call:
        return ast.Call(span=_span_of(meta), func=_ident(func), args=[a for a in args if a is not None])

    def name_ref(self, meta: Any, token: Token) -> ast.NameRef:
        return ast.NameRef(span=_span_of(meta), name=str(token))

    def cell_ref(self, meta: Any, region: Token, row: Token, col: Token) -> ast.CellRef:
        return ast.CellRef(span=_span_of(meta), region=_ident(region), row=self._index(row), col=self._index(col))

    def _index(self, token: Token) -> int:
        """A cell index; one a float cannot hold is reported and read as 0 (outside every grid)."""
        return 0 if math.isinf(self._literal(token)) else int(token)

    def qualified_arg(self, meta: Any, target: Any, region: Any, where: ast.WhereFilter | None) -> ast.QualifiedArg:
        return ast.QualifiedArg(span=_span_of(meta), target=target, region=region, where=where)

    def qualified_arg_where(self, meta: Any, target: Any, where: ast.WhereFilter) -> ast.QualifiedArg:
        return ast.QualifiedArg(span=_span_of(meta), target=target, region=None, where=where)

    def ordered_arg(self, meta: Any, target: Any, key: Token) -> ast.OrderedArg:
        return ast.OrderedArg(span=_span_of(meta), target=target, key=_ident(key))

    def sequence_compare(self, meta: Any, call: ast.Call, attribute: Token, op: Token,
                         values: list[ast.AttrValue]) -> ast.SequenceCompare:
        return ast.SequenceCompare(span=_span_of(meta), call=call, attribute=_ident(attribute), op=str(op),
                                   values=values)


def parse(source: str, file: str = "<string>") -> ast.Program:
    """Parse a rules text into a Program; raise RulesSyntaxError listing every syntax error."""
    program, diagnostics = parse_collecting(source, file)
    if diagnostics:
        raise RulesSyntaxError(diagnostics, source)
    return program


def parse_collecting(source: str, file: str = "<string>") -> tuple[ast.Program, list[Diagnostic]]:
    """Parse what can be parsed; return the program of the good declarations and the syntax errors
    (number literals a float cannot hold among them, E108).

    The whole text is parsed at once; only when that fails is it re-parsed one top-level
    declaration at a time, so each broken declaration gets its own diagnostic and the good
    ones still reach the checker.
    """
    comments: list[Token] = []
    bag = DiagnosticBag(file)
    try:
        items = _transform(_parse_tree(source, comments), bag)
        return _program(source, file, items, comments), bag.sorted()
    except UnexpectedInput:
        pass
    bag = DiagnosticBag(file)
    items, comments = [], []
    bounds = _declaration_bounds(source)
    for index, (start, end) in enumerate(bounds):
        masked = _blank(source[:start]) + source[start:end]
        chunk_comments: list[Token] = []
        try:
            items.extend(_transform(_parse_tree(masked, chunk_comments), bag))
            comments.extend(chunk_comments)
        except UnexpectedInput as error:
            is_last = index == len(bounds) - 1
            bag.items.append(_syntax_diagnostic(error, source, file, chunk_end=None if is_last else end))
            comments.extend(_comments_between(source, start, end))
    return _program(source, file, items, comments), bag.sorted()


def empty_program(source: str, file: str) -> ast.Program:
    """The program of a text nothing could be read from (its span covers the whole text)."""
    return _program(source, file, [], [])


def _program(source: str, file: str, items: list[Any], comments: list[Token]) -> ast.Program:
    return ast.Program(
        span=ast.Span(line=1, column=1, end_line=source.count("\n") + 1, end_column=1,
                      start_pos=0, end_pos=len(source)),
        items=items,
        comments=[ast.Comment(span=_span_of(c), text=str(c)) for c in comments],
        source_name=file,
    )


def _blank(text: str) -> str:
    """The same text with every character but newlines turned into spaces (positions stay true)."""
    return re.sub(r"[^\n]", " ", text)


def _declaration_bounds(source: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level declaration: it runs to the next line that starts one."""
    starts = [m.start() for m in _TOP_LEVEL_LINE.finditer(source)]
    if not starts or _blank_or_comments(source[:starts[0]]) is False:
        starts = [0, *starts]
    ends = starts[1:] + [len(source)]
    return list(zip(starts, ends))


def _blank_or_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("#") for line in text.splitlines())


def _parse_tree(text: str, comments: list[Token]) -> Tree:
    _comment_sink[0] = comments
    try:
        return _lark().parse(text)
    finally:
        _comment_sink[0] = []


def _transform(tree: Tree, bag: DiagnosticBag) -> list[Any]:
    try:
        return _ToAst(bag).transform(tree)
    except VisitError as error:  # keep the original error, with its position
        raise error.orig_exc from None


_COMMENT_RE = re.compile(r"#[^\n]*")


def _comments_between(source: str, start: int, end: int | None) -> list[Token]:
    """Comments inside a broken declaration, found by a plain scan (strings aside)."""
    text = source[start:end]
    found: list[Token] = []
    for match in _COMMENT_RE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if text[line_start:match.start()].count('"') % 2:
            continue
        pos = start + match.start()
        line = source.count("\n", 0, pos) + 1
        column = pos - (source.rfind("\n", 0, pos) + 1) + 1
        text = match.group()
        found.append(Token("COMMENT", text, pos, line, column, line, column + len(text), pos + len(text)))
    return found


def _describe_expected(expected: set[str]) -> str:
    parser = _lark()
    words: list[str] = []
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            words.append(name.lower())
            continue
        words.append(f"`{pattern.value}`" if pattern.type == "str" else name.lower())
    words = sorted(set(words))
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


def _syntax_diagnostic(error: UnexpectedInput, source: str, file: str, chunk_end: int | None = None) -> Diagnostic:
    bag = DiagnosticBag(file)
    if isinstance(error, UnexpectedCharacters):
        char = source[error.pos_in_stream] if error.pos_in_stream < len(source) else ""
        span = _point_span(error.line, error.column, error.pos_in_stream)
        if char == '"':
            bag.error("E103", "this text is never closed: a quoted prompt must end with `\"` on the same line", span,
                      help='write the prompt as "a red pushpin" on one line')
        elif not char.isprintable() or char.isspace():
            bag.error("E101", f"unexpected invisible character U+{ord(char):04X}; expected "
                      f"{_describe_expected(error.allowed)}", span,
                      help="delete it (an editor that shows invisible characters helps); save the file as plain UTF-8")
        elif not char.isascii():
            bag.error("E101", f"unexpected character `{char}` (U+{ord(char):04X}); expected "
                      f"{_describe_expected(error.allowed)}", span,
                      help="names use ASCII letters, digits and `_` only; other characters may appear inside "
                           "\"quoted prompts\" and # comments")
        else:
            bag.error("E101", f"unexpected character `{char}`; expected {_describe_expected(error.allowed)}", span)
        return bag.items[0]
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        expected = _describe_expected(set(getattr(error, "accepts", None) or error.expected))
        if chunk_end is not None:  # the declaration stops before the next one starts
            pos = len(source[:chunk_end].rstrip())
            line = source.count("\n", 0, pos) + 1
            column = pos - (source.rfind("\n", 0, pos) + 1)
            bag.error("E101", f"this declaration is incomplete; expected {expected} before the next declaration",
                      _point_span(line, max(column, 1), pos), help="finish it, or close what it opened")
            return bag.items[0]
        pos = len(source.rstrip())
        line = source.count("\n", 0, pos) + 1
        column = pos - (source.rfind("\n", 0, pos) + 1) + 1
        span = _point_span(line, column, pos)
        bag.error("E102", f"the file ends too early; expected {expected}", span,
                  help="finish the last declaration (a closing `)`, `]` or `}` may be missing)")
        return bag.items[0]
    assert isinstance(error, UnexpectedToken)
    token = error.token
    span = _span_of(token)
    expected = set(getattr(error, "accepts", None) or error.expected)
    text = str(token)
    if text in RESERVED_WORDS and "NAME" in expected:
        bag.error("E105", f"`{text}` is a reserved word and cannot be used as a name", span,
                  help=f"choose another name, for example `{text}_`")
    elif token.type == "EQUAL" and "COMP_OP" in expected:
        bag.error("E104", "`=` assigns a setting; to compare, write `==`", span, help="write `==` instead of `=`")
    elif "COLON" in expected and not (expected - {"COLON", "WEIGHT", "HARD", "SOFT"}):
        bag.error("E106", f"a rule name must be followed by `:`; found `{text}`", span,
                  help="write `rule NAME: condition`")
    else:
        bag.error("E101", f"unexpected `{text}`; expected {_describe_expected(expected)}", span)
    return bag.items[0]


def _point_span(line: int, column: int, pos: int) -> ast.Span:
    return ast.Span(line=line, column=column, end_line=line, end_column=column + 1, start_pos=pos, end_pos=pos + 1)
