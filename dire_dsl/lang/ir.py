"""The checked program: every name resolved, every node typed. The logic layer compiles this.

Where the AST says what was written, the IR says what it means: `count(pin in c)` is a
Measure over an ObjectSet narrowed to the cell bound to `c`; `a.clamps == b.clamps` is an
AttributeSame between two attribute distributions. Each node keeps its span and source text so
that explanations can quote the rule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dire_dsl.lang.ast import Span
from dire_dsl.lang.limits import MAX_GRID_CELLS, MAX_GRID_SIDE, MAX_PROGRAM_CELLS, MAX_RULE_CELLS


class IRNode(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    span: Span
    text: str


class Filter(BaseModel):
    """Keep instances whose `attribute` is (op `==`) or is not (op `!=`) `value`."""

    model_config = ConfigDict(frozen=True)

    attribute: str
    op: Literal["==", "!="]
    value: str


# ---------------------------------------------------------------- terms
class RegionSelection(IRNode):
    """A whole region, one fixed cell of a grid (`cell`, 0-based), or the cell bound to `var`."""

    kind: Literal["region"] = "region"
    region: str
    cell: tuple[int, int] | None = None
    var: str | None = None


class ObjectSet(IRNode):
    kind: Literal["objects"] = "objects"
    object: str
    region: RegionSelection | None = None
    where: Filter | None = None


class Instance(IRNode):
    """The instance bound to quantifier variable `var` (an instance of `object`)."""

    kind: Literal["instance"] = "instance"
    var: str
    object: str


class Constant(IRNode):
    kind: Literal["const"] = "const"
    value: float
    integer: bool = False


class Measure(IRNode):
    """A registered measurement (count, area, x, ...) or a plugin one; returns a number."""

    kind: Literal["measure"] = "measure"
    func: str
    args: list[Term]
    integer: bool = False


class Arithmetic(IRNode):
    """`left op right` on numbers; `constant` is its value when both sides are literals (the checker folds it)."""

    kind: Literal["arith"] = "arith"
    op: Literal["+", "-", "*", "/"]
    left: Term
    right: Term
    constant: float | None = None


class Negation(IRNode):
    """`-operand` on a number (a negated literal is folded into a Constant); logical negation is `Not`."""

    kind: Literal["neg"] = "neg"
    operand: Term
    constant: float | None = None


class AttributeDistribution(IRNode):
    """The distribution of `attribute` over `values`, for one instance or a whole object."""

    kind: Literal["attr"] = "attr"
    subject: Instance | ObjectSet
    attribute: str
    values: list[str]


Term = Annotated[
    RegionSelection | ObjectSet | Instance | Constant | Measure | Arithmetic | Negation | AttributeDistribution,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------- formulas
class Truth(IRNode):
    kind: Literal["truth"] = "truth"
    value: bool


class Comparison(IRNode):
    """`left op right`; `integer` when both sides are whole numbers (counts), whose `==` needs no scale."""

    kind: Literal["cmp"] = "cmp"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Term
    right: Term
    integer: bool = False


class Range(IRNode):
    kind: Literal["range"] = "range"
    value: Term
    low: Term
    high: Term


class AttributeIs(IRNode):
    """`subject.attribute == value` (or `!=`): the probability mass on `value`."""

    kind: Literal["attr_is"] = "attr_is"
    subject: AttributeDistribution
    value: str
    negated: bool = False


class AttributeSame(IRNode):
    """`a.attr == b.attr` (or `!=`): the probability that both take the same value."""

    kind: Literal["attr_same"] = "attr_same"
    left: AttributeDistribution
    right: AttributeDistribution
    negated: bool = False


class Table(IRNode):
    """`src -> dst { a: x, ... }`: the probability that the pair of values is in the table."""

    kind: Literal["table"] = "table"
    source: AttributeDistribution
    target: AttributeDistribution
    pairs: list[tuple[str, str]]


class Predicate(IRNode):
    """A registered relation or plugin predicate; returns a truth value."""

    kind: Literal["predicate"] = "predicate"
    func: str
    args: list[Term]


class Not(IRNode):
    kind: Literal["not"] = "not"
    operand: Formula


class Connective(IRNode):
    kind: Literal["connective"] = "connective"
    op: Literal["and", "or", "implies"]
    left: Formula
    right: Formula


class Domain(BaseModel):
    """Instances of an object (maybe filtered) or cells of a region."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["objects", "cells"]
    name: str
    where: Filter | None = None


class Quantifier(IRNode):
    """`forall`/`exists` over one variable, or over ordered pairs of distinct members for two."""

    kind: Literal["quant"] = "quant"
    quantifier: Literal["forall", "exists"]
    variables: list[str]
    domain: Domain
    body: Formula


Formula = Annotated[
    Truth | Comparison | Range | AttributeIs | AttributeSame | Table | Predicate | Not | Connective | Quantifier,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------- program
class ObjectDef(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    prompts: list[str]
    attributes: dict[str, list[str]] = {}


class RegionDef(BaseModel):
    """A region in normalised image coordinates: a box, split into rows × cols cells."""

    model_config = ConfigDict(frozen=True)

    name: str
    box: tuple[float, float, float, float]
    rows: int = Field(1, ge=1, le=MAX_GRID_SIDE)
    cols: int = Field(1, ge=1, le=MAX_GRID_SIDE)

    @model_validator(mode="after")
    def _bounded(self) -> RegionDef:
        """Each cell is a pixel mask: refuse grids beyond the documented limit (see `limits`)."""
        if self.cells > MAX_GRID_CELLS:
            raise ValueError(f"grid `{self.name}` has {self.cells} cells; at most {MAX_GRID_CELLS} are allowed")
        return self

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    def cell_box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """The box of cell (row, col), 0-based, in image coordinates."""
        x0, y0, x1, y1 = self.box
        width, height = (x1 - x0) / self.cols, (y1 - y0) / self.rows
        return (x0 + col * width, y0 + row * height, x0 + (col + 1) * width, y0 + (row + 1) * height)


class RuleDef(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    weight: float
    hard: bool
    formula: Formula
    span: Span
    source: str


class CheckedProgram(BaseModel):
    """A rules file that passed the checker: what the logic layer and training consume."""

    model_config = ConfigDict(frozen=True)

    category: str
    objects: list[ObjectDef]
    regions: list[RegionDef]
    rules: list[RuleDef]
    train: dict[str, Any]
    logic: dict[str, Any]
    source_name: str
    source_sha256: str

    @model_validator(mode="after")
    def _bounded(self) -> CheckedProgram:
        """The checker's E318 limits, enforced again for programs built or loaded without it."""
        problem = region_cells_problem(self.regions)
        if problem is not None:
            raise ValueError(problem)
        regions = {region.name: region for region in self.regions}
        for rule in self.rules:
            if (iterated := cells_iterated(rule.formula, regions)) > MAX_RULE_CELLS:
                raise ValueError(f"rule `{rule.name}` iterates {iterated} grid cells; "
                                 f"at most {MAX_RULE_CELLS} are allowed")
        return self

    def object(self, name: str) -> ObjectDef:
        return next(o for o in self.objects if o.name == name)

    def region(self, name: str) -> RegionDef:
        return next(r for r in self.regions if r.name == name)


def constant_value(term: Any) -> float | None:
    """The value of a constant term (a number, maybe negated or combined, as the checker folded it), else None."""
    if isinstance(term, Constant):
        return term.value
    if isinstance(term, (Arithmetic, Negation)):
        return term.constant
    return None


EMPTY_IS_ZERO = frozenset({"count", "area"})
"""Measurements with a value on an empty set (0 parts, 0 area). Every other measurement of a
set (a position, an extent, a length, a plugin's) has none, and a test that uses one, like
every relation and attribute test about a set, is false while the set is empty: a missing part
never makes a rule hold by itself (docs/language.md, "Empty sets")."""


def measured_sets(term: Any) -> list[ObjectSet]:
    """Object sets a term measures with something that has no value on an empty set."""
    if isinstance(term, Measure):
        inner = [found for arg in term.args for found in measured_sets(arg)]
        if term.func in EMPTY_IS_ZERO:
            return inner
        return [arg for arg in term.args if isinstance(arg, ObjectSet)] + inner
    if isinstance(term, Arithmetic):
        return measured_sets(term.left) + measured_sets(term.right)
    if isinstance(term, Negation):
        return measured_sets(term.operand)
    return []


def region_cells_problem(regions: list[RegionDef]) -> str | None:
    """Why a file's regions hold too many cells together, or None (each region becomes that many masks)."""
    total = sum(region.cells for region in regions)
    if total > MAX_PROGRAM_CELLS:
        return f"the regions hold {total} cells together; at most {MAX_PROGRAM_CELLS} are allowed"
    return None


def cells_iterated(formula: Any, regions: dict[str, RegionDef]) -> int:
    """The most grid cells one evaluation of `formula` iterates: nested cell quantifiers multiply,
    a pair of variables counts cells²; instance quantifiers are bounded by the model's slots."""
    if isinstance(formula, Quantifier):
        inner = cells_iterated(formula.body, regions)
        if formula.domain.kind != "cells" or formula.domain.name not in regions:
            return inner
        return regions[formula.domain.name].cells ** len(formula.variables) * inner
    if isinstance(formula, Connective):
        return max(cells_iterated(formula.left, regions), cells_iterated(formula.right, regions))
    if isinstance(formula, Not):
        return cells_iterated(formula.operand, regions)
    return 1
