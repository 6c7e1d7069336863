"""Rule gates: initial values, λ-penalty on soft rules only, pruning reports, S_logic."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.logic.compiler import compile_program
from tests.logic.conftest import program, random_grounding

PROG = program('object pin "p"\n'
               "rule must hard weight 3: count(pin) >= 1\n"
               "rule heavy weight 2: area(pin) >= 0.1\n"
               "rule light weight 0.5: area(pin) <= 0.5\n"
               "train { lambda = 0.01, prune_threshold = 0.6 }\n")


def test_gates_start_at_the_rule_weights_and_only_soft_ones_learn() -> None:
    module = compile_program(PROG)
    assert module.gate_values().tolist() == [3.0, 2.0, 0.5]
    assert [name for name, _ in module.named_parameters()] == ["gates.soft"]


def test_penalty_is_lambda_times_soft_gates() -> None:
    module = compile_program(PROG)
    assert module.penalty().detach().item() == pytest.approx(0.01 * 2.5)
    assert module.penalty(1.0).detach().item() == pytest.approx(2.5)
    module.penalty(1.0).backward()
    assert module.gates.soft.grad.tolist() == [1.0, 1.0]


def test_pruned_reports_soft_rules_under_the_threshold() -> None:
    module = compile_program(PROG)
    assert module.pruned() == [("light", 0.5, "gate 0.5 < prune_threshold 0.6")]
    assert [name for name, _, _ in module.pruned(10.0)] == ["heavy", "light"]  # never the hard rule
    with torch.no_grad():
        module.gates.soft.copy_(torch.tensor([-2.0, 0.5]))  # a gate is |w|
    assert module.gate_values().tolist() == [3.0, 2.0, 0.5]


def test_prune_switches_rules_off_for_s_logic() -> None:
    module = compile_program(PROG)
    grounding = random_grounding(PROG, batch=3)
    before = module(grounding)
    assert module.gates.prune(0.6) == [("light", 0.5, "gate 0.5 < prune_threshold 0.6")]
    after = module(grounding)
    truth = after.truth
    expected = 1 - (3 * (1 - truth[:, 0]) + 2 * (1 - truth[:, 1])) / 5
    assert torch.allclose(after.s_logic, expected, atol=1e-6) and not torch.allclose(before.s_logic, after.s_logic)
    assert module.pruned(0.6) == [("light", 0.0, "switched off by prune()")]
    assert "gates.active" in module.state_dict()
