"""Compiled truth values equal formulas written by hand with LTNtorch's own API (to 1e-6).

The hand-written formulas take the measured quantities (counts, lengths, attribute
distributions, relation values) as individuals of `ltn.Variable`s, and are built only
from `ltn.Predicate`, `ltn.Connective`, `ltn.Quantifier` and `ltn.fuzzy_ops`; guards on
presence use LTN's own guarded quantification (`cond_vars`, `cond_fn`).
"""

from __future__ import annotations

import ltn
import pytest
import torch

from dire_dsl.lang.program import load_rules
from dire_dsl.logic.compiler import LogicOutput, compile_program
from dire_dsl.logic.grounding import Grounding
from tests.logic.conftest import ROOT, random_grounding

FROZEN = ROOT / "tests" / "fixtures" / "frozen_rules"  # the shipped files as these formulas were written for

SIGMA, TAU = 0.5, 0.02
Forall = ltn.Quantifier(ltn.fuzzy_ops.AggregPMeanError(p=2), quantifier="f")
Exists = ltn.Quantifier(ltn.fuzzy_ops.AggregPMean(p=2), quantifier="e")
And = ltn.Connective(ltn.fuzzy_ops.AndProd())
Implies = ltn.Connective(ltn.fuzzy_ops.ImpliesReichenbach())


def equals(k: float) -> ltn.Predicate:
    return ltn.Predicate(func=lambda n: torch.exp(-((n - k) ** 2) / (2 * SIGMA**2)))


def between(low: float, high: float) -> ltn.Predicate:
    """`v in [low, high]`: τ is relative to each bound's magnitude (floored at 0.01)."""
    tau_low, tau_high = TAU * max(abs(low), 0.01), TAU * max(abs(high), 0.01)
    return ltn.Predicate(func=lambda v: torch.sigmoid((v - low) / tau_low) * torch.sigmoid((high - v) / tau_high))


def lookup(table: torch.Tensor) -> ltn.Predicate:
    """A predicate over index variables: table[i] or table[i, j] (or [i, j, k])."""
    return ltn.Predicate(func=lambda *idx: table[tuple(i.long().squeeze(-1) for i in idx)])


def index(label: str, size: int) -> ltn.Variable:
    return ltn.Variable(label, torch.arange(size, dtype=torch.float32)[:, None])


def present(presence: torch.Tensor):  # noqa: ANN201 (an LTN cond_fn: it receives LTNObjects)
    return lambda *idx: torch.stack([presence[i.value.long().squeeze(-1)] > 0.5 for i in idx]).all(0)


def hard_grounding(name: str, seed: int) -> tuple[Grounding, LogicOutput]:
    """A random grounding with 0/1 presence (some domains empty), and its compiled evaluation."""
    prog = load_rules(FROZEN / f"{name}.rules") if "/" not in name else load_rules(ROOT / name)
    grounding = random_grounding(prog, batch=4, size=16, slots=4, seed=seed)
    for grounded in grounding.objects.values():
        grounded.presence = (grounded.presence > 0.45).float()
    next(iter(grounding.objects.values())).presence[0] = 0.0  # one empty domain
    return grounding, compile_program(prog)(grounding)


def term(output: LogicOutput, text: str) -> torch.Tensor:
    return next(value for atoms in output.atoms.values() for atom in atoms for t, value in atom.terms if t == text)


def truth(output: LogicOutput, text: str) -> torch.Tensor:
    return output.find(text)[0].truth


@pytest.mark.parametrize("seed", [0, 1])
def test_forall_over_cells_with_count(seed: int) -> None:
    grounding, out = hard_grounding("pushpins", seed)
    counts = term(out, "count(pushpin in c)")  # [B, 15], one count per compartment
    for image in range(4):
        c = ltn.Variable("c", counts[image])
        reference = Forall(c, equals(1)(c)).value
        assert float(out.rule("one_per_compartment")[image]) == pytest.approx(float(reference), abs=1e-6)
    n = ltn.Variable("image", grounding.objects["pushpin"].presence.sum(-1))
    assert torch.allclose(out.rule("fifteen_pins"), equals(15)(n).value, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_pairs_of_distinct_instances_guarded(seed: int) -> None:
    grounding, out = hard_grounding("splicing_connectors", seed)
    connector = grounding.objects["connector"]
    for image in range(4):
        clamps = connector.attributes["clamps"][image]
        same = (clamps[:, None, :] * clamps[None, :, :]).sum(-1)  # P(a.clamps = b.clamps), [K, K]
        a, b = index("a", 4), index("b", 4)
        presence = connector.presence[image]
        distinct = lambda i, j: present(presence)(i, j) & (i.value != j.value).squeeze(-1)  # noqa: E731, B023
        reference = Forall([a, b], lookup(same)(a, b), cond_vars=[a, b], cond_fn=distinct).value
        assert float(out.rule("same_size")[image]) == pytest.approx(float(reference), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_implications_ranges_and_attributes_under_a_guard(seed: int) -> None:
    grounding, out = hard_grounding("screw_bag", seed)
    screw = grounding.objects["screw"]
    lengths = term(out, "length(s)")  # [B, K]
    for image in range(4):
        s = index("s", 4)
        dist = screw.attributes["length"][image]
        is_long, is_short = lookup(dist[:, 0]), lookup(dist[:, 1])
        length = ltn.Variable("s", lengths[image])  # the same individuals, by value
        body = And(Implies(is_long(s), between(0.38, 0.5)(length)), Implies(is_short(s), between(0.22, 0.32)(length)))
        reference = Forall(s, body, cond_vars=[s], cond_fn=present(screw.presence[image])).value
        assert float(out.rule("screw_lengths")[image]) == pytest.approx(float(reference), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_count_and_relation_under_a_guard(seed: int) -> None:
    grounding, out = hard_grounding("pcb1", seed)
    chip = grounding.objects["chip"]
    on_board = truth(out, "inside(c, board)")  # [B, K]
    for image in range(4):
        c, n = index("c", 4), ltn.Constant(chip.presence[image].sum())
        guarded = Forall(c, lookup(on_board[image])(c), cond_vars=[c], cond_fn=present(chip.presence[image]))
        reference = And(equals(1)(n), ltn.LTNObject(guarded.value.float(), []))
        assert float(out.rule("one_chip_on_board")[image]) == pytest.approx(float(reference.value), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_mapping_table_and_ranges_on_class_level_values(seed: int) -> None:
    grounding, out = hard_grounding("juice_bottle", seed)
    icon, juice = grounding.objects["icon"], grounding.objects["juice"]

    def class_dist(grounded, attr: str, image: int) -> torch.Tensor:  # presence-weighted mean (+ uniform prior)
        w, dist = grounded.presence[image], grounded.attributes[attr][image]
        return ((w[:, None] * dist).sum(0) + 1e-3 / dist.shape[-1]) / (w.sum() + 1e-3)

    table = torch.eye(3)  # cherry→red, orange→yellow, banana→white: same positions
    matches = ltn.Predicate(func=lambda f, c: ((f @ table) * c).sum(-1))
    y_fruit, y_juice = term(out, "y(fruit_label)"), term(out, "y(juice_label)")
    for image in range(4):
        fruit = ltn.Constant(class_dist(icon, "fruit", image)[None])
        color = ltn.Constant(class_dist(juice, "color", image)[None])
        reference = matches(fruit, color).value
        assert float(out.rule("juice_matches_icon")[image]) == pytest.approx(float(reference), abs=1e-6)
        placed = And(between(0.45, 0.62)(ltn.Constant(y_fruit[image])),
                     between(0.72, 0.88)(ltn.Constant(y_juice[image])))
        assert float(out.rule("labels_in_place")[image]) == pytest.approx(float(placed.value), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_nested_quantifiers_in_lukasiewicz_semantics(seed: int) -> None:
    grounding, out = hard_grounding("tests/fixtures/good/lukasiewicz_nested.rules", seed)
    and_luk, not_ = ltn.Connective(ltn.fuzzy_ops.AndLuk()), ltn.Connective(ltn.fuzzy_ops.NotStandard())
    forall4 = ltn.Quantifier(ltn.fuzzy_ops.AggregPMeanError(p=4), quantifier="f")
    touches = truth(out, "touches(n, w)")[:, :, :]  # [B, n, w]
    overlaps = truth(out, "overlaps(m, w)")  # [B, n, w, m] (constant along n)
    nut, washer = grounding.objects["nut"].presence, grounding.objects["washer"].presence
    for image in range(4):
        n, w, m = index("n", 4), index("w", 4), index("m", 4)
        inner = Exists(m, lookup(overlaps[image, 0].T)(m, w), cond_vars=[m], cond_fn=present(nut[image]))
        body = and_luk(lookup(touches[image])(n, w), not_(ltn.LTNObject(inner.value.float(), inner.free_vars)))
        middle = Exists(w, body, cond_vars=[w], cond_fn=present(washer[image]))
        reference = forall4(n, ltn.LTNObject(middle.value.float(), middle.free_vars), cond_vars=[n],
                            cond_fn=present(nut[image])).value
        assert float(out.rule("nested")[image]) == pytest.approx(float(reference), abs=1e-6)


def test_s_logic_is_the_gated_aggregate() -> None:
    _, out = hard_grounding("screw_bag", 0)
    gates = torch.ones(out.truth.shape[1])  # every rule of screw_bag has weight 1
    expected = 1 - ((1 - out.truth) * gates).sum(-1) / gates.sum()
    assert torch.allclose(out.s_logic, expected, atol=1e-6)
