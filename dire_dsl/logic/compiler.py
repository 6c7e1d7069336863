"""Checked rules → one differentiable module: truth of every rule, S_logic, atom values.

`compile_program` walks the IR once and turns every node into a small closure; a forward
pass only runs tensor code. Values follow the layout of `dire_dsl.logic.tensors` (one axis
per quantified variable), so quantifiers reduce axes and nothing is copied to a joint
domain. The semantics of each construct is written out in docs/logic.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor, nn

from dire_dsl.errors import DireError
from dire_dsl.lang import ir
from dire_dsl.lang.ast import Span
from dire_dsl.lang.signatures import REGISTRY
from dire_dsl.logic import measures  # noqa: F401  (attaches the built-in implementations)
from dire_dsl.logic.atoms import Atom, Axis
from dire_dsl.logic.entities import Entity, MeasureContext
from dire_dsl.logic.gates import RuleGates
from dire_dsl.logic.grounding import Grounding
from dire_dsl.logic.operators import FuzzyLogic, threshold_scale
from dire_dsl.logic.regions import MASS, Raster, RasterCache, cell_labels, moments
from dire_dsl.logic.semantics import semantics_from_settings
from dire_dsl.logic.tensors import MASS_EPS, full_precision, lift, place

WEIGHT_EPS = 1e-3
"""Instance weight added when averaging attributes over a set: an empty set is uniform."""

Value = Tensor | Entity
Node = Callable[["Env"], Tensor]
TermNode = Callable[["Env"], Value]


class CompileError(DireError, ValueError):
    """A checked program names something the logic layer cannot evaluate (e.g. no implementation)."""


@dataclass(frozen=True)
class Var:
    """A quantified variable and its axis (1-based) in the value layout."""

    name: str
    axis: int


Scope = tuple[Var, ...]


@dataclass
class Env:
    """Everything one forward pass shares: the grounding, operators, caches, recorded atoms."""

    grounding: Grounding
    logic: FuzzyLogic
    ctx: MeasureContext
    raster: Raster
    rule: str = ""
    axes: list[Axis] = field(default_factory=list)
    atoms: dict[str, list[Atom]] = field(default_factory=dict)
    _constants: dict[Any, Tensor] = field(default_factory=dict)
    _moments: dict[str, Tensor] = field(default_factory=dict)

    def const(self, value: float, depth: int) -> Tensor:
        key = (value, depth)
        if key not in self._constants:
            self._constants[key] = torch.full((1,) * (depth + 1), float(value), dtype=self.grounding.dtype,
                                              device=self.grounding.device)
        return self._constants[key]

    def instance_moments(self, obj: str) -> Tensor:
        """[B, K, F] basis moments of every instance of `obj`: one pass over its masks per batch."""
        if obj not in self._moments:
            self._moments[obj] = moments(self.grounding.objects[obj].instances, self.raster.basis)
        return self._moments[obj]

    def record(self, node: ir.IRNode, kind: str, op: str, terms: list[tuple[str, Tensor]], truth: Tensor) -> None:
        shape = (self.grounding.batch_size, *(len(axis.labels) for axis in self.axes))
        atom = Atom(self.rule, kind, op, node.text, node.span,
                    tuple((text, value.expand(shape)) for text, value in terms), truth.expand(shape), tuple(self.axes))
        self.atoms.setdefault(self.rule, []).append(atom)


@dataclass
class LogicOutput:
    """Rule truths [B, R] (program order), S_logic [B], and the atoms behind each rule."""

    truth: Tensor
    s_logic: Tensor
    rules: tuple[str, ...]
    atoms: dict[str, list[Atom]]

    def rule(self, name: str) -> Tensor:
        return self.truth[:, self.rules.index(name)]

    def find(self, text: str) -> list[Atom]:
        """Atoms whose source text is `text` (as written in the rule, whitespace collapsed)."""
        return [atom for atoms in self.atoms.values() for atom in atoms if atom.text == text]

    def at(self, span: Span) -> list[Atom]:
        """Atoms starting where `span` starts (line, column)."""
        return [atom for atoms in self.atoms.values() for atom in atoms
                if (atom.span.line, atom.span.column) == (span.line, span.column)]


class CompiledRules(nn.Module):
    """The rules of one program as a module: `forward(grounding) -> LogicOutput`."""

    def __init__(self, program: ir.CheckedProgram) -> None:
        super().__init__()
        self.program = program
        self.logic = FuzzyLogic(semantics_from_settings(program.logic))
        self.gates = RuleGates(program.rules)
        self.rule_names = tuple(rule.name for rule in program.rules)
        compiler = _Compiler(program)
        self._rules = [compiler.formula(rule.formula, ()) for rule in program.rules]
        self._rasters = RasterCache(program.regions)

    def forward(self, grounding: Grounding) -> LogicOutput:
        """Rule truths in the grounding's dtype. Mixed precision (autocast) is switched off here:
        products of many truths in [0, 1] underflow in float16, and the fuzzy operators keep
        their stability margins only in float32 or wider."""
        with full_precision(grounding.device.type):
            env = self._env(grounding)
            truths = []
            for name, rule in zip(self.rule_names, self._rules):
                env.rule = name
                truths.append(rule(env).expand(grounding.batch_size))
            truth = torch.stack(truths, dim=1)
            return LogicOutput(truth, self.gates.aggregate(truth), self.rule_names, env.atoms)

    def _env(self, grounding: Grounding) -> Env:
        grounding.validate(self.program)
        height, width = grounding.mask_size
        raster = self._rasters.get(height, width, grounding.dtype, grounding.device)
        return Env(grounding, self.logic, MeasureContext(self.logic.tau, height, width), raster)

    def gate_values(self) -> Tensor:
        """Gates [R] in rule order, differentiable (for a custom gate loss)."""
        return self.gates.values()

    def penalty(self, lmbda: float | None = None) -> Tensor:
        """λ·Σ|g| over soft rules; λ defaults to the program's `train { lambda }`."""
        return self.gates.penalty(self.program.train["lambda"] if lmbda is None else lmbda)

    def pruned(self, threshold: float | None = None) -> list[tuple[str, float, str]]:
        """(rule, gate, reason) of soft rules under `threshold` (default `train { prune_threshold }`)."""
        return self.gates.pruned(self.program.train["prune_threshold"] if threshold is None else threshold)


def compile_program(program: ir.CheckedProgram) -> CompiledRules:
    """Compile a checked program once; run the result on as many groundings as you like."""
    return CompiledRules(program)


@lru_cache(maxsize=256)
def _slot_labels(obj: str, slots: int) -> tuple[str, ...]:
    return tuple(f"{obj}#{k + 1}" for k in range(slots))


class _Compiler:
    """IR node → closure over Env. Every closure returns the layout of its scope depth."""

    def __init__(self, program: ir.CheckedProgram) -> None:
        self.program = program

    # ------------------------------------------------------------ formulas
    def formula(self, node: Any, scope: Scope) -> Node:
        method = getattr(self, f"_f_{node.kind}")
        return method(node, scope)

    def _f_truth(self, node: ir.Truth, scope: Scope) -> Node:
        value, depth = float(node.value), len(scope)
        return lambda env: env.const(value, depth)

    def _f_cmp(self, node: ir.Comparison, scope: Scope) -> Node:
        left, right = self.term(node.left, scope), self.term(node.right, scope)
        scale = threshold_scale(ir.constant_value(node.left), ir.constant_value(node.right))
        present = self.presence(ir.measured_sets(node.left) + ir.measured_sets(node.right), scope)

        def compare(env: Env) -> Tensor:
            a, b = left(env), right(env)
            counts = [(text, count(env)) for text, count in present]
            truth = self.given(env, env.logic.compare(node.op, a, b, scale, node.integer), counts)
            env.record(node, "comparison", node.op, [(node.left.text, a), (node.right.text, b)] + counts, truth)
            return truth

        return compare

    def _f_range(self, node: ir.Range, scope: Scope) -> Node:
        value, low, high = (self.term(t, scope) for t in (node.value, node.low, node.high))
        low_scale = threshold_scale(ir.constant_value(node.low))
        high_scale = threshold_scale(ir.constant_value(node.high))
        present = self.presence([s for t in (node.value, node.low, node.high) for s in ir.measured_sets(t)], scope)

        def in_range(env: Env) -> Tensor:
            v, lo, hi = value(env), low(env), high(env)
            counts = [(text, count(env)) for text, count in present]
            truth = self.given(env, env.logic.in_range(v, lo, hi, low_scale, high_scale), counts)
            env.record(node, "range", "in", [(node.value.text, v), (node.low.text, lo), (node.high.text, hi)] + counts,
                       truth)
            return truth

        return in_range

    def _f_attr_is(self, node: ir.AttributeIs, scope: Scope) -> Node:
        dist, index = self.attribute(node.subject, scope), node.subject.values.index(node.value)
        label = f"P({node.subject.text} = {node.value})"
        present = self.presence([node.subject.subject], scope)

        def attr_is(env: Env) -> Tensor:
            probability = dist(env)[..., index]
            counts = [(text, count(env)) for text, count in present]
            truth = self.given(env, 1.0 - probability if node.negated else probability, counts)
            env.record(node, "attribute", "is not" if node.negated else "is", [(label, probability)] + counts, truth)
            return truth

        return attr_is

    def _f_attr_same(self, node: ir.AttributeSame, scope: Scope) -> Node:
        left, right = self.attribute(node.left, scope), self.attribute(node.right, scope)
        aligned = [node.right.values.index(v) for v in node.left.values]
        present = self.presence([node.left.subject, node.right.subject], scope)

        def attr_same(env: Env) -> Tensor:
            same = (left(env) * right(env)[..., aligned]).sum(-1)
            counts = [(text, count(env)) for text, count in present]
            truth = self.given(env, 1.0 - same if node.negated else same, counts)
            env.record(node, "attribute", "differs" if node.negated else "same", counts, truth)
            return truth

        return attr_same

    def _f_table(self, node: ir.Table, scope: Scope) -> Node:
        source, target = self.attribute(node.source, scope), self.attribute(node.target, scope)
        cells = [(node.source.values.index(u), node.target.values.index(v)) for u, v in node.pairs]
        shape = (len(node.source.values), len(node.target.values))
        present = self.presence([node.source.subject, node.target.subject], scope)

        def table(env: Env) -> Tensor:
            allowed = torch.zeros(shape, dtype=env.grounding.dtype, device=env.grounding.device)
            allowed[tuple(zip(*cells))] = 1.0
            counts = [(text, count(env)) for text, count in present]
            truth = self.given(env, ((source(env) @ allowed) * target(env)).sum(-1), counts)
            env.record(node, "table", "table", counts, truth)
            return truth

        return table

    def _f_predicate(self, node: ir.Predicate, scope: Scope) -> Node:
        call = self.call(node.func, node.args, scope)
        entities = (ir.ObjectSet, ir.Instance, ir.RegionSelection)
        numbers = [(i, arg.text) for i, arg in enumerate(node.args) if not isinstance(arg, entities)]
        present = self.presence(node.args, scope)

        def relation(env: Env) -> Tensor:
            args, truth = call(env)
            counts = [(text, count(env)) for text, count in present]
            truth = self.given(env, truth, counts)
            env.record(node, "relation", node.func, [(text, args[i]) for i, text in numbers] + counts, truth)
            return truth

        return relation

    def _f_not(self, node: ir.Not, scope: Scope) -> Node:
        operand = self.formula(node.operand, scope)
        return lambda env: env.logic.not_(operand(env))

    def _f_connective(self, node: ir.Connective, scope: Scope) -> Node:
        left, right = self.formula(node.left, scope), self.formula(node.right, scope)
        op = {"and": "and_", "or": "or_", "implies": "implies"}[node.op]
        return lambda env: getattr(env.logic, op)(left(env), right(env))

    def _f_quant(self, node: ir.Quantifier, scope: Scope) -> Node:
        depth = len(scope)
        new = tuple(Var(name, depth + 1 + i) for i, name in enumerate(node.variables))
        body = self.formula(node.body, scope + new)
        members = self.domain(node.domain)
        dims = tuple(var.axis for var in new)
        exists = node.quantifier == "exists"

        def quantified(env: Env) -> Tensor:
            weights, labels = members(env)  # [B|1, n]
            env.axes.extend(Axis(var.name, labels, weights, new[0].name if i else "") for i, var in enumerate(new))
            truth = body(env)
            del env.axes[depth:]
            full = place(weights, depth + 1, depth + len(new))
            if len(new) == 2:  # ordered pairs of distinct members
                distinct = 1.0 - torch.eye(len(labels), dtype=weights.dtype, device=weights.device)
                full = full * place(weights, depth + 2, depth + 2) * lift(distinct[None], depth)
            return env.logic.exists(truth, full, dims) if exists else env.logic.forall(truth, full, dims)

        return quantified

    def domain(self, domain: ir.Domain) -> Callable[[Env], tuple[Tensor, tuple[str, ...]]]:
        """Member weights [B|1, n] and labels of a quantifier's domain."""
        if domain.kind == "cells":
            region = self.program.region(domain.name)
            labels = cell_labels(region)

            def cells(env: Env) -> tuple[Tensor, tuple[str, ...]]:
                return env.const(1.0, 1).expand(1, len(labels)), labels

            return cells
        where = domain.where

        def instances(env: Env) -> tuple[Tensor, tuple[str, ...]]:
            grounded = env.grounding.objects[domain.name]
            weights = grounded.presence
            if where is not None:
                weights = weights * _filter(grounded.attributes[where.attribute], self.program, domain.name, where)
            return weights, _slot_labels(domain.name, grounded.slots)

        return instances

    # ------------------------------------------------------------ terms
    def term(self, node: Any, scope: Scope) -> TermNode:
        method = getattr(self, f"_t_{node.kind}")
        return method(node, scope)

    def _t_const(self, node: ir.Constant, scope: Scope) -> Node:
        value, depth = node.value, len(scope)
        return lambda env: env.const(value, depth)

    def _t_measure(self, node: ir.Measure, scope: Scope) -> Node:
        call = self.call(node.func, node.args, scope)
        return lambda env: call(env)[1]

    def _t_arith(self, node: ir.Arithmetic, scope: Scope) -> Node:
        left, right = self.term(node.left, scope), self.term(node.right, scope)
        operation = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div}[node.op]
        return lambda env: operation(left(env), right(env))

    def _t_neg(self, node: ir.Negation, scope: Scope) -> Node:
        operand = self.term(node.operand, scope)
        return lambda env: -operand(env)

    def _t_instance(self, node: ir.Instance, scope: Scope) -> TermNode:
        axis, depth = _lookup(scope, node.var).axis, len(scope)
        return lambda env: Entity(lambda: place(env.grounding.objects[node.object].instances, axis, depth),
                                  env.raster.basis,
                                  moments=lambda: place(env.instance_moments(node.object), axis, depth))

    def _t_region(self, node: ir.RegionSelection, scope: Scope) -> TermNode:
        depth = len(scope)
        if node.var is not None:
            axis = _lookup(scope, node.var).axis
            return lambda env: Entity(lambda: place(env.raster.regions[node.region].cells[None], axis, depth),
                                      env.raster.basis)
        return lambda env: Entity(lambda: lift(env.raster.regions[node.region].select(node.cell)[0], depth),
                                  env.raster.basis)

    def _t_objects(self, node: ir.ObjectSet, scope: Scope) -> TermNode:
        weights, mask = self.object_weights(node, scope), self.object_mask(node, scope)
        return lambda env: Entity(lambda: mask(env), env.raster.basis, weights=lambda: weights(env))

    def _t_attr(self, node: ir.AttributeDistribution, scope: Scope) -> Node:
        return self.attribute(node, scope)

    # ------------------------------------------------------------ pieces
    def presence(self, terms: list[Any], scope: Scope) -> list[tuple[str, Node]]:
        """For each object set among `terms`: "parts of `text`" and how many instances have some
        of their mask in it [B, *S] (the soft count when the set is not narrowed to a region;
        bound instances and regions are always there, and quantifiers weigh absent slots)."""
        found: dict[str, Node] = {}
        for term in terms:
            if isinstance(term, ir.ObjectSet) and f"parts of {term.text}" not in found:
                weights = self.object_weights(term, scope, support=True)
                found[f"parts of {term.text}"] = lambda env, weights=weights: weights(env).sum(-1)
        return list(found.items())

    @staticmethod
    def given(env: Env, truth: Tensor, counts: list[tuple[str, Tensor]]) -> Tensor:
        """`truth` × min(2·count, 1) of each set: a plain product, which every t-norm agrees with
        when a set is surely there (× 1, the truth unchanged) or surely empty (× 0). Half a part
        already counts as there, so the bend lies at 1/2, never at the whole counts of a sure
        grounding (where a gradient would be ambiguous)."""
        for _, count in counts:
            truth = truth * (2.0 * count).clamp(max=1.0)
        return truth

    def call(self, func: str, args: list[Any], scope: Scope) -> Callable[[Env], tuple[list[Value], Tensor]]:
        """A registered implementation applied to compiled arguments; checks the result's layout."""
        try:
            implementation = REGISTRY.implementation(func)
        except KeyError as error:
            raise CompileError(str(error).strip('"')) from None
        compiled, depth = [self.term(arg, scope) for arg in args], len(scope)

        def apply(env: Env) -> tuple[list[Value], Tensor]:
            values = [arg(env) for arg in compiled]
            result = implementation(env.ctx, *values)
            if not isinstance(result, Tensor) or result.ndim != depth + 1:
                shape = list(result.shape) if isinstance(result, Tensor) else type(result).__name__
                raise CompileError(f"`{func}` returned {shape}; inside {depth} quantified variable(s) it must return "
                                   f"a tensor with {depth + 1} axes [B, ...] (see docs/plugins.md)")
            return values, result

        return apply

    def object_weights(self, node: ir.ObjectSet, scope: Scope, support: bool = False) -> Node:
        """Per-instance weights [B, *S, K]: presence × `where` probability × fraction inside the region
        (`support`: × "some of it is inside", min(2 × its mask's mass inside the region in pixels, 1))."""
        depth, region, var_axis = len(scope), node.region, _cell_axis(node, scope)

        def weights(env: Env) -> Tensor:
            grounded = env.grounding.objects[node.object]
            base = grounded.presence
            if node.where is not None:
                base = base * _filter(grounded.attributes[node.where.attribute], self.program, node.object, node.where)
            base = lift(base, depth)
            if region is None:
                return base
            sums = env.instance_moments(node.object)
            mass = sums[..., MASS] + MASS_EPS
            raster = env.raster.regions[region.region]
            if var_axis is None:
                inside = sums[..., raster.select(region.cell)[1]]
                return base * lift((2.0 * inside).clamp(max=1.0) if support else inside / mass, depth)
            inside = sums[..., raster.cell_columns]  # [B, K, cells]
            inside = (2.0 * inside).clamp(max=1.0) if support else inside / mass[..., None]
            return base * place(inside.transpose(1, 2), var_axis, depth)

        return weights

    def object_mask(self, node: ir.ObjectSet, scope: Scope) -> Node:
        """The set's soft mask [B, *S, H, W]: class mask (or union of kept instances) × region."""
        depth, region, var_axis = len(scope), node.region, _cell_axis(node, scope)

        def mask(env: Env) -> Tensor:
            grounded = env.grounding.objects[node.object]
            if node.where is None:
                base = grounded.mask
            else:
                kept = grounded.presence * _filter(grounded.attributes[node.where.attribute], self.program,
                                                   node.object, node.where)
                base = 1.0 - torch.prod(1.0 - kept[..., None, None] * grounded.instances, dim=1)
            base = lift(base, depth)
            if region is None:
                return base
            raster = env.raster.regions[region.region]
            if var_axis is None:
                return base * lift(raster.select(region.cell)[0], depth)
            return base * place(raster.cells[None], var_axis, depth)

        return mask

    def attribute(self, node: ir.AttributeDistribution, scope: Scope) -> Node:
        """A distribution [B, *S, V]: one instance's, or the weighted mean over an object set."""
        depth, subject = len(scope), node.subject
        if isinstance(subject, ir.Instance):
            axis = _lookup(scope, subject.var).axis
            return lambda env: place(env.grounding.objects[subject.object].attributes[node.attribute], axis, depth)
        weights = self.object_weights(subject, scope)
        uniform = 1.0 / len(node.values)

        def mean(env: Env) -> Tensor:
            w = weights(env)[..., None]  # [B, *S, K, 1]
            dists = lift(env.grounding.objects[subject.object].attributes[node.attribute], depth)
            return ((w * dists).sum(-2) + WEIGHT_EPS * uniform) / (w.sum(-2) + WEIGHT_EPS)

        return mean


def _lookup(scope: Scope, name: str) -> Var:
    return next(var for var in reversed(scope) if var.name == name)


def _cell_axis(node: ir.ObjectSet, scope: Scope) -> int | None:
    """The axis of the cell variable an object set is narrowed to (`pin in c`), if any."""
    region = node.region
    return _lookup(scope, region.var).axis if region is not None and region.var else None


def _filter(dist: Tensor, program: ir.CheckedProgram, obj: str, where: ir.Filter) -> Tensor:
    """Probability [B, K] that each instance passes `where attr == value` (or `!=`)."""
    index = program.object(obj).attributes[where.attribute].index(where.value)
    probability = dist[..., index]
    return probability if where.op == "==" else 1.0 - probability
