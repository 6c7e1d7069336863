"""From checked rules to the edits that break them, reading only the IR (no category names).

Each rule is walked once. A comparison says, for every measurement inside it, which way the
value must move to make the comparison false (`<=` breaks upwards, `==` and ranges both ways;
`ratio` and `-` flip the way for their second operand, `not` flips everything), and each
measurement maps to edits that move it that way:

    count     up: duplicate (into its region or the source's cell), move into its region,
              recolour into its `where`; down: remove, move out of its region (cell),
              recolour out of its `where`; a lower bound (`>=`, `>`) also removes them all
    area      up: scale up (every instance of a set), duplicate;  down: scale down, remove all
    length    scale up / down
    x, y      move past the bounds along the axis (only the part in the region, for `obj in r`);
              top/bottom/left/right also trim inward
    inside    move off the container (out of the region)
    touches   move apart;   left_of / above / ...: move past the partner
    joins     cut the part it goes through in two
    attribute recolour: to another value (`==`), to the value (`!=`), to a value the table or
              the other side does not pair with the partner's value (`->`, `a.x == b.x`)

Only the consequent of an `implies` is broken (breaking the antecedent would need it made
true), and an antecedent `v.a == x` narrows which instances the consequent's edits pick.
Plugin measures and predicates have no edits: their meaning is unknown here. Whether an
edit really breaks its rule on a given image is for `edits_judge` to say.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

from dire_dsl.edits.recipes import (
    Cut,
    Direction,
    Duplicate,
    Edit,
    EditRecipe,
    Goal,
    Mapping,
    Move,
    Place,
    Recolour,
    Remove,
    RemoveAll,
    Scale,
    Selection,
    Trim,
)
from dire_dsl.lang import ir

Scope = dict[str, ir.Domain]

_FLIP: dict[Direction, Direction] = {"up": "down", "down": "up", "both": "both"}
_NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_BREAKS_LEFT: dict[str, Direction] = {"<": "up", "<=": "up", ">": "down", ">=": "down", "==": "both", "!=": "both"}
_ORDER: dict[str, tuple[str, Direction]] = {
    "left_of": ("x", "up"), "right_of": ("x", "down"), "above": ("y", "up"), "below": ("y", "down")}
_INWARD: dict[str, Direction] = {"top": "up", "left": "up", "bottom": "down", "right": "down"}
_POSITIONS = ("x", "y", "left", "right", "top", "bottom")


def plan_edits(program: ir.CheckedProgram) -> list[EditRecipe]:
    """Every edit that breaks some rule of `program`, each naming the rules it breaks."""
    planner = _Planner(program)
    named: dict[Edit, list[str]] = {}
    for rule in program.rules:
        for edit in planner.formula(rule.formula, {}, negated=False):
            names = named.setdefault(edit, [])
            if rule.name not in names:
                names.append(rule.name)
    return [replace(edit, rules=tuple(names)) for edit, names in named.items()]  # type: ignore[misc]


def _holds_within(op: str, other: ir.Term) -> tuple[float, float] | None:
    """Interval where `value op other` holds, when `other` is a constant."""
    if not isinstance(other, ir.Constant):
        return None
    c = other.value
    return {"<": (-math.inf, c), "<=": (-math.inf, c), ">": (c, math.inf), ">=": (c, math.inf),
            "==": (c, c)}.get(op)


def _sign(term: ir.Term) -> int:
    """+1 / -1 for a positive / negative constant, 0 when the sign is unknown."""
    return int(math.copysign(1, term.value)) if isinstance(term, ir.Constant) and term.value else 0


def _signed(direction: Direction, sign: int) -> Direction:
    return direction if sign > 0 else _FLIP[direction] if sign < 0 else "both"


def _wants(direction: Direction, way: Direction) -> bool:
    return direction in (way, "both")


class _Planner:
    def __init__(self, program: ir.CheckedProgram) -> None:
        self.program = program

    # ------------------------------------------------------------ formulas
    def formula(self, node: ir.Formula, scope: Scope, negated: bool) -> Iterator[Edit]:
        if isinstance(node, ir.Comparison):
            op = _NEGATED[node.op] if negated else node.op
            left = _BREAKS_LEFT[op]
            yield from self.term(node.left, left, _holds_within(op, node.right), scope, op in (">", ">="))
            yield from self.term(node.right, _FLIP[left], _holds_within(_MIRRORED[op], node.left), scope,
                                 op in ("<", "<="))
        elif isinstance(node, ir.Range) and not negated:
            bounds = (node.low.value, node.high.value) if isinstance(node.low, ir.Constant) and \
                isinstance(node.high, ir.Constant) else None
            yield from self.term(node.value, "both", bounds, scope, False)
        elif isinstance(node, ir.AttributeIs):
            yield from self.attr_is(node, scope, node.negated != negated)
        elif isinstance(node, ir.AttributeSame):
            pairs = tuple((u, v) for u in node.left.values for v in node.right.values
                          if (u == v) != (node.negated != negated))
            yield from self.pairing(node.left, node.right, pairs, scope)
        elif isinstance(node, ir.Table) and not negated:
            yield from self.pairing(node.source, node.target, tuple(node.pairs), scope)
        elif isinstance(node, ir.Predicate):
            yield from self.predicate(node, scope, negated)
        elif isinstance(node, ir.Not):
            yield from self.formula(node.operand, scope, not negated)
        elif isinstance(node, ir.Connective) and node.op != "implies":
            yield from self.formula(node.left, scope, negated)
            yield from self.formula(node.right, scope, negated)
        elif isinstance(node, ir.Connective) and not negated:
            yield from self.formula(node.right, self.guarded(node.left, scope), negated)
        elif isinstance(node, ir.Quantifier):
            yield from self.formula(node.body, {**scope, **{v: node.domain for v in node.variables}}, negated)

    def guarded(self, condition: ir.Formula, scope: Scope) -> Scope:
        """`v.a == x implies ...`: the consequent's edits pick only instances where `v.a == x`."""
        subject = condition.subject.subject if isinstance(condition, ir.AttributeIs) else None
        if not isinstance(subject, ir.Instance) or condition.negated or subject.var not in scope:
            return scope
        domain = scope[subject.var]
        if domain.where is not None:
            return scope
        guard = ir.Filter(attribute=condition.subject.attribute, op="==", value=condition.value)
        return {**scope, subject.var: domain.model_copy(update={"where": guard})}

    def attr_is(self, node: ir.AttributeIs, scope: Scope, negated: bool) -> Iterator[Edit]:
        dist = node.subject
        target = self.selection(dist.subject, scope)
        values = (node.value,) if negated else tuple(v for v in dist.values if v != node.value)
        if target is not None:
            yield Recolour(target=target, attribute=dist.attribute, values=values)

    def pairing(self, source: ir.AttributeDistribution, target: ir.AttributeDistribution,
                pairs: tuple[tuple[str, str], ...], scope: Scope) -> Iterator[Edit]:
        """Recolour either side to a value not paired with the other side's value."""
        src, dst = self.selection(source.subject, scope), self.selection(target.subject, scope)
        if src is None or dst is None:
            return
        yield Recolour(target=src, attribute=source.attribute, values=tuple(source.values),
                       mapping=Mapping(dst, target.attribute, pairs, recoloured_is_source=True))
        if (src, source.attribute) != (dst, target.attribute):
            yield Recolour(target=dst, attribute=target.attribute, values=tuple(target.values),
                           mapping=Mapping(src, source.attribute, pairs, recoloured_is_source=False))

    def predicate(self, node: ir.Predicate, scope: Scope, negated: bool) -> Iterator[Edit]:
        if node.func == "joins":
            through = self.selection(node.args[0], scope)
            if through is not None and not negated:
                yield Cut(target=through)
            return
        if len(node.args) != 2:
            return
        a, b = node.args
        if node.func in ("touches", "overlaps") and isinstance(b, ir.Instance) and not isinstance(a, ir.Instance):
            a, b = b, a  # move the quantified instance, not the whole set
        mover = self.selection(a, scope)
        if mover is None:
            return
        if node.func == "inside" and isinstance(b, ir.RegionSelection):
            yield Move(target=mover, goal=Goal("enter" if negated else "leave", place=self.place(b)))
            return
        partner = self.selection(b, scope)
        if partner is None:
            return
        if node.func == "inside" and not negated:
            yield Move(target=mover, goal=Goal("off", partner=partner))
        elif node.func in ("touches", "overlaps") and not negated:
            yield Move(target=mover, goal=Goal("apart", partner=partner))
        elif node.func in _ORDER:
            axis, way = _ORDER[node.func]
            yield Move(target=mover, goal=Goal("measure", partner=partner, func=axis,  # type: ignore[arg-type]
                                               direction=_FLIP[way] if negated else way))

    # ------------------------------------------------------------ terms
    def term(self, node: ir.Term, direction: Direction, bounds: tuple[float, float] | None, scope: Scope,
             lower_bound: bool) -> Iterator[Edit]:
        """Edits that move the number `node` in `direction`; `bounds` only for a bare measurement."""
        if isinstance(node, ir.Negation):
            yield from self.term(node.operand, _FLIP[direction], None, scope, False)
        elif isinstance(node, ir.Arithmetic):
            left, right = direction, direction
            if node.op == "-":
                right = _FLIP[direction]
            elif node.op == "*":
                left, right = _signed(direction, _sign(node.right)), _signed(direction, _sign(node.left))
            elif node.op == "/":
                left, right = _signed(direction, _sign(node.right)), _signed(_FLIP[direction], _sign(node.left))
            yield from self.term(node.left, left, None, scope, False)
            yield from self.term(node.right, right, None, scope, False)
        elif isinstance(node, ir.Measure):
            yield from self.measure(node, direction, bounds, scope, lower_bound)

    def measure(self, node: ir.Measure, direction: Direction, bounds: tuple[float, float] | None, scope: Scope,
                lower_bound: bool) -> Iterator[Edit]:
        func, args = node.func, node.args
        if func == "ratio":
            yield from self.term(args[0], direction, None, scope, False)
            yield from self.term(args[1], _FLIP[direction], None, scope, False)
            return
        if func == "abs":
            yield from self.term(args[0], "both", None, scope, False)
            return
        target = self.selection(args[0], scope) if args else None
        if target is None:
            return
        whole = isinstance(args[0], ir.ObjectSet)
        if func == "count":
            yield from self.count(target, direction, lower_bound)
        elif func in ("area", "length"):
            for way in ("up", "down"):
                if _wants(direction, way):
                    yield Scale(target=target, direction=way, func=func, bounds=bounds,  # type: ignore[arg-type]
                                every=func == "area" and whole)
            if func == "area" and whole and _wants(direction, "down"):
                yield RemoveAll(target=target)
            if func == "area" and whole and _wants(direction, "up"):
                yield self.duplicate(target)
        elif func in _POSITIONS:
            anywhere = Selection(target.object, target.where)
            goal = Goal("measure", func=func, direction=direction, bounds=bounds)  # type: ignore[arg-type]
            yield Move(target=anywhere, goal=goal, part=target.place if whole else None)
            if func in _INWARD and _wants(direction, _INWARD[func]):
                yield Trim(target=anywhere, func=func, bounds=bounds)  # type: ignore[arg-type]

    def count(self, target: Selection, direction: Direction, lower_bound: bool) -> Iterator[Edit]:
        place, where = target.place, target.where
        per_cell = place is not None and len(place.boxes) > 1
        if _wants(direction, "down"):
            yield Remove(target=target)
            if place is not None:
                yield Move(target=target, goal=Goal("leave", place=place))
            if lower_bound:
                yield RemoveAll(target=target)
        if _wants(direction, "up"):
            yield self.duplicate(target)
            if place is not None and not per_cell:
                yield Move(target=Selection(target.object, where), goal=Goal("enter", place=place))
        if where is not None:
            values = self.program.object(target.object).attributes[where.attribute]
            passing = tuple(v for v in values if (v == where.value) == (where.op == "=="))
            failing = tuple(v for v in values if v not in passing)
            if _wants(direction, "down"):
                yield Recolour(target=target, attribute=where.attribute, values=failing)
            if _wants(direction, "up"):
                inverted = self.canonical(target.object, ir.Filter(
                    attribute=where.attribute, op="!=" if where.op == "==" else "==", value=where.value))
                yield Recolour(target=replace(target, where=inverted), attribute=where.attribute, values=passing)

    @staticmethod
    def duplicate(target: Selection) -> Duplicate:
        """A copy inside the target's place: from an occupied cell into that cell, else from anywhere."""
        per_cell = target.place is not None and len(target.place.boxes) > 1
        source = target if per_cell else Selection(target.object, target.where)
        return Duplicate(target=source, into=target.place)

    # ------------------------------------------------------------ names
    def place(self, region: ir.RegionSelection | None) -> Place | None:
        if region is None:
            return None
        definition = self.program.region(region.region)
        if region.var is not None:
            cells = [(r, c) for r in range(definition.rows) for c in range(definition.cols)]
            return Place(region.region, tuple(definition.cell_box(r, c) for r, c in cells))
        if region.cell is not None:
            row, col = region.cell  # 0-based here, 1-based as written in the rules
            return Place(f"{region.region}[{row + 1}, {col + 1}]", (definition.cell_box(row, col),))
        return Place(region.region, (definition.box,))

    def selection(self, entity: ir.Term, scope: Scope) -> Selection | None:
        if isinstance(entity, ir.ObjectSet):
            return Selection(entity.object, self.canonical(entity.object, entity.where), self.place(entity.region))
        if isinstance(entity, ir.Instance):
            domain = scope.get(entity.var)
            return Selection(entity.object, self.canonical(entity.object, domain.where if domain else None))
        return None

    def canonical(self, obj: str, where: ir.Filter | None) -> ir.Filter | None:
        """`!= x` over two values is `== y`: equal selections must compare equal to merge."""
        if where is None or where.op == "==":
            return where
        others = [v for v in self.program.object(obj).attributes[where.attribute] if v != where.value]
        return ir.Filter(attribute=where.attribute, op="==", value=others[0]) if len(others) == 1 else where
