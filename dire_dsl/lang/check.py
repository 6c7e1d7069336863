"""The checker: AST → diagnostics, and a CheckedProgram (IR) when there are no errors.

It collects every problem in one pass. Types are tracked with numeric intervals so that
comparisons whose outcome no image can change (`count(pin) >= 0`) are reported.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from dire_dsl.lang import ast, ir
from dire_dsl.lang.diagnostics import DiagnosticBag
from dire_dsl.lang.limits import MAX_GRID_CELLS, MAX_GRID_SIDE, MAX_PROGRAM_CELLS, MAX_RULE_CELLS
from dire_dsl.lang.parser import RESERVED_WORDS, canonical_int
from dire_dsl.lang.settings import BLOCKS, defaults
from dire_dsl.lang.signatures import REGISTRY, ArgKind, Signature

NAMED_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "whole": (0.0, 0.0, 1.0, 1.0),
    "left": (0.0, 0.0, 0.5, 1.0),
    "right": (0.5, 0.0, 1.0, 1.0),
    "top": (0.0, 0.0, 1.0, 0.5),
    "bottom": (0.0, 0.5, 1.0, 1.0),
    "center": (0.25, 0.25, 0.75, 0.75),
}
REGION_SHAPES = ("grid(rows, cols[, x0, y0, x1, y1])", "box(x0, y0, x1, y1)", *NAMED_REGIONS)

MIN_WEIGHT, MAX_WEIGHT = 1e-6, 1e6
"""Rule weights start float32 gates, and only their ratios matter: beyond this range a gate
reads as 0 (the rule silently off) or a sum of gates as inf (S_logic NaN)."""

# Internal kinds beyond the registry's argument kinds.
ATTRIBUTE = "attribute"  # a distribution over an attribute's values
VALUE = "value"  # a bare name or integer that can only be an attribute value
ERROR = "error"  # already reported: suppress follow-up diagnostics


_KIND_WORDS = {
    ArgKind.NUMBER: "a number", ArgKind.TRUTH: "a truth value", ArgKind.OBJECTS: "a set of objects",
    ArgKind.INSTANCE: "an object instance", ArgKind.REGION: "a region", ATTRIBUTE: "an attribute",
    VALUE: "an attribute value",
}


@dataclass
class Typed:
    """What the checker knows of an expression: its kind, integer-ness, interval and IR."""

    kind: str
    node: Any = None
    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    attribute: tuple[str, list[str]] | None = None  # (attribute name, values) for ATTRIBUTE
    value_text: str | None = None  # for VALUE
    decided: bool | None = None  # a truth value no image can change

    @property
    def is_const(self) -> bool:
        return self.low == self.high


@dataclass
class Binding:
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


def _suggest(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _listing(kind: str, names: list[str]) -> str:
    return f"declared {kind}: {', '.join(names)}" if names else f"no {kind} are declared"


def _text(source: str, span: ast.Span) -> str:
    return " ".join(source[span.start_pos:span.end_pos].split())


class Checker:
    """Checks one Program against its declarations and the predicate registry."""

    def __init__(self, program: ast.Program, source: str, file: str) -> None:
        self.program = program
        self.source = source
        self.bag = DiagnosticBag(file)
        self.objects: dict[str, ast.ObjectDecl] = {}
        self.attributes: dict[str, dict[str, list[str]]] = {}
        self.regions: dict[str, ir.RegionDef] = {}
        self.broken_regions: set[str] = set()  # declared with an error already reported: uses stay quiet
        self.settings: dict[str, dict[str, Any]] = {block: defaults(block) for block in BLOCKS}
        self.rules: list[ir.RuleDef] = []

    # ------------------------------------------------------------ entry
    def run(self) -> ir.CheckedProgram | None:
        REGISTRY.load_plugins()
        for message in REGISTRY.plugin_errors:
            self.bag.warning("W406", message, None, help="fix or reinstall the plugin package")
        category = self._categories()
        self._declarations()
        rule_names: dict[str, ast.RuleDecl] = {}
        for item in self.program.items:
            if isinstance(item, ast.RuleDecl):
                if item.name.text in rule_names:
                    first = rule_names[item.name.text].name.span.line
                    self.bag.error("E211", f"rule `{item.name.text}` is already declared on line {first}",
                                   item.name.span, help="give each rule its own name")
                rule_names.setdefault(item.name.text, item)
                self._rule(item)
        if self.bag.has_errors or category is None:
            return None
        return ir.CheckedProgram(
            category=category,
            objects=[
                ir.ObjectDef(name=name, prompts=decl.prompts, attributes=self.attributes.get(name, {}))
                for name, decl in self.objects.items()
            ],
            regions=list(self.regions.values()),
            rules=self.rules,
            train=self.settings["train"],
            logic=self.settings["logic"],
            source_name=self.bag.file,
            source_sha256=hashlib.sha256(self.source.encode("utf-8")).hexdigest(),
        )

    # ------------------------------------------------------------ declarations
    def _categories(self) -> str | None:
        cats = [i for i in self.program.items if isinstance(i, ast.CategoryDecl)]
        if not cats:
            self.bag.error("E201", "this file has no `category` line", ast.Span(line=1, column=1, end_line=1, end_column=2),
                           help="start the file with `category NAME`, e.g. `category pushpins`")
            return None
        for extra in cats[1:]:
            self.bag.error("E202", f"a file describes one category; `{cats[0].name.text}` was declared on line "
                           f"{cats[0].span.line}", extra.span, help="put each category in its own .rules file")
        self._check_name(cats[0].name)
        return cats[0].name.text

    def _check_name(self, ident: ast.Ident) -> None:
        if ident.text in RESERVED_WORDS:
            self.bag.error("E105", f"`{ident.text}` is a reserved word and cannot be used as a name", ident.span,
                           help=f"choose another name, for example `{ident.text}_`")

    def _declarations(self) -> None:
        seen_blocks: dict[str, ast.SettingsBlock] = {}
        for item in self.program.items:
            if isinstance(item, ast.ObjectDecl):
                self._object(item)
        for item in self.program.items:
            if isinstance(item, ast.AttributeDecl):
                self._attribute(item)
            elif isinstance(item, ast.RegionDecl):
                self._region(item)
                if item.name.text not in self.regions and item.name.text not in self.objects:
                    self.broken_regions.add(item.name.text)
            elif isinstance(item, ast.SettingsBlock):
                if item.block in seen_blocks:
                    self.bag.error("E216", f"`{item.block}` block already given on line {seen_blocks[item.block].span.line}",
                                   item.span, help=f"merge the keys into one `{item.block} {{ ... }}` block")
                else:
                    seen_blocks[item.block] = item
                    self._settings(item)
        self._region_budget()

    def _object(self, decl: ast.ObjectDecl) -> None:
        self._check_name(decl.name)
        name = decl.name.text
        if name in self.objects:
            self.bag.error("E204", f"object `{name}` is already declared on line {self.objects[name].span.line}",
                           decl.name.span, help="declare each object once; list several prompts on one line")
            return
        if not decl.prompts:
            self.bag.warning("W405", f"object `{name}` has no prompt; text-prompt grounding cannot find it",
                             decl.name.span, help=f'add a description: object {name} "a photo of a {name}"')
        self.objects[name] = decl

    def _attribute(self, decl: ast.AttributeDecl) -> None:
        owner, name = decl.owner.text, decl.name.text
        self._check_name(decl.name)
        if owner not in self.objects:
            self._unknown_object(decl.owner)
            return
        declared = self.attributes.setdefault(owner, {})
        if name in declared:
            self.bag.error("E206", f"attribute `{owner}.{name}` is already declared", decl.name.span,
                           help="list all its values in one declaration")
            return
        values: list[str] = []
        for value in decl.values:
            if value.text in values:
                self.bag.error("E208", f"value `{value.text}` is listed twice in `{owner}.{name}`", value.span,
                               help="remove the repeated value")
            else:
                values.append(value.text)
        declared[name] = values

    def _region(self, decl: ast.RegionDecl) -> None:
        name, shape = decl.name.text, decl.shape
        self._check_name(decl.name)
        if name in self.regions or name in self.objects:
            what = "region" if name in self.regions else "object"
            self.bag.error("E210", f"`{name}` is already declared as a{'n' if what == 'object' else ''} {what}",
                           decl.name.span, help="objects and regions share one namespace; rename one of them")
            return
        func = shape.func.text
        if shape.args is None:
            if func in NAMED_REGIONS:
                self.regions[name] = ir.RegionDef(name=name, box=NAMED_REGIONS[func])
            elif func in self.regions:
                self.regions[name] = self.regions[func].model_copy(update={"name": name})
            elif func == name:
                self.bag.error("E217", f"region `{name}` is defined as itself", shape.func.span,
                               help=f"give it a shape: {', '.join(REGION_SHAPES)}, or another region declared above")
            elif (later := self._region_declared_later(func, decl)) is not None:
                self.bag.error("E217", f"region `{func}` is declared further down (line {later.span.line})",
                               shape.func.span, help=f"move `region {func} = ...` above `region {name} = {func}`")
            else:
                self._unknown_shape(shape)
            return
        numbers = [a.value for a in shape.args]
        if func == "grid":
            if len(numbers) not in (2, 6):
                self.bag.error("E301", f"`grid` takes 2 arguments (rows, cols), or 6 (rows, cols, x0, y0, x1, y1) for a "
                               f"grid over part of the image; got {len(numbers)}", shape.span)
                return
            bad = [a for a in shape.args[:2] if not a.is_int or a.value <= 0]
            for arg in bad:
                self.bag.error("E306", f"grid size must be a whole number ≥ 1; got {arg.text}", arg.span,
                               help="write e.g. grid(3, 5) for 3 rows and 5 columns")
            box = self._box(shape, shape.args[2:]) if len(numbers) == 6 else (0.0, 0.0, 1.0, 1.0)
            if not bad and self._grid_fits(shape) and box is not None:
                self.regions[name] = ir.RegionDef(name=name, box=box, rows=int(numbers[0]), cols=int(numbers[1]))
        elif func == "box":
            if len(numbers) != 4:
                self.bag.error("E301", f"`box` takes 4 arguments (x0, y0, x1, y1); got {len(numbers)}", shape.span)
                return
            box = self._box(shape, shape.args)
            if box is not None:
                self.regions[name] = ir.RegionDef(name=name, box=box)
        else:
            self._unknown_shape(shape)

    def _grid_fits(self, shape: ast.RegionShape) -> bool:
        """E318 when a grid is too large: every cell becomes a pixel mask (see `limits`)."""
        rows, cols = shape.args[:2]
        big = [a for a in (rows, cols) if a.value > MAX_GRID_SIDE]
        for arg in big:
            self.bag.error("E318", f"a grid has at most {MAX_GRID_SIDE} rows and {MAX_GRID_SIDE} columns; got {arg.text}",
                           arg.span, help="every cell becomes an image mask; split the image into fewer, larger cells")
        if big:
            return False
        cells = int(rows.value) * int(cols.value)
        if cells > MAX_GRID_CELLS:
            self.bag.error("E318", f"grid({rows.text}, {cols.text}) has {cells} cells; a grid has at most "
                           f"{MAX_GRID_CELLS}", shape.span, help="every cell becomes an image mask; use fewer rows or columns")
            return False
        return True

    def _region_budget(self) -> None:
        """E318 on the region that takes all regions together past MAX_PROGRAM_CELLS masks."""
        total, counted = 0, set()
        for item in self.program.items:
            if isinstance(item, ast.RegionDecl) and item.name.text in self.regions and item.name.text not in counted:
                counted.add(item.name.text)
                total += self.regions[item.name.text].cells
                if total > MAX_PROGRAM_CELLS:
                    self.bag.error("E318", f"with `{item.name.text}` the regions hold {total} cells together; at most "
                                   f"{MAX_PROGRAM_CELLS} are allowed", item.span,
                                   help="every cell becomes an image mask; declare fewer or smaller regions")
                    return

    def _box(self, shape: ast.RegionShape, args: list[ast.NumberLit]) -> tuple[float, float, float, float] | None:
        """Validate box corners: fractions of the image, top-left before bottom-right."""
        outside = [a for a in args if not 0.0 <= a.value <= 1.0]
        for arg in outside:
            self.bag.error("E307", f"box coordinates are fractions of the image in [0, 1]; got {arg.text}", arg.span)
        if outside:
            return None
        x0, y0, x1, y1 = (a.value for a in args)
        if x0 >= x1 or y0 >= y1:
            self.bag.error("E307", f"box({x0:g}, {y0:g}, {x1:g}, {y1:g}) is empty: it needs x0 < x1 and y0 < y1",
                           shape.span, help="the first corner is the top-left one")
            return None
        return (x0, y0, x1, y1)

    def _region_declared_later(self, name: str, decl: ast.RegionDecl) -> ast.RegionDecl | None:
        items = self.program.items
        later = items[items.index(decl) + 1:]
        return next((item for item in later if isinstance(item, ast.RegionDecl) and item.name.text == name), None)

    def _unknown_shape(self, shape: ast.RegionShape) -> None:
        hint = _suggest(shape.func.text, ["grid", "box", *NAMED_REGIONS, *self.regions])
        self.bag.error("E217", f"unknown region shape `{shape.func.text}`; expected {', '.join(REGION_SHAPES)}",
                       shape.func.span, help=hint)

    def _settings(self, block: ast.SettingsBlock) -> None:
        specs = BLOCKS[block.block]
        seen: set[str] = set()
        for setting in block.settings:
            key = setting.key.text
            if key not in specs:
                hint = _suggest(key, list(specs)) or f"known keys: {', '.join(specs)}"
                self.bag.error("E212", f"unknown `{block.block}` key `{key}`", setting.key.span, help=hint)
                continue
            if key in seen:
                self.bag.error("E213", f"`{key}` is given twice in the `{block.block}` block", setting.key.span,
                               help="keep one value")
                continue
            seen.add(key)
            spec = specs[key]
            problem = spec.problem(setting.value)
            if problem:
                self.bag.error("E311", problem, setting.span, help=spec.doc)
                continue
            value = setting.value
            self.settings[block.block][key] = int(value) if spec.type is int else float(value) if spec.type is float else value

    # ------------------------------------------------------------ rules
    def _rule(self, decl: ast.RuleDecl) -> None:
        self._check_name(decl.name)
        weight = 1.0
        if decl.weight is not None:
            if not MIN_WEIGHT <= decl.weight.value <= MAX_WEIGHT:
                self.bag.error("E315", f"a rule weight must be in [{MIN_WEIGHT:g}, {MAX_WEIGHT:g}]; got {decl.weight.text}",
                               decl.weight.span, help="weights count relative to each other; to switch a rule off, "
                                                      "delete it or comment it out")
            weight = decl.weight.value
        before = len(self.bag.items)
        typed = self._formula(decl.body, Scope(), "a rule")
        if typed.kind == ERROR:
            return
        trivial_inside = any(d.code in ("W403", "W404") for d in self.bag.items[before:])
        if typed.decided is not None and not trivial_inside:
            code, word = ("W403", "true") if typed.decided else ("W404", "false")
            self.bag.warning(code, f"rule `{decl.name.text}` is always {word}, whatever the image shows", decl.body.span,
                             help="a rule that cannot change does not help detect anything")
        if not self.bag.has_errors:
            self.rules.append(ir.RuleDef(
                name=decl.name.text, weight=weight, hard=decl.hardness == "hard", formula=typed.node,
                span=decl.span, source=_text(self.source, decl.span),
            ))

    def _formula(self, node: Any, scope: Scope, where: str) -> Typed:
        typed = self._expr(node, scope)
        if typed.kind in (ERROR, ArgKind.TRUTH):
            return typed
        self._mismatch(node, typed, "a truth value (a comparison, a relation or a quantifier)", where)
        return Typed(ERROR)

    def _number(self, node: Any, scope: Scope, where: str) -> Typed:
        typed = self._expr(node, scope)
        if typed.kind in (ERROR, ArgKind.NUMBER):
            return typed
        self._mismatch(node, typed, "a number", where)
        return Typed(ERROR)

    def _mismatch(self, node: Any, typed: Typed, expected: str, where: str) -> None:
        found = _KIND_WORDS[typed.kind]
        help_text = None
        if typed.kind == ArgKind.OBJECTS and expected == "a number":
            help_text = f"to count them, write `count({_text(self.source, node.span)})`"
        elif typed.kind == ArgKind.NUMBER and "truth" in expected:
            help_text = "compare it, e.g. `... == 1` or `... in [0.1, 0.3]`"
        self.bag.error("E303", f"{where} needs {expected}; `{_text(self.source, node.span)}` is {found}", node.span,
                       help=help_text)

    def _ir_kwargs(self, node: Any) -> dict[str, Any]:
        return {"span": node.span, "text": _text(self.source, node.span)}

    # ------------------------------------------------------------ expressions
    def _expr(self, node: Any, scope: Scope) -> Typed:
        method = getattr(self, f"_x_{node.kind}")
        return method(node, scope)

    def _x_number(self, node: ast.NumberLit, scope: Scope) -> Typed:
        if not math.isfinite(node.value):  # a tree built without the parser, or one it reported already (E108)
            self.bag.error("E108", f"`{node.text}` is not a finite number", node.span,
                           help="numbers go up to about 1.8e308; to leave a bound open, drop it")
            return Typed(ERROR)
        return Typed(ArgKind.NUMBER, ir.Const(value=node.value, integer=node.is_int, **self._ir_kwargs(node)),
                     integer=node.is_int, low=node.value, high=node.value, value_text=node.text)

    def _x_bool(self, node: ast.BoolLit, scope: Scope) -> Typed:
        return Typed(ArgKind.TRUTH, ir.Truth(value=node.value, **self._ir_kwargs(node)), decided=node.value)

    def _x_name(self, node: ast.NameRef, scope: Scope) -> Typed:
        name = node.name
        binding = scope.bindings.get(name)
        if binding is not None:
            binding.used = True
            if binding.kind == "instance":
                return Typed(ArgKind.INSTANCE, ir.Instance(var=name, object=binding.target, **self._ir_kwargs(node)))
            return Typed(ArgKind.REGION, ir.RegionSel(region=binding.target, var=name, **self._ir_kwargs(node)))
        if name in self.objects:
            return Typed(ArgKind.OBJECTS, ir.ObjectSet(object=name, **self._ir_kwargs(node)))
        if name in self.regions:
            return Typed(ArgKind.REGION, ir.RegionSel(region=name, **self._ir_kwargs(node)))
        if self._is_attribute_value(name):
            return Typed(VALUE, value_text=name)
        if name in self.broken_regions:
            return Typed(ERROR)
        candidates = [*scope.bindings, *self.objects, *self.regions]
        self.bag.error("E215", f"unknown name `{name}`; expected a quantified variable, an object or a region "
                       f"({', '.join(candidates) or 'none declared'})", node.span, help=_suggest(name, candidates))
        return Typed(ERROR)

    def _is_attribute_value(self, name: str) -> bool:
        return any(name in values for attrs in self.attributes.values() for values in attrs.values())

    def _x_cell(self, node: ast.CellRef, scope: Scope) -> Typed:
        region = self._region_ref(node.region)
        if region is None:
            return Typed(ERROR)
        if not (1 <= node.row <= region.rows and 1 <= node.col <= region.cols):
            self.bag.error("E308", f"`{region.name}` has {region.rows} row(s) and {region.cols} column(s); "
                           f"cell [{node.row}, {node.col}] is outside it", node.span,
                           help="cells are numbered from [1, 1] (top left)")
            return Typed(ERROR)
        return Typed(ArgKind.REGION, ir.RegionSel(region=region.name, cell=(node.row - 1, node.col - 1), **self._ir_kwargs(node)))

    def _region_ref(self, ident: ast.Ident) -> ir.RegionDef | None:
        if ident.text in self.regions:
            return self.regions[ident.text]
        self.bag.error("E209", f"unknown region `{ident.text}`; {_listing('regions', list(self.regions))}", ident.span,
                       help=_suggest(ident.text, list(self.regions)))
        return None

    def _unknown_object(self, ident: ast.Ident) -> None:
        self.bag.error("E203", f"unknown object `{ident.text}`; {_listing('objects', list(self.objects))}", ident.span,
                       help=_suggest(ident.text, list(self.objects)))

    def _x_attr(self, node: ast.AttrRef, scope: Scope) -> Typed:
        owner = node.owner.text
        binding = scope.bindings.get(owner)
        if binding is not None:
            binding.used = True
            if binding.kind != "instance":
                self.bag.error("E302", f"`{owner}` is a cell of region `{binding.target}`; cells have no attributes",
                               node.owner.span)
                return Typed(ERROR)
            subject: ir.Instance | ir.ObjectSet = ir.Instance(var=owner, object=binding.target, **self._ir_kwargs(node.owner))
            obj = binding.target
        elif owner in self.objects:
            subject, obj = ir.ObjectSet(object=owner, **self._ir_kwargs(node.owner)), owner
        else:
            candidates = [*scope.bindings, *self.objects]
            self.bag.error("E203", f"unknown object or variable `{owner}`; expected one of: {', '.join(candidates) or 'none'}",
                           node.owner.span, help=_suggest(owner, candidates))
            return Typed(ERROR)
        values = self._attribute_values(obj, node.attribute)
        if values is None:
            return Typed(ERROR)
        dist = ir.AttrDist(subject=subject, attribute=node.attribute.text, values=values, **self._ir_kwargs(node))
        return Typed(ATTRIBUTE, dist, attribute=(node.attribute.text, values))

    def _attribute_values(self, obj: str, attribute: ast.Ident) -> list[str] | None:
        declared = self.attributes.get(obj, {})
        if attribute.text not in declared:
            self.bag.error("E205", f"object `{obj}` has no attribute `{attribute.text}`; "
                           f"{_listing('attributes', list(declared))}", attribute.span,
                           help=_suggest(attribute.text, list(declared)) or
                           f"declare it: attribute {obj}.{attribute.text} {{ value1, value2 }}")
            return None
        return declared[attribute.text]

    def _filter(self, obj: str, where: ast.WhereFilter) -> ir.Filter | None:
        values = self._attribute_values(obj, where.attribute)
        if values is None:
            return None
        if where.op not in ("==", "!="):
            self.bag.error("E316", f"`where` keeps instances by equality; `{where.op}` has no meaning for attribute values",
                           where.span, help="use `==` or `!=`")
            return None
        if not self._value_known(where.value.text, where.value.span, where.attribute.text, values):
            return None
        return ir.Filter(attribute=where.attribute.text, op=where.op, value=where.value.text)

    def _value_known(self, text: str, span: ast.Span, attribute: str, values: list[str]) -> bool:
        if text in values:
            return True
        self.bag.error("E207", f"`{text}` is not a value of `{attribute}`; declared values: {', '.join(values)}", span,
                       help=_suggest(text, values))
        return False

    def _x_qualified(self, node: ast.QualifiedArg, scope: Scope) -> Typed:
        target = self._expr(node.target, scope)
        if target.kind == ERROR:
            return target
        if target.kind != ArgKind.OBJECTS or not isinstance(target.node, ir.ObjectSet) or target.node.region or target.node.where:
            self.bag.error("E312", f"`in` and `where` narrow a set of objects; `{_text(self.source, node.target.span)}` is not "
                           "an object name", node.target.span, help="write e.g. `count(pushpin in cell[1, 2])`")
            return Typed(ERROR)
        region_sel = None
        if node.region is not None:
            region_typed = self._expr(node.region, scope)
            if region_typed.kind == ERROR:
                return region_typed
            if region_typed.kind != ArgKind.REGION:
                self.bag.error("E302", f"after `in` comes a region, a cell or a cell variable; "
                               f"`{_text(self.source, node.region.span)}` is not one", node.region.span)
                return Typed(ERROR)
            region_sel = region_typed.node
        flt = None
        if node.where is not None:
            flt = self._filter(target.node.object, node.where)
            if flt is None:
                return Typed(ERROR)
        objects = ir.ObjectSet(object=target.node.object, region=region_sel, where=flt, **self._ir_kwargs(node))
        return Typed(ArgKind.OBJECTS, objects)

    def _x_call(self, node: ast.Call, scope: Scope) -> Typed:
        name = node.func.text
        signature = REGISTRY.get(name)
        if signature is None:
            self.bag.error("E214", f"unknown function or predicate `{name}`", node.func.span,
                           help=_suggest(name, REGISTRY.names()) or "`dire predicates` lists the known ones")
            for arg in node.args:  # still report problems inside the arguments
                self._expr(arg, scope)
            return Typed(ERROR)
        args = [self._argument(arg, param, scope) for arg, param in zip(node.args, signature.params)]
        args += [self._expr(arg, scope) for arg in node.args[len(signature.params):]]
        if len(args) != len(signature.params):
            self.bag.error("E301", f"`{name}` takes {len(signature.params)} argument(s), got {len(args)}; "
                           f"usage: {signature.render()}", node.span)
            return Typed(ERROR)
        if any(a.kind == ERROR for a in args):
            return Typed(ERROR)
        ir_args = []
        for param, arg, arg_node in zip(signature.params, args, node.args):
            if arg.kind not in param.kinds:
                self.bag.error("E302", f"argument `{param.name}` of `{name}` takes {param.describe()}; "
                               f"`{_text(self.source, arg_node.span)}` is {_KIND_WORDS[arg.kind]}",
                               arg_node.span, help=f"usage: {signature.render()}")
                return Typed(ERROR)
            ir_args.append(arg.node)
        return self._call_result(node, signature, args, ir_args)

    def _argument(self, node: Any, param: Any, scope: Scope) -> Typed:
        """Check one argument; an unknown bare name where objects are expected is an unknown object."""
        wants_objects = ArgKind.OBJECTS in param.kinds and ArgKind.NUMBER not in param.kinds
        target = node.target if isinstance(node, ast.QualifiedArg) else node
        if wants_objects and isinstance(target, ast.NameRef) and not self._known_name(target.name, scope):
            self._unknown_object(ast.Ident(text=target.name, span=target.span))
            return Typed(ERROR)
        return self._expr(node, scope)

    def _known_name(self, name: str, scope: Scope) -> bool:
        return name in scope.bindings or name in self.objects or name in self.regions

    def _call_result(self, node: ast.Call, signature: Signature, args: list[Typed], ir_args: list[Any]) -> Typed:
        kwargs = self._ir_kwargs(node)
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
        if isinstance(inner.node, ir.Const):  # `+ 0.0`: -0 is 0, as in a literal
            value = -inner.low + 0.0
            return Typed(ArgKind.NUMBER, ir.Const(value=value, integer=inner.integer, **self._ir_kwargs(node)),
                         integer=inner.integer, low=value, high=value)
        return Typed(ArgKind.NUMBER, ir.Neg(operand=inner.node, **self._ir_kwargs(node)), integer=inner.integer,
                     low=-inner.high, high=-inner.low)

    def _x_binary(self, node: ast.Binary, scope: Scope) -> Typed:
        left = self._number(node.left, scope, f"`{node.op}`")
        right = self._number(node.right, scope, f"`{node.op}`")
        if ERROR in (left.kind, right.kind):
            return Typed(ERROR)
        low, high = _interval(node.op, (left.low, left.high), (right.low, right.high))
        problem = _arithmetic_problem(node.op, left, right, low, high)
        if problem is not None:
            self.bag.error("E319", f"`{_text(self.source, node.span)}` {problem[0]}", node.span, help=problem[1])
            return Typed(ERROR)
        integer = left.integer and right.integer and node.op != "/"
        return Typed(ArgKind.NUMBER, ir.Arith(op=node.op, left=left.node, right=right.node, **self._ir_kwargs(node)),
                     integer=integer, low=low, high=high)

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
                    self.bag.error("E304", f"a count is a whole number; comparing it with {other.low:g} by `{node.op}` "
                                   "can never match", other_node.span,
                                   help="use a whole number, or a range such as `in [1, 2]`")
                    return Typed(ERROR)
        formula = ir.Cmp(op=node.op, left=left.node, right=right.node, **self._ir_kwargs(node))
        return self._decide(node, Typed(ArgKind.TRUTH, formula, decided=_decide_compare(node.op, left, right)))

    def _attribute_compare(self, node: ast.Compare, left: Typed, right: Typed) -> Typed:
        if node.op not in ("==", "!="):
            self.bag.error("E316", f"attribute values have no order; `{node.op}` cannot compare them", node.span,
                           help="use `==` or `!=`")
            return Typed(ERROR)
        negated = node.op == "!="
        kwargs = self._ir_kwargs(node)
        if left.kind == ATTRIBUTE and right.kind == ATTRIBUTE:
            if sorted(left.attribute[1]) != sorted(right.attribute[1]):
                self.bag.error("E313", f"`{left.attribute[0]}` ({', '.join(left.attribute[1])}) and `{right.attribute[0]}` "
                               f"({', '.join(right.attribute[1])}) take different values and cannot be equal", node.span,
                               help="compare an attribute with the same attribute of another instance")
                return Typed(ERROR)
            return Typed(ArgKind.TRUTH, ir.AttrSame(left=left.node, right=right.node, negated=negated, **kwargs))
        dist, value, value_node = (left, right, node.right) if left.kind == ATTRIBUTE else (right, left, node.left)
        if dist.kind != ATTRIBUTE:
            self._mismatch(value_node, value, "an attribute such as `c.color`", f"`{node.op}`")
            return Typed(ERROR)
        text = value.value_text
        if value.kind not in (VALUE, ArgKind.NUMBER) or text is None:
            self.bag.error("E313", f"`{_text(self.source, value_node.span)}` is not a value of `{dist.attribute[0]}`; "
                           f"declared values: {', '.join(dist.attribute[1])}", value_node.span)
            return Typed(ERROR)
        if value.kind == ArgKind.NUMBER and value.integer:
            text = canonical_int(text)
        if not self._value_known(text, value_node.span, dist.attribute[0], dist.attribute[1]):
            return Typed(ERROR)
        return Typed(ArgKind.TRUTH, ir.AttrIs(subject=dist.node, value=text, negated=negated, **kwargs))

    def _x_in_range(self, node: ast.InRange, scope: Scope) -> Typed:
        value = self._number(node.value, scope, "`in [..]`")
        low = self._number(node.low, scope, "a range bound")
        high = self._number(node.high, scope, "a range bound")
        if ERROR in (value.kind, low.kind, high.kind):
            return Typed(ERROR)
        if low.is_const and high.is_const:
            lo, hi = low.low, high.low
            if lo > hi:
                self.bag.error("E305", f"range [{lo:g}, {hi:g}] is reversed, so nothing is in it", node.span,
                               help=f"write [{hi:g}, {lo:g}]")
                return Typed(ERROR)
            if value.integer and math.isfinite(lo) and math.isfinite(hi) and math.floor(hi) < math.ceil(lo):
                self.bag.error("E305", f"range [{lo:g}, {hi:g}] holds no whole number, and a count is one", node.span,
                               help="widen the range to include a whole number")
                return Typed(ERROR)
        formula = ir.Range(value=value.node, low=low.node, high=high.node, **self._ir_kwargs(node))
        decided = None
        if low.high <= value.low and value.high <= high.low:
            decided = True
        elif value.high < low.low or value.low > high.high:
            decided = False
        return self._decide(node, Typed(ArgKind.TRUTH, formula, decided=decided))

    def _decide(self, node: Any, typed: Typed) -> Typed:
        if typed.decided is not None and not _is_const_only(node):
            code, word = ("W403", "true") if typed.decided else ("W404", "false")
            self.bag.warning(code, f"`{_text(self.source, node.span)}` is always {word}, whatever the image shows",
                             node.span, help="measurements have fixed ranges (count ≥ 0, area and positions in [0, 1])")
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
                self.bag.error("E310", f"`{entry.source.text}` already maps to `{seen[entry.source.text].target.text}` on "
                               f"line {seen[entry.source.text].span.line}", entry.span,
                               help="each value of the left attribute maps to exactly one value")
                ok = False
                continue
            seen[entry.source.text] = entry
            pairs.append((entry.source.text, entry.target.text))
        missing = [v for v in src_values if v not in seen]
        if missing:
            self.bag.error("E309", f"the table does not say what `{', '.join(missing)}` maps to", node.span,
                           help=f"add an entry for every value of `{src_name}`: {', '.join(src_values)}")
            ok = False
        if not ok:
            return Typed(ERROR)
        return Typed(ArgKind.TRUTH, ir.Table(source=source.node, target=target.node, pairs=pairs, **self._ir_kwargs(node)))

    def _x_not(self, node: ast.Not, scope: Scope) -> Typed:
        inner = self._formula(node.operand, scope, "`not`")
        if inner.kind == ERROR:
            return inner
        decided = None if inner.decided is None else not inner.decided
        return Typed(ArgKind.TRUTH, ir.NotF(operand=inner.node, **self._ir_kwargs(node)), decided=decided)

    def _x_connective(self, node: ast.Connective, scope: Scope) -> Typed:
        left = self._formula(node.left, scope, f"`{node.op}`")
        right = self._formula(node.right, scope, f"`{node.op}`")
        if ERROR in (left.kind, right.kind):
            return Typed(ERROR)
        formula = ir.Conn(op=node.op, left=left.node, right=right.node, **self._ir_kwargs(node))
        return Typed(ArgKind.TRUTH, formula, decided=_decide_connective(node.op, left.decided, right.decided))

    def _x_quantified(self, node: ast.Quantified, scope: Scope) -> Typed:
        if len(node.variables) > 2:
            self.bag.error("E314", f"a quantifier binds one or two variables; got {len(node.variables)}", node.span,
                           help="nest quantifiers: forall a, b in x: forall c in x: ...")
            return Typed(ERROR)
        domain_name = node.domain.name.text
        inner = scope.child()
        if domain_name in self.objects:
            kind, flt = "instance", None
            if node.domain.where is not None:
                flt = self._filter(domain_name, node.domain.where)
                if flt is None:
                    return Typed(ERROR)
            domain = ir.Domain(kind="objects", name=domain_name, where=flt)
        elif domain_name in self.regions:
            kind = "cell"
            if node.domain.where is not None:
                self.bag.error("E317", f"`{domain_name}` is a region; `where` filters object instances by attribute",
                               node.domain.where.span, help="filter the objects inside the body instead")
                return Typed(ERROR)
            domain = ir.Domain(kind="cells", name=domain_name)
            cells = self.regions[domain_name].cells
            members = cells ** len(node.variables)
            if scope.cells * members > MAX_RULE_CELLS:
                pairs = "pairs of " if len(node.variables) == 2 else ""
                self.bag.error("E318", f"this quantifier makes the rule iterate {scope.cells * members} grid cells "
                               f"({pairs}{cells} cells of `{domain_name}`); a rule iterates at most {MAX_RULE_CELLS}",
                               node.span,
                               help="each cell is evaluated on an image mask; quantify over one variable, or use a "
                                    "smaller grid")
                return Typed(ERROR)
            inner = scope.child(members)
        elif domain_name in self.broken_regions:
            return Typed(ERROR)
        else:
            candidates = [*self.objects, *self.regions]
            self.bag.error("E215", f"`{domain_name}` is neither an object nor a region; a quantifier ranges over one of: "
                           f"{', '.join(candidates) or 'none declared'}", node.domain.name.span,
                           help=_suggest(domain_name, candidates))
            return Typed(ERROR)
        new: list[Binding] = []
        for variable in node.variables:
            name = variable.text
            self._check_name(variable)
            if name in scope.bindings or name in self.objects or name in self.regions or name in [b.ident.text for b in new if b.ident]:
                self.bag.warning("W401", f"`{name}` hides another name of the same spelling inside this quantifier",
                                 variable.span, help=f"rename it, e.g. `{name[0]}{len(scope.bindings) + 1}`")
            binding = Binding(kind=kind, target=domain_name, ident=variable)
            inner.bindings[name] = binding
            new.append(binding)
        body = self._formula(node.body, inner, f"the body of `{node.quantifier}`")
        for binding in new:
            if not binding.used and body.kind != ERROR:
                self.bag.warning("W402", f"`{binding.ident.text}` is never used in the body of `{node.quantifier}`",
                                 binding.ident.span, help="use it in the body, or drop the quantifier")
        if body.kind == ERROR:
            return body
        decided = body.decided if body.decided == (node.quantifier == "forall") else None
        formula = ir.Quant(quantifier=node.quantifier, variables=[v.text for v in node.variables], domain=domain,
                           body=body.node, **self._ir_kwargs(node))
        return Typed(ArgKind.TRUTH, formula, decided=decided)


def _arithmetic_problem(op: str, left: Typed, right: Typed, low: float, high: float) -> tuple[str, str] | None:
    """(message, help) when arithmetic the checker can bound breaks at run time: a constant divisor
    of 0, or finite operands whose result leaves the floats (inf, then NaN in the truths it touches)."""
    if op == "/" and right.is_const and right.low == 0:
        return "divides by zero", "divide by a number other than 0"
    finite = all(math.isfinite(bound) for bound in (left.low, left.high, right.low, right.high))
    if finite and not (op == "/" and right.low <= 0 <= right.high) and not (math.isfinite(low) and math.isfinite(high)):
        return ("overflows: its value can exceed the largest number, about 1.8e308",
                "use smaller constants; measurements are counts, or fractions of the image in [0, 1]")
    return None


def _interval(op: str, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Interval arithmetic; unknown (division through zero, inf·0) widens to (-inf, inf)."""
    try:
        if op == "+":
            return a[0] + b[0], a[1] + b[1]
        if op == "-":
            return a[0] - b[1], a[1] - b[0]
        if op == "/":
            if b[0] <= 0 <= b[1]:
                return -math.inf, math.inf
            b = (1 / b[1], 1 / b[0])
        products = [x * y for x in a for y in b]
        if any(math.isnan(p) for p in products):
            return -math.inf, math.inf
        return min(products), max(products)
    except (OverflowError, ZeroDivisionError):
        return -math.inf, math.inf


def _decide_compare(op: str, left: Typed, right: Typed) -> bool | None:
    (a0, a1), (b0, b1) = (left.low, left.high), (right.low, right.high)
    always = {"<": a1 < b0, "<=": a1 <= b0, ">": a0 > b1, ">=": a0 >= b1,
              "==": a0 == a1 == b0 == b1, "!=": a1 < b0 or a0 > b1}[op]
    never = {"<": a0 >= b1, "<=": a0 > b1, ">": a1 <= b0, ">=": a1 < b0,
             "==": a1 < b0 or a0 > b1, "!=": a0 == a1 == b0 == b1}[op]
    return True if always else False if never else None


def _decide_connective(op: str, a: bool | None, b: bool | None) -> bool | None:
    if op == "and":
        return False if False in (a, b) else True if a is b is True else None
    if op == "or":
        return True if True in (a, b) else False if a is b is False else None
    return True if a is False or b is True else False if a is True and b is False else None


def _is_const_only(node: Any) -> bool:
    """A comparison of literals only: reported once at rule level rather than per comparison."""
    return isinstance(node, ast.Compare) and node.left.kind == "number" and node.right.kind == "number"


def check_program(program: ast.Program, source: str, file: str) -> tuple[ir.CheckedProgram | None, list]:
    checker = Checker(program, source, file)
    checked = checker.run()
    return checked, checker.bag.sorted()
