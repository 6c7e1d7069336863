"""The typed syntax tree of a `.rules` file: pydantic models, every node with its span.

The tree says what was written, not whether it makes sense: the checker
(`dire_dsl.lang.check`) decides that. Expression nodes carry a `kind` literal so that
the JSON form of a tree is self-describing and round-trips through pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Span(BaseModel):
    """Where a node came from: 1-based line/column of its first and last character."""

    model_config = ConfigDict(frozen=True)

    line: int
    column: int
    end_line: int
    end_column: int
    start_pos: int = 0
    end_pos: int = 0


class Node(BaseModel):
    """Base of every AST node.

    Schemas are built on first use (defer_build), so `dire check` pays only for the node
    classes a file actually contains.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    span: Span


class Ident(Node):
    """A name as written, with its own span so that carets point at it exactly."""

    text: str


# ---------------------------------------------------------------- expressions
class NumberLit(Node):
    kind: Literal["number"] = "number"
    value: float
    text: str
    is_int: bool


class BoolLit(Node):
    kind: Literal["bool"] = "bool"
    value: bool


class NameRef(Node):
    """A bare name: an object, a region, a bound variable or an attribute value."""

    kind: Literal["name"] = "name"
    name: str


class CellRef(Node):
    """One cell of a grid region, `cell[row, col]`, 1-based."""

    kind: Literal["cell"] = "cell"
    region: Ident
    row: int
    col: int


class AttrRef(Node):
    """`owner.attribute`, where owner is a bound variable or an object name."""

    kind: Literal["attr"] = "attr"
    owner: Ident
    attribute: Ident


class AttrValue(Node):
    """A value of an attribute as written in a declaration, a filter or a table."""

    text: str
    is_int: bool


class WhereFilter(Node):
    """`where attribute == value`: keeps instances whose attribute has (or lacks) the value."""

    attribute: Ident
    op: Literal["==", "!=", "<", "<=", ">", ">="]  # the checker accepts only == and !=
    value: AttrValue


class QualifiedArg(Node):
    """A call argument narrowed to a region and/or by an attribute: `pin in cell[1,2] where ...`."""

    kind: Literal["qualified"] = "qualified"
    target: Expr
    region: NameRef | CellRef | None = None
    where: WhereFilter | None = None


class OrderedArg(Node):
    """`pin by x`: a set of objects taken in order of a coordinate (only inside `sorted(...)`)."""

    kind: Literal["ordered"] = "ordered"
    target: Expr
    key: Ident


class Call(Node):
    """A measurement, relation or plugin predicate: `count(pushpin)`, `touches(a, b)`."""

    kind: Literal["call"] = "call"
    func: Ident
    args: list[Expr]


class Negate(Node):
    kind: Literal["negate"] = "negate"
    operand: Expr


class Binary(Node):
    """Arithmetic between numbers."""

    kind: Literal["binary"] = "binary"
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


class Compare(Node):
    kind: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Expr
    right: Expr


class InRange(Node):
    """`value in [low, high]`, both ends included."""

    kind: Literal["in_range"] = "in_range"
    value: Expr
    low: Expr
    high: Expr


class MappingEntry(Node):
    source: AttrValue
    target: AttrValue


class Mapping(Node):
    """`src.attr -> dst.attr { a: x, b: y }`: the pair of attribute values must be in the table."""

    kind: Literal["mapping"] = "mapping"
    source: AttrRef
    target: AttrRef
    entries: list[MappingEntry]


class SequenceCompare(Node):
    """`sorted(item by x).color == [red, orange, yellow]`: the attribute values in that order."""

    kind: Literal["sequence"] = "sequence"
    call: Call
    attribute: Ident
    op: Literal["==", "!=", "<", "<=", ">", ">="]  # the checker accepts only ==
    values: list[AttrValue]


class Not(Node):
    kind: Literal["not"] = "not"
    operand: Expr


class Connective(Node):
    """`and`, `or`, `implies` between two truth values."""

    kind: Literal["connective"] = "connective"
    op: Literal["and", "or", "implies"]
    left: Expr
    right: Expr


class Domain(Node):
    """What a quantifier ranges over: the instances of an object (optionally filtered) or the cells of a region."""

    name: Ident
    where: WhereFilter | None = None


class Quantified(Node):
    kind: Literal["quantified"] = "quantified"
    quantifier: Literal["forall", "exists"]
    variables: list[Ident]
    domain: Domain
    body: Expr


Expr = Annotated[
    NumberLit | BoolLit | NameRef | CellRef | AttrRef | QualifiedArg | OrderedArg | Call | Negate | Binary | Compare
    | InRange | Mapping | SequenceCompare | Not | Connective | Quantified,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------- declarations
class CategoryDecl(Node):
    kind: Literal["category"] = "category"
    name: Ident


class ObjectDecl(Node):
    kind: Literal["object"] = "object"
    name: Ident
    prompts: list[str]


class AttributeDecl(Node):
    kind: Literal["attribute"] = "attribute"
    owner: Ident
    name: Ident
    values: list[AttrValue]


class RegionShape(Node):
    """`grid(r, c)`, `box(x0, y0, x1, y1)` or a named part such as `left`."""

    func: Ident
    args: list[NumberLit] | None = None


class RegionDecl(Node):
    kind: Literal["region"] = "region"
    name: Ident
    shape: RegionShape


class RuleDecl(Node):
    kind: Literal["rule"] = "rule"
    name: Ident
    weight: NumberLit | None = None
    hardness: Literal["hard", "soft"] | None = None
    body: Expr


class Setting(Node):
    key: Ident
    value: float | int | str | bool
    text: str


class SettingsBlock(Node):
    """`train { ... }` or `logic { ... }`: typed key/value settings for the category."""

    kind: Literal["settings"] = "settings"
    block: Literal["train", "logic"]
    settings: list[Setting]


Item = Annotated[
    CategoryDecl | ObjectDecl | AttributeDecl | RegionDecl | RuleDecl | SettingsBlock,
    Field(discriminator="kind"),
]


class Comment(Node):
    text: str


class Program(Node):
    """A whole file: its items in source order and its comments (kept for the formatter)."""

    items: list[Item]
    comments: list[Comment] = []
    source_name: str = "<string>"

    def without_spans(self) -> dict[str, Any]:
        """The tree as plain data without positions: equal for texts that mean the same."""
        return _strip(self.model_dump(exclude={"comments", "source_name"}))


def _strip(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in ("span", "text_span")}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data
