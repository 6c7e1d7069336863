"""Formulas: comparisons, ranges, attribute tests, tables, connectives and quantifiers.

Each gets a truth value, and where the measurements' intervals fix it whatever the image
shows, W403/W404 say so.
"""

from __future__ import annotations

import math
from typing import Any

from dire_dsl.lang import ast, ir
from dire_dsl.lang.check.context import suggest
from dire_dsl.lang.check.sequences import SequenceChecker
from dire_dsl.lang.check.terms import Binding, Scope
from dire_dsl.lang.check.typed import ATTRIBUTE, ERROR, VALUE, Typed, decide_compare, decide_connective, is_const_only
from dire_dsl.lang.limits import MAX_RULE_CELLS
from dire_dsl.lang.parser import canonical_int
from dire_dsl.lang.signatures import ArgKind


class FormulaChecker(SequenceChecker):
    """Types the formulas of one rule; `formula` is the entry point of the rule pass."""

    def formula(self, node: Any, scope: Scope, where: str) -> Typed:
        typed = self._expr(node, scope)
        if typed.kind in (ERROR, ArgKind.TRUTH):
            return typed
        self._mismatch(node, typed, "a truth value (a comparison, a relation or a quantifier)", where)
        return Typed(ERROR)

    def _x_bool(self, node: ast.BoolLit, scope: Scope) -> Typed:
        return Typed(ArgKind.TRUTH, ir.Truth(value=node.value, **self.ctx.ir_fields(node)), decided=node.value)

    def _x_compare(self, node: ast.Compare, scope: Scope) -> Typed:
        left, right = self._expr(node.left, scope), self._expr(node.right, scope)
        if ERROR in (left.kind, right.kind):
            return Typed(ERROR)
        if ATTRIBUTE in (left.kind, right.kind) or VALUE in (left.kind, right.kind):
            return self._attribute_compare(node, left, right)
        for side, typed in ((node.left, left), (node.right, right)):
            if typed.kind != ArgKind.NUMBER:
                self._mismatch(side, typed, "a number", f"`{node.op}`")
                return Typed(ERROR)
        if node.op in ("==", "!="):
            for counted, other, other_node in ((left, right, node.right), (right, left, node.left)):
                if counted.integer and other.is_const and not float(other.low).is_integer():
                    self.ctx.bag.error("E304", f"a count is a whole number; comparing it with {other.low:g} by "
                                       f"`{node.op}` can never match", other_node.span,
                                       help="use a whole number, or a range such as `in [1, 2]`")
                    return Typed(ERROR)
        formula = ir.Comparison(op=node.op, left=left.node, right=right.node, integer=left.integer and right.integer,
                                **self.ctx.ir_fields(node))
        decided = _unless_empty(decide_compare(node.op, left, right), formula.left, formula.right)
        return self._decide(node, Typed(ArgKind.TRUTH, formula, decided=decided))

    def _attribute_compare(self, node: ast.Compare, left: Typed, right: Typed) -> Typed:
        if node.op not in ("==", "!="):
            self.ctx.bag.error("E316", f"attribute values have no order; `{node.op}` cannot compare them", node.span,
                               help="use `==` or `!=`")
            return Typed(ERROR)
        negated = node.op == "!="
        kwargs = self.ctx.ir_fields(node)
        if left.kind == ATTRIBUTE and right.kind == ATTRIBUTE:
            if sorted(left.attribute[1]) != sorted(right.attribute[1]):
                self.ctx.bag.error("E313", f"`{left.attribute[0]}` ({', '.join(left.attribute[1])}) and "
                                   f"`{right.attribute[0]}` ({', '.join(right.attribute[1])}) take different values "
                                   "and cannot be equal", node.span,
                                   help="compare an attribute with the same attribute of another instance")
                return Typed(ERROR)
            return Typed(ArgKind.TRUTH, ir.AttributeSame(left=left.node, right=right.node, negated=negated, **kwargs))
        dist, value, value_node = (left, right, node.right) if left.kind == ATTRIBUTE else (right, left, node.left)
        if dist.kind != ATTRIBUTE:
            self._mismatch(value_node, value, "an attribute such as `c.color`", f"`{node.op}`")
            return Typed(ERROR)
        text = value.value_text
        if value.kind not in (VALUE, ArgKind.NUMBER) or text is None:
            self.ctx.bag.error("E313", f"`{self.ctx.text(value_node.span)}` is not a value of `{dist.attribute[0]}`; "
                               f"declared values: {', '.join(dist.attribute[1])}", value_node.span)
            return Typed(ERROR)
        if value.kind == ArgKind.NUMBER and value.integer:
            text = canonical_int(text)
        if not self._value_known(text, value_node.span, dist.attribute[0], dist.attribute[1]):
            return Typed(ERROR)
        return Typed(ArgKind.TRUTH, ir.AttributeIs(subject=dist.node, value=text, negated=negated, **kwargs))

    def _x_in_range(self, node: ast.InRange, scope: Scope) -> Typed:
        value = self._number(node.value, scope, "`in [..]`")
        low = self._number(node.low, scope, "a range bound")
        high = self._number(node.high, scope, "a range bound")
        if ERROR in (value.kind, low.kind, high.kind):
            return Typed(ERROR)
        if low.is_const and high.is_const:
            lo, hi = low.low, high.low
            if lo > hi:
                self.ctx.bag.error("E305", f"range [{lo:g}, {hi:g}] is reversed, so nothing is in it", node.span,
                                   help=f"write [{hi:g}, {lo:g}]")
                return Typed(ERROR)
            if value.integer and math.isfinite(lo) and math.isfinite(hi) and math.floor(hi) < math.ceil(lo):
                self.ctx.bag.error("E305", f"range [{lo:g}, {hi:g}] holds no whole number, and a count is one",
                                   node.span, help="widen the range to include a whole number")
                return Typed(ERROR)
        formula = ir.Range(value=value.node, low=low.node, high=high.node, **self.ctx.ir_fields(node))
        decided = None
        if low.high <= value.low and value.high <= high.low:
            decided = _unless_empty(True, formula.value, formula.low, formula.high)
        elif value.high < low.low or value.low > high.high:
            decided = False
        return self._decide(node, Typed(ArgKind.TRUTH, formula, decided=decided))

    def _decide(self, node: Any, typed: Typed) -> Typed:
        if typed.decided is not None and not is_const_only(node):
            code, word = ("W403", "true") if typed.decided else ("W404", "false")
            self.ctx.bag.warning(code, f"`{self.ctx.text(node.span)}` is always {word}, whatever the image shows",
                                 node.span,
                                 help="measurements have fixed ranges (count ≥ 0, area and positions in [0, 1])")
        return typed

    def _x_mapping(self, node: ast.Mapping, scope: Scope) -> Typed:
        source, target = self._expr(node.source, scope), self._expr(node.target, scope)
        if ERROR in (source.kind, target.kind):
            return Typed(ERROR)
        src_name, src_values = source.attribute
        dst_name, dst_values = target.attribute
        pairs: list[tuple[str, str]] = []
        seen: dict[str, ast.MappingEntry] = {}
        ok = True
        for entry in node.entries:
            ok &= self._value_known(entry.source.text, entry.source.span, src_name, src_values)
            ok &= self._value_known(entry.target.text, entry.target.span, dst_name, dst_values)
            if entry.source.text in seen:
                first = seen[entry.source.text]
                self.ctx.bag.error("E310", f"`{entry.source.text}` already maps to `{first.target.text}` on "
                                   f"line {first.span.line}", entry.span,
                                   help="each value of the left attribute maps to exactly one value")
                ok = False
                continue
            seen[entry.source.text] = entry
            pairs.append((entry.source.text, entry.target.text))
        missing = [v for v in src_values if v not in seen]
        if missing:
            self.ctx.bag.error("E309", f"the table does not say what `{', '.join(missing)}` maps to", node.span,
                               help=f"add an entry for every value of `{src_name}`: {', '.join(src_values)}")
            ok = False
        if not ok:
            return Typed(ERROR)
        table = ir.Table(source=source.node, target=target.node, pairs=pairs, **self.ctx.ir_fields(node))
        return Typed(ArgKind.TRUTH, table)

    def _x_not(self, node: ast.Not, scope: Scope) -> Typed:
        inner = self.formula(node.operand, scope, "`not`")
        if inner.kind == ERROR:
            return inner
        decided = None if inner.decided is None else not inner.decided
        return Typed(ArgKind.TRUTH, ir.Not(operand=inner.node, **self.ctx.ir_fields(node)), decided=decided)

    def _x_connective(self, node: ast.Connective, scope: Scope) -> Typed:
        left = self.formula(node.left, scope, f"`{node.op}`")
        right = self.formula(node.right, scope, f"`{node.op}`")
        if ERROR in (left.kind, right.kind):
            return Typed(ERROR)
        formula = ir.Connective(op=node.op, left=left.node, right=right.node, **self.ctx.ir_fields(node))
        return Typed(ArgKind.TRUTH, formula, decided=decide_connective(node.op, left.decided, right.decided))

    def _x_quantified(self, node: ast.Quantified, scope: Scope) -> Typed:
        if len(node.variables) > 2:
            self.ctx.bag.error("E314", f"a quantifier binds one or two variables; got {len(node.variables)}", node.span,
                               help="nest quantifiers: forall a, b in x: forall c in x: ...")
            return Typed(ERROR)
        domain_name = node.domain.name.text
        inner = scope.child()
        if domain_name in self.ctx.objects:
            kind, flt = "instance", None
            if node.domain.where is not None:
                flt = self._filter(domain_name, node.domain.where)
                if flt is None:
                    return Typed(ERROR)
            domain = ir.Domain(kind="objects", name=domain_name, where=flt)
        elif domain_name in self.ctx.regions:
            kind = "cell"
            if node.domain.where is not None:
                self.ctx.bag.error("E317", f"`{domain_name}` is a region; `where` filters object instances by "
                                   "attribute", node.domain.where.span,
                                   help="filter the objects inside the body instead")
                return Typed(ERROR)
            domain = ir.Domain(kind="cells", name=domain_name)
            cells = self.ctx.regions[domain_name].cells
            members = cells ** len(node.variables)
            if scope.cells * members > MAX_RULE_CELLS:
                pairs = "pairs of " if len(node.variables) == 2 else ""
                self.ctx.bag.error("E318", f"this quantifier makes the rule iterate {scope.cells * members} grid cells "
                                   f"({pairs}{cells} cells of `{domain_name}`); a rule iterates at most "
                                   f"{MAX_RULE_CELLS}",
                                   node.span,
                                   help="each cell is evaluated on an image mask; quantify over one variable, or use a "
                                        "smaller grid")
                return Typed(ERROR)
            inner = scope.child(members)
        elif domain_name in self.ctx.broken_regions:
            return Typed(ERROR)
        else:
            candidates = [*self.ctx.objects, *self.ctx.regions]
            self.ctx.bag.error("E215", f"`{domain_name}` is neither an object nor a region; a quantifier ranges "
                               f"over one of: {', '.join(candidates) or 'none declared'}", node.domain.name.span,
                               help=suggest(domain_name, candidates))
            return Typed(ERROR)
        new: list[Binding] = []
        for variable in node.variables:
            name = variable.text
            self.ctx.check_name(variable)
            bound_here = [b.ident.text for b in new if b.ident]
            if name in scope.bindings or name in self.ctx.objects or name in self.ctx.regions or name in bound_here:
                self.ctx.bag.warning("W401", f"`{name}` hides another name of the same spelling inside this quantifier",
                                     variable.span, help=f"rename it, e.g. `{name[0]}{len(scope.bindings) + 1}`")
            binding = Binding(kind=kind, target=domain_name, ident=variable)
            inner.bindings[name] = binding
            new.append(binding)
        body = self.formula(node.body, inner, f"the body of `{node.quantifier}`")
        for binding in new:
            if not binding.used and body.kind != ERROR:
                self.ctx.bag.warning("W402", f"`{binding.ident.text}` is never used in the body of `{node.quantifier}`",
                                     binding.ident.span, help="use it in the body, or drop the quantifier")
        if body.kind == ERROR:
            return body
        decided = body.decided if body.decided == (node.quantifier == "forall") else None
        formula = ir.Quantifier(quantifier=node.quantifier, variables=[v.text for v in node.variables], domain=domain,
                           body=body.node, **self.ctx.ir_fields(node))
        return Typed(ArgKind.TRUTH, formula, decided=decided)



def _unless_empty(decided: bool | None, *terms: Any) -> bool | None:
    """A test the measurements' ranges make true still fails while a set it measures the
    position of is empty (`ir.EMPTY_IS_ZERO`), so it is not always true: it says "there is one"."""
    if decided and any(ir.measured_sets(term) for term in terms):
        return None
    return decided
