"""Loss functions, checked on hand-computed cases."""

from __future__ import annotations

import math

import torch

from dire_dsl.train import losses


def test_logic_gain_runs_from_one_to_max_gain() -> None:
    gain = losses.logic_gain(torch.tensor([1.0, 0.5, 0.0]), max_gain=11.0)
    assert gain.tolist() == [1.0, 6.0, 11.0]


def test_push_only_acts_inside_the_margin_and_scales_with_the_gain() -> None:
    center = torch.zeros(2)
    near = torch.tensor([[0.5, 0.0]])
    far = torch.tensor([[2.0, 0.0]])
    holds, breaks = torch.tensor([1.0]), torch.tensor([0.0])
    assert float(losses.push_loss(far, center, breaks, margin=1.0, max_gain=11.0)) == 0.0
    base = float(losses.push_loss(near, center, holds, margin=1.0, max_gain=11.0))
    assert math.isclose(base, 0.25, rel_tol=1e-5)
    gained = float(losses.push_loss(near, center, breaks, margin=1.0, max_gain=11.0))
    assert math.isclose(gained, 11 * base, rel_tol=1e-5)


def test_push_gain_carries_no_gradient_to_the_logic() -> None:
    s_logic = torch.tensor([0.3], requires_grad=True)
    emb = torch.tensor([[0.1, 0.0]], requires_grad=True)
    losses.push_loss(emb, torch.zeros(2), s_logic, 1.0, 11.0).backward()
    assert s_logic.grad is None and emb.grad is not None


def test_rule_satisfaction_is_the_weighted_mean_violation() -> None:
    truth = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    value = losses.rule_satisfaction_loss(truth, torch.tensor([3.0, 1.0]))
    assert math.isclose(float(value), ((0 * 0.75 + 1 * 0.25) + (0.5 * 0.75 + 0.5 * 0.25)) / 2, rel_tol=1e-6)


def test_compactness_is_mean_squared_distance() -> None:
    emb = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert math.isclose(float(losses.compactness_loss(emb, torch.zeros(2))), (1 + 4) / 2)


def test_gate_utility_rewards_rules_that_separate() -> None:
    gates = torch.ones(3, requires_grad=True)
    normal = torch.tensor([[1.0, 0.2, 1.0]])  # rule 1 is noisy on normals
    anomaly = torch.tensor([[0.0, 0.2, 1.0]])  # rule 0 catches the anomaly, rule 2 never fires
    losses.gate_utility_loss(gates, normal, anomaly, torch.tensor([True, True, True])).backward()
    assert gates.grad[0] < 0  # descending the loss grows the useful rule's gate
    assert gates.grad[1] == 0 and gates.grad[2] == 0
    hard = torch.ones(3, requires_grad=True)
    losses.gate_utility_loss(hard, normal, anomaly, torch.tensor([False, True, True])).backward()
    assert hard.grad[0] == 0  # hard rules are not trained


def test_component_loss_is_lower_for_the_right_answer() -> None:
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, 2:5, 2:5] = 1.0
    centers = torch.zeros(1, 1, 8, 8)
    centers[0, 0, 3, 3] = 1.0
    attr_target = {("o", "a"): torch.full((1, 8, 8), -1, dtype=torch.long)}
    attr_target[("o", "a")][0, 2:5, 2:5] = 1
    good_attr = {("o", "a"): torch.zeros(1, 2, 8, 8)}
    good_attr[("o", "a")][0, 1] = 5.0
    bad_attr = {("o", "a"): torch.zeros(1, 2, 8, 8)}
    bad_attr[("o", "a")][0, 0] = 5.0
    good = losses.component_loss(target * 10 - 5, centers * 10 - 5, target, centers, good_attr, attr_target)
    bad = losses.component_loss(5 - target * 10, 5 - centers * 10, target, centers, bad_attr, attr_target)
    assert float(good) < float(bad)


def test_component_loss_stays_finite_for_confident_half_precision_logits() -> None:
    """Autocast hands the loss float16 logits; a confident head (|logit| ≥ 12) must not give log(0)."""
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, 2:5, 2:5] = 1.0
    centers = torch.zeros(1, 1, 8, 8)
    centers[0, 0, 3, 3] = 1.0
    confident = (target * 24 - 12).half()
    loss = losses.component_loss(confident, (centers * 24 - 12).half(), target, centers, {}, {})
    assert loss.dtype == torch.float32
    assert math.isfinite(float(loss))
