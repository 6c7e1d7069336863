"""What each rule measures on good images: the numbers a rules author sets bounds from.

`area(c) <= 0.034`, `top(juice) in [0.28, 0.38]`: every bound in a rules file is a guess about
good products until it is compared with what good products measure. `dire measure` reads the
rules on images known to be good (the annotated masks of a split, or a trained run's own
grounding of its validation normals) and gives, for every comparison and range, the spread of
the measured side, the bound, and the room the bound leaves: a bound inside the normal spread
raises false alarms (or gets its rule pruned), one far outside it lets anomalies through.

Inside `A implies B` with one atom in `A` (`c.color == yellow implies length(k) < 0.185`),
B's values are counted only where A holds, since elsewhere the rule does not ask for B. Atoms
under `or`, `not` or `exists` need not hold everywhere; their readings say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from dire_dsl.grounding.annotations import mentions_any
from dire_dsl.lang import ir
from dire_dsl.lang.ir import constant_value
from dire_dsl.logic.atoms import Atom
from dire_dsl.logic.compiler import CompiledRules, compile_program
from dire_dsl.logic.grounding import Grounding

MEMBER_WEIGHT = 0.5
"""A quantified member counts when its weight (an instance's presence, a cell's share) is at
least this, as in `dire explain`."""

HOLDS = 0.5
"""An atom or rule holds on a member when its truth is at least this."""

_ATOM_NODES = (ir.Comparison, ir.Range, ir.AttributeIs, ir.AttributeSame, ir.Table, ir.Predicate)


Place = tuple[int, int, str]
"""Where an atom is: (line, column) of its text, and the text itself, since one written form
(`sorted(...)`, `distinct(...)`) stands for several tests at one place."""


def place(node: ir.IRNode | Atom) -> Place:
    return node.span.line, node.span.column, node.text


@dataclass(frozen=True)
class Context:
    """Where an atom sits in its rule: the atom that must hold for it to matter (if any), and
    whether it is one alternative among others (under or, not, exists)."""

    condition: Place | None = None
    condition_text: str = ""
    optional: bool = False


def atom_contexts(formula: ir.Formula) -> dict[Place, Context]:
    """Each atom's context, keyed by its place."""
    found: dict[Place, Context] = {}

    def walk(node: ir.Formula, context: Context) -> None:
        if isinstance(node, _ATOM_NODES):
            found[place(node)] = context
        elif isinstance(node, ir.Not):
            walk(node.operand, Context(context.condition, context.condition_text, True))
        elif isinstance(node, ir.Quantifier):
            optional = context.optional or node.quantifier == "exists"
            walk(node.body, Context(context.condition, context.condition_text, optional))
        elif isinstance(node, ir.Connective):
            if node.op == "implies":
                walk(node.left, Context(optional=True))
                antecedent = list(_atoms(node.left))
                if len(antecedent) == 1 and context.condition is None:
                    only = antecedent[0]
                    context = Context(place(only), only.text, context.optional)
                elif antecedent:
                    context = Context(context.condition, context.condition_text, True)
                walk(node.right, context)
            else:
                branch = Context(context.condition, context.condition_text, context.optional or node.op == "or")
                walk(node.left, branch)
                walk(node.right, branch)

    walk(formula, Context())
    return found


def _atoms(node: ir.Formula) -> Iterator[ir.IRNode]:
    if isinstance(node, _ATOM_NODES):
        yield node
    elif isinstance(node, ir.Not):
        yield from _atoms(node.operand)
    elif isinstance(node, ir.Quantifier):
        yield from _atoms(node.body)
    elif isinstance(node, ir.Connective):
        yield from _atoms(node.left)
        yield from _atoms(node.right)


@dataclass
class AtomReading:
    """One comparison or range of a rule, measured on every counted member of every image."""

    rule: str
    text: str
    line: int
    column: int
    measured: str  # the measured side (`lhs - rhs` when both sides are measured)
    op: str  # <=, <, >=, >, ==, !=, in
    bound: tuple[float, ...]  # one number, or (low, high) for `in`
    context: Context
    values: list[float] = field(default_factory=list)
    holds: list[bool] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | None]:
        """Spread of the measured side, and the room the bound leaves (negative: it cuts in)."""
        if not self.values:
            return {"n": 0, "min": None, "p5": None, "median": None, "p95": None, "max": None,
                    "holds": None, "room": None}
        v = np.asarray(self.values)
        return {"n": int(v.size), "min": float(v.min()), "p5": float(np.percentile(v, 5)),
                "median": float(np.median(v)), "p95": float(np.percentile(v, 95)), "max": float(v.max()),
                "holds": float(np.mean(self.holds)), "room": self.room()}

    def room(self) -> float | None:
        """How far the normal values stay from the bound: bound − max for <=/<, min − bound for
        >=/>, the smaller of both sides for `in`; None for == and != (no margin to speak of)."""
        if not self.values:
            return None
        low, high = min(self.values), max(self.values)
        if self.op in ("<=", "<"):
            return self.bound[0] - high
        if self.op in (">=", ">"):
            return low - self.bound[0]
        if self.op == "in":
            return min(low - self.bound[0], self.bound[1] - high)
        return None


@dataclass
class RuleReading:
    rule: str
    line: int
    truths: list[float] = field(default_factory=list)
    atoms: list[AtomReading] = field(default_factory=list)

    @property
    def holds_on(self) -> int:
        return sum(t >= HOLDS for t in self.truths)


def constant_bounds(formula: ir.Formula) -> dict[Place, tuple[float | None, ...]]:
    """Each comparison's right side and each range's ends as numbers (None where measured),
    keyed by the atom's place: constants as the compiler folds them (`-0.1`, `1 / 3`)."""
    bounds: dict[Place, tuple[float | None, ...]] = {}
    for node in _atoms(formula):
        if isinstance(node, ir.Comparison):
            bounds[place(node)] = (constant_value(node.right),)
        elif isinstance(node, ir.Range):
            bounds[place(node)] = (constant_value(node.low), constant_value(node.high))
    return bounds


def _bound_of(atom: Atom, bound: tuple[float | None, ...]) -> tuple[str, str, tuple[float, ...], Tensor] | None:
    """(measured text, op, bound, measured values) of a comparison or of a range with constant
    ends; None for atoms that measure nothing (attribute tests, tables, relations)."""
    if atom.kind == "comparison":
        (left, lv), (right, rv) = atom.terms
        if bound[0] is not None:
            return left, atom.op, (bound[0],), lv
        return f"{left} - ({right})", atom.op, (0.0,), lv - rv
    if atom.kind == "range" and None not in bound:
        return atom.terms[0][0], "in", tuple(b for b in bound if b is not None), atom.terms[0][1]
    return None


def _aligned(condition: Atom, atom: Atom) -> Tensor | None:
    """The condition's truth broadcast over the atom's axes, or None when its variables are
    not all the atom's (it then cannot say which of the atom's members it applies to)."""
    names = [axis.var for axis in atom.axes]
    mine = [axis.var for axis in condition.axes]
    if any(var not in names for var in mine):
        return None
    truth = condition.truth.detach().float().cpu()
    order = sorted(range(len(mine)), key=lambda i: names.index(mine[i]))
    truth = truth.permute(0, *(i + 1 for i in order))
    shape = [truth.shape[0]] + [1] * len(names)
    for i in order:
        shape[names.index(mine[i]) + 1] = condition.truth.shape[i + 1]
    return truth.reshape(shape).expand(atom.truth.shape)


class RulesReader:
    """Accumulates readings batch by batch (groundings may come from several batches)."""

    def __init__(self, program: ir.CheckedProgram, skip_attributes: set[str] | None = None) -> None:
        self.rules: CompiledRules = compile_program(program)
        self.skipped = [rule.name for rule in program.rules if mentions_any(rule, skip_attributes or set())]
        self.readings = {rule.name: RuleReading(rule.name, rule.span.line)
                         for rule in program.rules if rule.name not in self.skipped}
        self._contexts = {rule.name: atom_contexts(rule.formula) for rule in program.rules}
        self._bounds = {rule.name: constant_bounds(rule.formula) for rule in program.rules}
        self._atoms: dict[tuple[str, int, int, str], AtomReading] = {}
        self.images = 0

    def add(self, grounding: Grounding) -> None:
        with torch.no_grad():
            output = self.rules(grounding)
        self.images += grounding.batch_size
        for index, name in enumerate(output.rules):
            if name not in self.readings:
                continue
            reading = self.readings[name]
            reading.truths.extend(output.truth[:, index].float().cpu().tolist())
            atoms = output.atoms.get(name, [])
            by_place = {place(a): a for a in atoms}
            for atom in atoms:
                self._add_atom(reading, atom, by_place)

    def _add_atom(self, reading: RuleReading, atom: Atom, by_place: dict[Place, Atom]) -> None:
        where = place(atom)
        described = _bound_of(atom, self._bounds[reading.rule].get(where, (None,)))
        if described is None:
            return
        measured, op, bound, values = described
        key = (reading.rule, *where)
        context = self._contexts[reading.rule].get(where, Context())
        if key not in self._atoms:
            self._atoms[key] = AtomReading(reading.rule, atom.text, atom.span.line, atom.span.column, measured, op,
                                           bound, context)
            reading.atoms.append(self._atoms[key])
        target = self._atoms[key]
        counted = atom.member_weights() >= MEMBER_WEIGHT
        if context.condition is not None and context.condition in by_place:
            condition = _aligned(by_place[context.condition], atom)
            if condition is not None:
                counted = counted & (condition >= HOLDS)
        values = values.detach().float().cpu().expand(atom.truth.shape)
        keep = counted & torch.isfinite(values)
        target.values.extend(values[keep].tolist())
        target.holds.extend((atom.truth.detach().float().cpu()[keep] >= HOLDS).tolist())


def read_rules(program: ir.CheckedProgram, groundings: Iterable[Grounding],
               skip_attributes: set[str] | None = None) -> RulesReader:
    """Every rule and measured atom of `program` read on the given (good) images."""
    reader = RulesReader(program, skip_attributes)
    for grounding in groundings:
        reader.add(grounding)
    return reader

