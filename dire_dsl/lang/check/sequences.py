"""Order and uniqueness: `sorted(item by x).color == [red, blue]` and `distinct(item.color)`.

Both are written as one call but mean several tests, so the checker spells them out in the
IR that already compiles, differentiates and explains (each piece keeps the call's span and
says in its own text what it checks):

- `distinct(S.attr)`: for every value v of `attr`, `count(S where attr == v) < 1.5` (a soft
  `<` is 1/2 at its bound, so a whole-number bound sits half a part away). Each value
  is its own test, joined by `and`, so one repeated colour is a false rule, not one false pair
  among thirty averaged away (as `forall a, b in S: a.attr != b.attr` is).
- `sorted(S by x).attr == [v1, ..., vn]`: exactly n instances (`count(S) == n`), each listed
  value exactly as often as listed, and every instance of one run of equal values left of
  (`by y`: above) every instance of the next run. A missing or extra part, a duplicated
  value and a swap each break one named piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dire_dsl.lang import ast, ir
from dire_dsl.lang.check.terms import Scope, TermChecker
from dire_dsl.lang.check.typed import ERROR, Typed
from dire_dsl.lang.signatures import ArgKind

ORDER_KEYS = {"x": "left_of", "y": "above"}
"""What `by` may order by, and the relation that says one part comes before another."""
SEQUENCE_FORMS = ("distinct", "sorted")


class SequenceChecker(TermChecker):
    """Adds `distinct(...)` and `sorted(...).attr == [...]` to the terms and formulas."""

    def _x_call(self, node: ast.Call, scope: Scope) -> Typed:
        if node.func.text == "distinct":
            return self._distinct(node, scope)
        if node.func.text == "sorted":
            self.ctx.bag.error("E320", "`sorted(...)` is a sequence of parts; compare one of their attributes with the "
                               "values in order", node.span,
                               help="e.g. `sorted(item by x).color == [red, orange, yellow]`")
            return Typed(ERROR)
        return super()._x_call(node, scope)

    def _x_ordered(self, node: ast.OrderedArg, scope: Scope) -> Typed:
        self.ctx.bag.error("E320", "`by` orders a set of objects only inside `sorted(...)`", node.span,
                           help="e.g. `sorted(item by x).color == [red, orange, yellow]`")
        return Typed(ERROR)

    def _distinct(self, node: ast.Call, scope: Scope) -> Typed:
        usage = "usage: `distinct(item.color)` or `distinct(item.color in tray)`"
        if len(node.args) != 1:
            self.ctx.bag.error("E301", f"`distinct` takes 1 argument, got {len(node.args)}; {usage}", node.span)
            return Typed(ERROR)
        arg = node.args[0]
        attr, region_node = (arg.target, arg.region) if isinstance(arg, ast.QualifiedArg) else (arg, None)
        if not isinstance(attr, ast.AttrRef) or (isinstance(arg, ast.QualifiedArg) and arg.where is not None):
            self.ctx.bag.error("E302", f"`distinct` takes an attribute of a set of objects; "
                               f"`{self.ctx.text(arg.span)}` is not one", arg.span, help=usage)
            return Typed(ERROR)
        found = self._attribute_of_set(attr, region_node, scope)
        if found is None:
            return Typed(ERROR)
        objects, values = found
        attribute = attr.attribute.text
        tests = [_count_test(objects, "<", 1.5, node.span, ir.Filter(attribute=attribute, op="==", value=value))
                 for value in values]
        return Typed(ArgKind.TRUTH, _all(tests, node.span, self.ctx.text(node.span)))

    def _x_sequence(self, node: ast.SequenceCompare, scope: Scope) -> Typed:
        if node.call.func.text != "sorted":
            self.ctx.bag.error("E320", f"only `sorted(...)` gives parts in order; `{node.call.func.text}(...)` does "
                               "not", node.call.func.span,
                               help="e.g. `sorted(item by x).color == [red, orange, yellow]`")
            return Typed(ERROR)
        usage = "usage: `sorted(item by x).color == [red, blue]` (by x: left to right; by y: top to bottom)"
        args = node.call.args
        if len(args) != 1 or not isinstance(args[0], ast.OrderedArg):
            self.ctx.bag.error("E320", "`sorted` takes one set of objects and what to order it by", node.call.span,
                               help=usage)
            return Typed(ERROR)
        ordered = args[0]
        if ordered.key.text not in ORDER_KEYS:
            self.ctx.bag.error("E320", f"parts are ordered `by x` (left to right) or `by y` (top to bottom); "
                               f"not by `{ordered.key.text}`", ordered.key.span, help=usage)
            return Typed(ERROR)
        if node.op != "==":
            self.ctx.bag.error("E320", f"a sequence is compared with `==`, not `{node.op}`", node.span,
                               help="for 'not in this order', write `not sorted(...).attr == [...]`")
            return Typed(ERROR)
        target = ordered.target
        name, region_node = (target.target, target.region) if isinstance(target, ast.QualifiedArg) else (target, None)
        if not isinstance(name, ast.NameRef) or (isinstance(target, ast.QualifiedArg) and target.where is not None):
            self.ctx.bag.error("E302", f"`sorted` orders the instances of an object, maybe in a region; "
                               f"`{self.ctx.text(target.span)}` is not one", target.span, help=usage)
            return Typed(ERROR)
        attr = ast.AttrRef(owner=ast.Ident(text=name.name, span=name.span), attribute=node.attribute, span=node.span)
        found = self._attribute_of_set(attr, region_node, scope)
        if found is None:
            return Typed(ERROR)
        objects, declared = found
        for value in node.values:
            if not self._value_known(value.text, value.span, node.attribute.text, declared):
                return Typed(ERROR)
        runs = _runs([value.text for value in node.values])
        first: dict[str, int] = {}
        for index, (value, _) in enumerate(runs):
            if value in first:
                self.ctx.bag.error("E321", f"`{value}` appears in two places of the list, with other values between; "
                                   "parts of one value cannot be told apart, so that order cannot be checked",
                                   node.span, help="list each value's parts side by side, e.g. [red, red, blue]")
                return Typed(ERROR)
            first[value] = index
        text = self.ctx.text(node.span)
        return Typed(ArgKind.TRUTH, _sequence(objects, node.attribute.text, runs, ORDER_KEYS[ordered.key.text],
                                              node.span, text))

    def _attribute_of_set(self, attr: ast.AttrRef, region_node: Any, scope: Scope
                          ) -> tuple[ir.ObjectSet, list[str]] | None:
        """`obj.attr` (maybe `in` a region) → the object set and the attribute's values; errors reported."""
        owner = attr.owner.text
        if owner not in self.ctx.objects:
            if owner in scope.bindings:
                self.ctx.bag.error("E302", f"`{owner}` is one part; order and uniqueness are about a set of objects",
                                   attr.owner.span, help="name the object, e.g. `distinct(item.color)`")
            else:
                self.ctx.unknown_object(attr.owner)
            return None
        values = self._attribute_values(owner, attr.attribute)
        if values is None:
            return None
        region = None
        if region_node is not None:
            typed = self._expr(region_node, scope)
            if typed.kind == ERROR:
                return None
            if typed.kind != ArgKind.REGION:
                self.ctx.bag.error("E302", f"after `in` comes a region, a cell or a cell variable; "
                                   f"`{self.ctx.text(region_node.span)}` is not one", region_node.span)
                return None
            region = typed.node
        objects = ir.ObjectSet(object=owner, region=region, span=attr.span,
                               text=owner + (f" in {region.text}" if region is not None else ""))
        return objects, values


def _runs(values: Sequence[str]) -> list[tuple[str, int]]:
    """[red, red, blue] → [(red, 2), (blue, 1)]."""
    runs: list[tuple[str, int]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs


def _narrowed(objects: ir.ObjectSet, where: ir.Filter | None) -> ir.ObjectSet:
    if where is None:
        return objects
    text = f"{objects.text} where {where.attribute} {where.op} {where.value}"
    return objects.model_copy(update={"where": where, "text": text})


def _count_test(objects: ir.ObjectSet, op: str, n: float, span: ast.Span, where: ir.Filter | None = None
                ) -> ir.Comparison:
    """`count(objects [where ...]) op n`, citing `span`."""
    counted = _narrowed(objects, where)
    whole = float(n).is_integer()
    count = ir.Measure(func="count", args=[counted], integer=True, span=span, text=f"count({counted.text})")
    bound = ir.Constant(value=float(n), integer=whole, span=span, text=f"{n:g}")
    return ir.Comparison(op=op, left=count, right=bound, integer=whole, span=span, text=f"{count.text} {op} {n:g}")


def _all(tests: list[Any], span: ast.Span, text: str) -> Any:
    """`t1 and t2 and ...` (left-nested, as the parser builds it); a single test as it is."""
    formula = tests[0]
    for test in tests[1:]:
        formula = ir.Connective(op="and", left=formula, right=test, span=span, text=text)
    return formula


def _sequence(objects: ir.ObjectSet, attribute: str, runs: list[tuple[str, int]], relation: str,
              span: ast.Span, text: str) -> Any:
    """The tests `sorted(objects by key).attribute == [...]` stands for (see the module docstring)."""
    total = sum(length for _, length in runs)
    tests: list[Any] = [_count_test(objects, "==", total, span)]
    tests += [_count_test(objects, "==", length, span, ir.Filter(attribute=attribute, op="==", value=value))
              for value, length in runs]
    tests += [_before(objects, attribute, first, then, relation, span)
              for (first, _), (then, _) in zip(runs, runs[1:])]
    return _all(tests, span, text)


def _before(objects: ir.ObjectSet, attribute: str, first: str, then: str, relation: str, span: ast.Span
            ) -> ir.Quantifier:
    """`forall a in obj where attr == first: forall b in obj where attr == then: relation(a, b)`,
    each part counted only where it lies in the set's region."""
    obj = objects.object
    a, b = (ir.Instance(var=value, object=obj, span=span, text=value) for value in (first, then))
    test: Any = ir.Predicate(func=relation, args=[a, b], span=span, text=f"{relation}({first}, {then})")
    if objects.region is not None:
        region = objects.region
        inside = [ir.Predicate(func="inside", args=[part, region], span=span, text=f"inside({part.var}, {region.text})")
                  for part in (a, b)]
        both = ir.Connective(op="and", left=inside[0], right=inside[1], span=span,
                             text=f"{inside[0].text} and {inside[1].text}")
        test = ir.Connective(op="implies", left=both, right=test, span=span, text=f"{both.text} implies {test.text}")
    inner = ir.Quantifier(quantifier="forall", variables=[then], span=span, text=f"every {then} {obj}: {test.text}",
                          domain=ir.Domain(kind="objects", name=obj,
                                           where=ir.Filter(attribute=attribute, op="==", value=then)),
                          body=test)
    return ir.Quantifier(quantifier="forall", variables=[first], span=span,
                         text=f"every {first} {obj} before every {then} {obj}",
                         domain=ir.Domain(kind="objects", name=obj,
                                          where=ir.Filter(attribute=attribute, op="==", value=first)),
                         body=inner)
