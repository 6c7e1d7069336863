"""Score fusion: z-scores against validation normals, the logic distance, the map's maximum."""

from __future__ import annotations

import torch

from dire_dsl.run.scoring import PATCH_MARGIN, BatchScores, Calibration


def calibration(**changes: object) -> Calibration:
    values = dict(distance_mean=1.0, distance_std=0.5, rule_mean=[0.0, 0.1], rule_std=[0.02, 0.1],
                  rule_weight=[1.0, 1.0], patch_mean=0.2, patch_std=0.1, fusion=0.8, threshold=3.0, n_validation=10)
    values.update(changes)
    return Calibration(**values)


def scores(distance: list[float], rules: list[list[float]], patch: float | torch.Tensor = 0.2) -> BatchScores:
    n = len(distance)
    patches = patch if isinstance(patch, torch.Tensor) else torch.full((n, 2, 2), patch)
    return BatchScores(torch.tensor(distance), torch.zeros(n), torch.tensor(rules), patches,
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
    evidence = torch.zeros(2, 2, 2)
    evidence[:, 0, 0] = 1.0
    maps = cal.anomaly_map(batch, (8, 8), evidence)
    assert maps.shape == (2, 8, 8)
    assert torch.allclose(maps.amax(dim=(1, 2)), cal.image_score(batch))
    assert torch.allclose(cal.image_score(batch), torch.tensor([4.0, 16.0]), atol=1e-5)


def test_the_fused_score_lies_only_on_its_evidence() -> None:
    """A broken rule lights up the pixels behind it, not the whole map."""
    cal = calibration()
    batch = scores([1.0], [[0.4, 0.1]])  # rule 1 is 20 spreads out: fused = 16
    evidence = torch.zeros(1, 4, 4)
    evidence[0, 1:3, 1:3] = 1.0
    anomaly_map = cal.anomaly_map(batch, (4, 4), evidence)[0]
    assert torch.allclose(anomaly_map[1:3, 1:3], torch.tensor(16.0))
    outside = torch.ones(4, 4, dtype=torch.bool)
    outside[1:3, 1:3] = False
    assert float(anomaly_map[outside].max()) < 0.0


def test_structural_evidence_stays_where_the_patch_memory_found_it() -> None:
    cal = calibration(patch_mean=0.3, patch_std=0.05, patch_margin=0.0)
    patch = torch.full((1, 4, 4), 0.3)
    patch[0, 3, 0] = 0.9  # 12 spreads above the normals' maxima
    batch = scores([1.0], [[0.0, 0.1]], patch=patch)
    anomaly_map = cal.anomaly_map(batch, (4, 4), torch.ones(1, 4, 4))[0]
    assert tuple(divmod(int(anomaly_map.argmax()), 4)) == (3, 0)
    assert torch.allclose(anomaly_map.max(), torch.tensor(12.0))
    assert torch.allclose(cal.structural_score(batch), torch.tensor([12.0]))
    assert torch.allclose(cal.image_score(batch), torch.tensor([12.0]))
    assert float(anomaly_map[0, 0]) == 0.0  # elsewhere: the fused score of a normal image (0 spreads)


def test_runs_before_the_structural_branch_keep_their_margin() -> None:
    """A calibration.json written before `patch_margin` existed reads as the old 3 spreads."""
    values = calibration().model_dump()
    del values["patch_margin"]
    assert Calibration(**values).patch_margin == PATCH_MARGIN


def test_problems_name_every_unusable_value() -> None:
    assert calibration().problems(2) == []
    found = calibration(threshold=float("inf"), rule_std=[0.02, float("nan")], patch_std=-1.0, fusion=2.0,
                        rule_weight=[1.0]).problems(2)
    assert found == ["rule_weight has 1 entries, but the run's rules.rules has 2 rules",
                     "patch_std is -1.0, but a spread must be positive", "threshold is inf, not a finite number",
                     "rule_std is nan, not a finite number", "fusion is 2.0, not between 0 and 1"]
    assert calibration(patch_margin=float("nan")).problems(2) == ["patch_margin is nan, not a finite number"]
