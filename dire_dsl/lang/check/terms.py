"""Terms: numbers, names, cells, attributes, object sets and calls, typed and turned into IR.

`TermChecker` dispatches on the AST node's `kind`; `formulas.FormulaChecker` extends it with
the kinds that make truth values, so a term that holds a formula by mistake still gets its
own, precise diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dire_dsl.lang import ast, ir
from dire_dsl.lang.check.context import CheckContext, listing, suggest
from dire_dsl.lang.check.typed import (
    ATTRIBUTE,
    ERROR,
    KIND_WORDS,
    VALUE,
    Typed,
    arithmetic_problem,
    fold,
    interval,
)
from dire_dsl.lang.limits import MAX_NUMBER
from dire_dsl.lang.signatures import REGISTRY, ArgKind, Signature


@dataclass
class Binding:
    """A quantified variable: an instance of an object or a cell of a region."""

    kind: str  # "instance" or "cell"
    target: str  # object or region name
    used: bool = False
    ident: ast.Ident | None = None


@dataclass
class Scope:
    bindings: dict[str, Binding] = field(default_factory=dict)
    cells: int = 1  # grid cells the enclosing cell quantifiers iterate (see limits.MAX_RULE_CELLS)

    def child(self, cells: int = 1) -> Scope:
        return Scope(dict(self.bindings), self.cells * cells)


class TermChecker:
    """Types the terms of one rule against the declarations in `ctx`."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    def _number(self, node: Any, scope: Scope, where: str) -> Typed:
        typed = self._expr(node, scope)
        if typed.kind in (ERROR, ArgKind.NUMBER):
            return typed
        self._mismatch(node, typed, "a number", where)
        return Typed(ERROR)

    def _mismatch(self, node: Any, typed: Typed, expected: str, where: str) -> None:
        found = KIND_WORDS[typed.kind]
        help_text = None
        if typed.kind == ArgKind.OBJECTS and expected == "a number":
            help_text = f"to count them, write `count({self.ctx.text(node.span)})`"
        elif typed.kind == ArgKind.NUMBER and "truth" in expected:
            help_text = "compare it, e.g. `... == 1` or `... in [0.1, 0.3]`"
        self.ctx.bag.error("E303", f"{where} needs {expected}; `{self.ctx.text(node.span)}` is {found}", node.span,
                           help=help_text)

    def _expr(self, node: Any, scope: Scope) -> Typed:
        method = getattr(self, f"_x_{node.kind}")
        return method(node, scope)

    def _x_number(self, node: ast.NumberLit, scope: Scope) -> Typed:
        if not abs(node.value) <= MAX_NUMBER:  # a tree built without the parser, or one it reported already (E108)
            self.ctx.bag.error("E108", f"`{node.text}` is not a finite number a rule can hold", node.span,
                               help="numbers go up to about 3.4e38; to leave a bound open, drop it")
            return Typed(ERROR)
        return Typed(ArgKind.NUMBER, ir.Constant(value=node.value, integer=node.is_int, **self.ctx.ir_fields(node)),
                     integer=node.is_int, low=node.value, high=node.value, value_text=node.text)

    def _x_name(self, node: ast.NameRef, scope: Scope) -> Typed:
        name = node.name
        binding = scope.bindings.get(name)
        if binding is not None:
            binding.used = True
            if binding.kind == "instance":
                return Typed(ArgKind.INSTANCE, ir.Instance(var=name, object=binding.target, **self.ctx.ir_fields(node)))
            cell = ir.RegionSelection(region=binding.target, var=name, **self.ctx.ir_fields(node))
            return Typed(ArgKind.REGION, cell)
        if name in self.ctx.objects:
            return Typed(ArgKind.OBJECTS, ir.ObjectSet(object=name, **self.ctx.ir_fields(node)))
        if name in self.ctx.regions:
            return Typed(ArgKind.REGION, ir.RegionSelection(region=name, **self.ctx.ir_fields(node)))
        if self._is_attribute_value(name):
            return Typed(VALUE, value_text=name)
        if name in self.ctx.broken_regions:
            return Typed(ERROR)
        candidates = [*scope.bindings, *self.ctx.objects, *self.ctx.regions]
        self.ctx.bag.error("E215", f"unknown name `{name}`; expected a quantified variable, an object or a region "
                           f"({', '.join(candidates) or 'none declared'})", node.span, help=suggest(name, candidates))
        return Typed(ERROR)

    def _is_attribute_value(self, name: str) -> bool:
        return any(name in values for attrs in self.ctx.attributes.values() for values in attrs.values())

    def _x_cell(self, node: ast.CellRef, scope: Scope) -> Typed:
        region = self._region_ref(node.region)
        if region is None:
            return Typed(ERROR)
        if not (1 <= node.row <= region.rows and 1 <= node.col <= region.cols):
            self.ctx.bag.error("E308", f"`{region.name}` has {region.rows} row(s) and {region.cols} column(s); "
                               f"cell [{node.row}, {node.col}] is outside it", node.span,
                               help="cells are numbered from [1, 1] (top left)")
            return Typed(ERROR)
        cell = ir.RegionSelection(region=region.name, cell=(node.row - 1, node.col - 1), **self.ctx.ir_fields(node))
        return Typed(ArgKind.REGION, cell)

    def _region_ref(self, ident: ast.Ident) -> ir.RegionDef | None:
        if ident.text in self.ctx.regions:
            return self.ctx.regions[ident.text]
        self.ctx.bag.error("E209", f"unknown region `{ident.text}`; {listing('regions', list(self.ctx.regions))}",
                           ident.span, help=suggest(ident.text, list(self.ctx.regions)))
        return None

    def _x_attr(self, node: ast.AttrRef, scope: Scope) -> Typed:
        owner = node.owner.text
        binding = scope.bindings.get(owner)
        if binding is not None:
            binding.used = True
            if binding.kind != "instance":
                self.ctx.bag.error("E302", f"`{owner}` is a cell of region `{binding.target}`; cells have no "
                                   "attributes",
                                   node.owner.span)
                return Typed(ERROR)
            subject: ir.Instance | ir.ObjectSet = ir.Instance(var=owner, object=binding.target,
                                                              **self.ctx.ir_fields(node.owner))
            obj = binding.target
        elif owner in self.ctx.objects:
            subject, obj = ir.ObjectSet(object=owner, **self.ctx.ir_fields(node.owner)), owner
        else:
            candidates = [*scope.bindings, *self.ctx.objects]
            self.ctx.bag.error("E203", f"unknown object or variable `{owner}`; expected one of: "
                               f"{', '.join(candidates) or 'none'}",
                               node.owner.span, help=suggest(owner, candidates))
            return Typed(ERROR)
        values = self._attribute_values(obj, node.attribute)
        if values is None:
            return Typed(ERROR)
        dist = ir.AttributeDistribution(subject=subject, attribute=node.attribute.text, values=values,
                                        **self.ctx.ir_fields(node))
        return Typed(ATTRIBUTE, dist, attribute=(node.attribute.text, values))

    def _attribute_values(self, obj: str, attribute: ast.Ident) -> list[str] | None:
        declared = self.ctx.attributes.get(obj, {})
        if attribute.text not in declared:
            self.ctx.bag.error("E205", f"object `{obj}` has no attribute `{attribute.text}`; "
                               f"{listing('attributes', list(declared))}", attribute.span,
                               help=suggest(attribute.text, list(declared)) or
                               f"declare it: attribute {obj}.{attribute.text} {{ value1, value2 }}")
            return None
        return declared[attribute.text]

    def _filter(self, obj: str, where: ast.WhereFilter) -> ir.Filter | None:
        values = self._attribute_values(obj, where.attribute)
        if values is None:
            return None
        if where.op not in ("==", "!="):
            self.ctx.bag.error("E316", f"`where` keeps instances by equality; `{where.op}` has no meaning for "
                               "attribute values",
                               where.span, help="use `==` or `!=`")
            return None
        if not self._value_known(where.value.text, where.value.span, where.attribute.text, values):
            return None
        return ir.Filter(attribute=where.attribute.text, op=where.op, value=where.value.text)

    def _value_known(self, text: str, span: ast.Span, attribute: str, values: list[str]) -> bool:
        if text in values:
            return True
        self.ctx.bag.error("E207", f"`{text}` is not a value of `{attribute}`; declared values: {', '.join(values)}",
                           span, help=suggest(text, values))
        return False

    def _x_qualified(self, node: ast.QualifiedArg, scope: Scope) -> Typed:
        target = self._expr(node.target, scope)
        if target.kind == ERROR:
            return target
        plain_objects = isinstance(target.node, ir.ObjectSet) and not (target.node.region or target.node.where)
        if target.kind != ArgKind.OBJECTS or not plain_objects:
            self.ctx.bag.error("E312", f"`in` and `where` narrow a set of objects; "
                               f"`{self.ctx.text(node.target.span)}` is not an object name", node.target.span,
                               help="write e.g. `count(pushpin in cell[1, 2])`")
            return Typed(ERROR)
        region_sel = None
        if node.region is not None:
            region_typed = self._expr(node.region, scope)
            if region_typed.kind == ERROR:
                return region_typed
            if region_typed.kind != ArgKind.REGION:
                self.ctx.bag.error("E302", f"after `in` comes a region, a cell or a cell variable; "
                                   f"`{self.ctx.text(node.region.span)}` is not one", node.region.span)
                return Typed(ERROR)
            region_sel = region_typed.node
        flt = None
        if node.where is not None:
            flt = self._filter(target.node.object, node.where)
            if flt is None:
                return Typed(ERROR)
        objects = ir.ObjectSet(object=target.node.object, region=region_sel, where=flt, **self.ctx.ir_fields(node))
        return Typed(ArgKind.OBJECTS, objects)

    def _x_call(self, node: ast.Call, scope: Scope) -> Typed:
        name = node.func.text
        signature = REGISTRY.get(name)
        if signature is None:
            self.ctx.bag.error("E214", f"unknown function or predicate `{name}`", node.func.span,
                               help=suggest(name, REGISTRY.names()) or "`dire predicates` lists the known ones")
            for arg in node.args:  # still report problems inside the arguments
                self._expr(arg, scope)
            return Typed(ERROR)
        args = [self._argument(arg, param, scope) for arg, param in zip(node.args, signature.params)]
        args += [self._expr(arg, scope) for arg in node.args[len(signature.params):]]
        if len(args) != len(signature.params):
            self.ctx.bag.error("E301", f"`{name}` takes {len(signature.params)} argument(s), got {len(args)}; "
                               f"usage: {signature.render()}", node.span)
            return Typed(ERROR)
        if any(a.kind == ERROR for a in args):
            return Typed(ERROR)
        ir_args = []
        for param, arg, arg_node in zip(signature.params, args, node.args):
            if arg.kind not in param.kinds:
                self.ctx.bag.error("E302", f"argument `{param.name}` of `{name}` takes {param.describe()}; "
                                   f"`{self.ctx.text(arg_node.span)}` is {KIND_WORDS[arg.kind]}",
                                   arg_node.span, help=f"usage: {signature.render()}")
                return Typed(ERROR)
            ir_args.append(arg.node)
        return self._call_result(node, signature, args, ir_args)

    def _argument(self, node: Any, param: Any, scope: Scope) -> Typed:
        """Check one argument; an unknown bare name where objects are expected is an unknown object."""
        wants_objects = ArgKind.OBJECTS in param.kinds and ArgKind.NUMBER not in param.kinds
        target = node.target if isinstance(node, ast.QualifiedArg) else node
        if wants_objects and isinstance(target, ast.NameRef) and not self._known_name(target.name, scope):
            self.ctx.unknown_object(ast.Ident(text=target.name, span=target.span))
            return Typed(ERROR)
        return self._expr(node, scope)

    def _known_name(self, name: str, scope: Scope) -> bool:
        return name in scope.bindings or name in self.ctx.objects or name in self.ctx.regions

    def _call_result(self, node: ast.Call, signature: Signature, args: list[Typed], ir_args: list[Any]) -> Typed:
        kwargs = self.ctx.ir_fields(node)
        if signature.result == ArgKind.TRUTH:
            return Typed(ArgKind.TRUTH, ir.Predicate(func=signature.name, args=ir_args, **kwargs))
        low, high = signature.low, signature.high
        if signature.name == "abs" and args[0].low >= 0:
            low, high = args[0].low, args[0].high
        measure = ir.Measure(func=signature.name, args=ir_args, integer=signature.integer, **kwargs)
        return Typed(ArgKind.NUMBER, measure, integer=signature.integer, low=low, high=high)

    def _x_negate(self, node: ast.Negate, scope: Scope) -> Typed:
        inner = self._number(node.operand, scope, "`-`")
        if inner.kind == ERROR:
            return inner
        if isinstance(inner.node, ir.Constant):  # `+ 0.0`: -0 is 0, as in a literal
            value = -inner.low + 0.0
            return Typed(ArgKind.NUMBER, ir.Constant(value=value, integer=inner.integer, **self.ctx.ir_fields(node)),
                         integer=inner.integer, low=value, high=value)
        inner_value = ir.constant_value(inner.node)
        constant = None if inner_value is None else -inner_value
        negation = ir.Negation(operand=inner.node, constant=constant, **self.ctx.ir_fields(node))
        return Typed(ArgKind.NUMBER, negation, integer=inner.integer, low=-inner.high, high=-inner.low)

    def _x_binary(self, node: ast.Binary, scope: Scope) -> Typed:
        left = self._number(node.left, scope, f"`{node.op}`")
        right = self._number(node.right, scope, f"`{node.op}`")
        if ERROR in (left.kind, right.kind):
            return Typed(ERROR)
        low, high = interval(node.op, (left.low, left.high), (right.low, right.high))
        problem = arithmetic_problem(node.op, left, right, low, high)
        if problem is not None:
            self.ctx.bag.error("E319", f"`{self.ctx.text(node.span)}` {problem[0]}", node.span, help=problem[1])
            return Typed(ERROR)
        integer = left.integer and right.integer and node.op != "/"
        constant = fold(node.op, ir.constant_value(left.node), ir.constant_value(right.node))
        arithmetic = ir.Arithmetic(op=node.op, left=left.node, right=right.node, constant=constant,
                                   **self.ctx.ir_fields(node))
        return Typed(ArgKind.NUMBER, arithmetic, integer=integer, low=low, high=high)

