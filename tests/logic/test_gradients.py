"""Gradients: correct (gradcheck in float64), finite at the edges, and no float64 leaks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dire_dsl.lang import ir
from dire_dsl.lang.program import load_rules
from dire_dsl.logic.compiler import LogicOutput, compile_program
from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from tests.logic.conftest import ROOT, RULES_FILES, random_grounding

ALL_CONSTRUCTS = ROOT / "tests/fixtures/good/all_constructs.rules"
LUKASIEWICZ_NESTED = ROOT / "tests/fixtures/good/lukasiewicz_nested.rules"
PROGRAMS = {path.stem: path for path in [*RULES_FILES, ALL_CONSTRUCTS, LUKASIEWICZ_NESTED]}
SLOTS, SIZE = 3, 4


def edge_grounding(prog: ir.CheckedProgram, case: str, dtype: torch.dtype, batch: int = 2) -> Grounding:
    """Random soft values, or one of the edge cases every grounding model will produce."""
    grounding = random_grounding(prog, batch=batch, size=SIZE, slots=SLOTS, dtype=dtype, seed=3)
    for grounded in grounding.objects.values():
        if case == "empty":  # nothing found: zero masks, zero presence, uniform attributes
            tensors = [grounded.mask, grounded.instances, grounded.presence]
            for tensor in tensors:
                tensor.zero_()
            for dist in grounded.attributes.values():
                dist.fill_(1.0 / dist.shape[-1])
        elif case == "all_zero":  # not even distributions
            for tensor in [grounded.mask, grounded.instances, grounded.presence, *grounded.attributes.values()]:
                tensor.zero_()
        elif case == "all_one":
            for tensor in [grounded.mask, grounded.instances, grounded.presence, *grounded.attributes.values()]:
                tensor.fill_(1.0)
        elif case == "saturated":  # every probability exactly 0 or 1, attributes one-hot
            for tensor in [grounded.mask, grounded.instances, grounded.presence]:
                tensor.copy_((tensor > 0.5).to(dtype))
            for dist in grounded.attributes.values():
                dist.copy_(torch.nn.functional.one_hot(dist.argmax(-1), dist.shape[-1]).to(dtype))
    return grounding


def leaves(grounding: Grounding) -> list[torch.Tensor]:
    return [t for g in grounding.objects.values() for t in (g.mask, g.instances, g.presence, *g.attributes.values())]


def rebuild(grounding: Grounding) -> Callable[..., Grounding]:
    """Function of the leaf tensors (in `leaves` order) back to a Grounding."""
    def build(*tensors: torch.Tensor) -> Grounding:
        it = iter(tensors)
        objects = {name: ObjectGrounding(next(it), next(it), next(it), {a: next(it) for a in g.attributes})
                   for name, g in grounding.objects.items()}
        return Grounding(objects, grounding.embedding)

    return build


# Random soft inputs for every program; the edge cases on the file with every construct
# and on two shipped files (gradcheck costs two forward passes per input number).
GRADCHECK_CASES = [(name, "random") for name in sorted(PROGRAMS)] + [
    (name, case) for name in ("all_constructs", "pushpins", "splicing_connectors")
    for case in ("empty", "all_one", "saturated")
]


@pytest.mark.parametrize(("name", "case"), GRADCHECK_CASES)
def test_gradcheck_float64(name: str, case: str) -> None:
    prog = load_rules(PROGRAMS[name])
    module = compile_program(prog)
    grounding = edge_grounding(prog, case, torch.float64, batch=1)  # two forward passes per input number
    inputs = [t.clone().requires_grad_(True) for t in leaves(grounding)]
    build = rebuild(grounding)

    def forward(*tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = module(build(*tensors))
        return out.truth, out.s_logic

    # a tiny step: at an empty mask a centroid moves 1/MASS_EPS = 1000× faster than the mask,
    # and `abs` (rounded over 1e-3) of a difference of two such centroids curves sharply
    assert torch.autograd.gradcheck(forward, inputs, eps=1e-10, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("case", ["empty", "all_zero", "all_one", "saturated"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradients_finite_at_the_edges(name: str, case: str) -> None:
    prog = load_rules(PROGRAMS[name])
    module = compile_program(prog)
    grounding = edge_grounding(prog, case, torch.float32)
    inputs = leaves(grounding)
    for tensor in inputs:
        tensor.requires_grad_(True)
    out = module(grounding)
    assert torch.isfinite(out.truth).all() and torch.isfinite(out.s_logic).all()
    if case in ("empty", "saturated"):  # all-zero / all-one attributes are not distributions
        assert ((out.truth >= 0) & (out.truth <= 1)).all()
    (out.truth.sum() + out.s_logic.sum() + module.penalty(1.0)).backward()
    grads = [tensor.grad for tensor in inputs if tensor.grad is not None]  # unused tensors get none
    assert grads and all(torch.isfinite(grad).all() for grad in grads)
    assert torch.isfinite(module.gates.soft.grad).all()


def all_tensors(out: LogicOutput) -> list[torch.Tensor]:
    found = [out.truth, out.s_logic]
    for atoms in out.atoms.values():
        for atom in atoms:
            found += [atom.truth, *(value for _, value in atom.terms), *(axis.weights for axis in atom.axes)]
    return found


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_dtype_in_is_dtype_out(name: str, dtype: torch.dtype) -> None:
    prog = load_rules(PROGRAMS[name])
    grounding = random_grounding(prog, batch=2, size=8, slots=SLOTS, dtype=dtype)
    for tensor in leaves(grounding):
        tensor.requires_grad_(True)
    out = compile_program(prog)(grounding)
    assert {t.dtype for t in all_tensors(out)} == {dtype}
    out.s_logic.sum().backward()
    assert {t.grad.dtype for t in leaves(grounding) if t.grad is not None} == {dtype}
