"""Score fusion: z-scores against validation normals, the logic distance, the map's maximum."""

from __future__ import annotations

import torch

from dire_dsl.run.scoring import PATCH_MARGIN, BatchScores, Calibration, nearest_distance


def calibration(**changes: object) -> Calibration:
    values = dict(distance_mean=1.0, distance_std=0.5, rule_mean=[0.0, 0.1], rule_std=[0.02, 0.1],
                  rule_weight=[1.0, 1.0], patch_mean=0.2, patch_std=0.1, fusion=0.8, threshold=3.0, n_validation=10)
    values.update(changes)
    return Calibration(**values)


def scores(distance: list[float], rules: list[list[float]], patch: float = 0.2) -> BatchScores:
    n = len(distance)
    return BatchScores(torch.tensor(distance), torch.zeros(n), torch.tensor(rules), torch.full((n, 2, 2), patch),
                       logic=None, grounding=None)  # type: ignore[arg-type]


def test_logic_distance_is_the_worst_rule_in_normal_spreads() -> None:
    cal = calibration()
    z = cal.logic_distance(torch.tensor([[0.0, 0.1], [0.5, 0.1], [0.0, 0.6]]))
    assert torch.allclose(z, torch.tensor([0.0, 25.0, 5.0]))


def test_pruned_rules_do_not_count() -> None:
    cal = calibration(rule_weight=[0.0, 1.0])
    assert float(cal.logic_distance(torch.tensor([[0.9, 0.1]]))[0]) == 0.0


def test_fusion_mixes_logic_and_embedding_distance() -> None:
    batch = scores([2.0], [[0.2, 0.1]])
    fused = calibration(fusion=0.8).fused(batch)
    assert torch.allclose(fused, torch.tensor([0.8 * 10.0 + 0.2 * 2.0]))
    assert torch.allclose(calibration(fusion=0.0).fused(batch), torch.tensor([2.0]))


def test_map_maximum_is_the_image_score() -> None:
    cal = calibration()
    batch = scores([1.0, 1.0], [[0.0, 0.1], [0.4, 0.1]], patch=0.2 + 0.1 * (PATCH_MARGIN + 4))
    maps = cal.anomaly_map(batch, (8, 8))
    assert maps.shape == (2, 8, 8)
    assert torch.allclose(maps.amax(dim=(1, 2)), cal.image_score(batch))
    assert torch.allclose(cal.image_score(batch), torch.tensor([4.0, 16.0]), atol=1e-5)


def test_nearest_distance_matches_brute_force() -> None:
    queries, memory = torch.randn(50, 4), torch.randn(30, 4)
    expected = torch.cdist(queries, memory).min(dim=1).values
    assert torch.allclose(nearest_distance(queries, memory, chunk=7), expected)
    assert torch.equal(nearest_distance(queries, torch.zeros(0, 4)), torch.zeros(50))


def test_problems_name_every_unusable_value() -> None:
    assert calibration().problems(2) == []
    found = calibration(threshold=float("inf"), rule_std=[0.02, float("nan")], patch_std=-1.0, fusion=2.0,
                        rule_weight=[1.0]).problems(2)
    assert found == ["rule_weight has 1 entries, but the run's rules.rules has 2 rules",
                     "patch_std is -1.0, but a spread must be positive", "threshold is inf, not a finite number",
                     "rule_std is nan, not a finite number", "fusion is 2.0, not between 0 and 1"]
