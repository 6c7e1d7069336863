"""Soft instances from heatmaps: peaks become slots, presence counts detections, masks split."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.vision.instances import extract_instances, instance_attributes, peak_radius


def blob(h: int, w: int, cy: float, cx: float, sigma: float = 1.0, peak: float = 1.0) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return peak * torch.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * sigma**2))


def test_two_peaks_give_two_present_slots_and_split_the_mask() -> None:
    heat = torch.maximum(blob(16, 16, 4, 4), blob(16, 16, 11, 12))[None]
    mask = (heat > 0.1).float()
    found = extract_instances(mask, heat, k=5)
    assert abs(float(found.presence.sum()) - 2) < 0.01
    first, second = found.masks[0, 0], found.masks[0, 1]
    assert float((first * second).sum()) < 1e-3  # each pixel goes to its nearest peak
    assert abs(float(first.sum() + second.sum()) - float(mask.sum())) < 1e-3
    centres = sorted(found.centers[0, :2].tolist())
    assert abs(centres[0][0] - 4.5 / 16) < 1e-6 and abs(centres[1][1] - 11.5 / 16) < 1e-6


def test_a_lone_instance_owns_its_whole_mask_however_far_it_reaches() -> None:
    """Empty slots take no share of any pixel: where they sit is an accident of tie-breaking
    (it differs between CPU and CUDA), so it must not change the instance masks."""
    heat = blob(8, 32, 4, 28)[None]
    bar = torch.zeros(1, 8, 32)
    bar[0, 2:6, :] = 1.0  # a long part that runs far from its one peak
    found = extract_instances(bar, heat, k=4)
    assert torch.allclose(found.masks[0, 0], bar[0], atol=1e-6)
    assert float(found.masks[0, 1:].abs().sum()) == 0.0


def test_a_long_part_keeps_its_far_end_from_a_nearer_peak_on_another_part() -> None:
    """A long screw's heatmap often peaks near one end; by distance alone its far end went to
    the short screw beside it, and both then measured too long."""
    mask = torch.zeros(1, 16, 40)
    mask[0, 3:5, 2:38] = 1.0  # the long part, its peak near the right end
    mask[0, 10:12, 2:10] = 1.0  # a short part below its far (left) end
    heat = torch.maximum(blob(16, 40, 4, 33), blob(16, 40, 11, 6))[None]
    found = extract_instances(mask, heat, k=4)
    long_part, short_part = found.masks[0, 0], found.masks[0, 1]
    assert float(long_part[3:5].sum()) == pytest.approx(72.0, abs=1e-3)  # the whole long part
    assert float(short_part.sum()) == pytest.approx(16.0, abs=1e-3)  # and nothing of it here


def test_touching_parts_are_still_shared_by_distance() -> None:
    mask = torch.zeros(1, 12, 24)
    mask[0, 3:9, 3:21] = 1.0  # two square parts side by side: one connected part, two peaks
    heat = torch.maximum(blob(12, 24, 6, 6), blob(12, 24, 6, 17))[None]
    found = extract_instances(mask, heat, k=4)
    left, right = found.masks[0, 0], found.masks[0, 1]
    # split (softly) midway between the peaks, as two separate parts would be
    assert float(left[:, 12:].sum()) < 0.05 * float(left.sum())
    assert float(right[:, :12].sum()) < 0.05 * float(right.sum())
    assert float(left.sum()) == pytest.approx(54.0, abs=0.5)
    assert float(left.sum() + right.sum()) == pytest.approx(float(mask.sum()), abs=1e-3)


def test_faint_spill_belongs_to_no_instance_but_a_soft_rim_does() -> None:
    heat = blob(16, 32, 8, 16)[None]
    mask = torch.full((1, 16, 32), 0.003)  # a sigmoid mask is never quite 0
    mask[0, 7:9, 8:24] = 1.0
    mask[0, 6, 8:24] = 0.3  # the rim of the part, half-covered cells
    found = extract_instances(mask, heat, k=2)
    assert float(found.masks[0, 0, 6, 8:24].sum()) == pytest.approx(0.3 * 16)
    assert float(found.masks[0, 0, :, :5].sum()) == 0.0 and float(found.masks[0, 0, 12:].sum()) == 0.0
    # kept: the part, its rim, and the spill within two cells of the part (rows 5–10, columns 6–25)
    assert float(found.masks[0, 0].sum()) == pytest.approx(32 + 0.3 * 16 + 0.003 * (6 * 20 - 48), abs=1e-4)


def test_weak_bumps_do_not_add_up_to_a_phantom_instance() -> None:
    heat = torch.full((1, 16, 16), 0.05) + blob(16, 16, 8, 8)[None]
    heat = heat.clamp(0, 1)
    found = extract_instances(torch.ones(1, 16, 16), heat, k=20)
    assert abs(float(found.presence.sum()) - 1.0) < 0.01


def test_uncertain_peaks_still_count_as_detections() -> None:
    heat = blob(16, 16, 8, 8, peak=0.6)[None]
    found = extract_instances(torch.ones(1, 16, 16), heat, k=4)
    assert float(found.presence.sum()) > 0.95


def test_presence_is_differentiable() -> None:
    logits = torch.zeros(1, 8, 8, requires_grad=True)
    heat = torch.sigmoid(logits + blob(8, 8, 4, 4)[None] * 4)
    found = extract_instances(torch.sigmoid(logits), heat, k=3)
    found.presence.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_instance_attributes_average_pixels_and_empty_slots_are_uniform() -> None:
    masks = torch.zeros(1, 2, 4, 4)
    masks[0, 0, :2] = 1.0
    prob = torch.zeros(1, 3, 4, 4)
    prob[0, 1] = 1.0
    dist = instance_attributes(masks, prob)
    assert torch.allclose(dist[0, 0], torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(dist[0, 1], torch.full((3,), 1 / 3))


def ridge_with_two_bumps(gap: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A horizontal part 20 cells long whose heatmap has two bumps; `gap` cuts its mask."""
    mask = torch.zeros(1, 24, 32)
    mask[0, 10:13, 4:24] = 1.0
    if gap is not None:
        mask[0, 10:13, gap] = 0.0
    heat = torch.maximum(blob(24, 32, 11, 8, sigma=1.5, peak=0.7), blob(24, 32, 11, 18, sigma=1.5, peak=0.6))
    return mask, heat[None]


def test_bumps_joined_by_the_mask_are_one_instance_within_the_radius() -> None:
    mask, heat = ridge_with_two_bumps()
    assert abs(float(extract_instances(mask, heat, k=4).presence.sum()) - 2) < 0.05  # 3×3 window: two
    found = extract_instances(mask, heat, k=4, radius=12)
    assert abs(float(found.presence.sum()) - 1) < 0.05
    assert abs(float(found.centers[0, 0, 0]) - 8.5 / 32) < 1e-6  # the higher bump is the one kept


def test_peaks_split_by_background_stay_two_instances() -> None:
    mask, heat = ridge_with_two_bumps(gap=slice(12, 15))  # a cut part: two pieces
    assert abs(float(extract_instances(mask, heat, k=4, radius=12).presence.sum()) - 2) < 0.05


def test_peaks_farther_than_the_radius_stay_two_instances() -> None:
    mask, heat = ridge_with_two_bumps()
    assert abs(float(extract_instances(mask, heat, k=4, radius=6).presence.sum()) - 2) < 0.05


def test_bumps_on_one_heatmap_ridge_are_one_instance_beyond_the_radius() -> None:
    mask, heat = ridge_with_two_bumps()
    heat[0, 11, 8:19] = heat[0, 11, 8:19].clamp_min(0.3)  # the heatmap stays up between the bumps
    found = extract_instances(mask, heat, k=4, radius=6, ridge_radius=12)
    assert abs(float(found.presence.sum()) - 1) < 0.05
    assert abs(float(extract_instances(mask, heat, k=4, radius=6, ridge_radius=8).presence.sum()) - 2) < 0.05


def test_peaks_with_a_heatmap_valley_between_stay_two_instances() -> None:
    mask, heat = ridge_with_two_bumps()  # two parts end to end: the heatmap falls to ~0 between
    assert abs(float(extract_instances(mask, heat, k=4, radius=6, ridge_radius=12).presence.sum()) - 2) < 0.05


def test_peak_radius_is_a_fraction_of_the_maps_long_side() -> None:
    assert peak_radius(0.0, (24, 32)) == 1
    assert peak_radius(0.25, (24, 32)) == 8
    assert peak_radius(0.25, (64, 16)) == 16


def test_a_bump_off_a_thin_part_on_its_heatmap_hill_belongs_to_the_part() -> None:
    """A thin cable's centre heatmap is a hill wider than the cable: a second bump beside the
    cable counted as a second cable on good images."""
    mask = torch.zeros(1, 16, 32)
    mask[0, 7, 4:28] = 1.0  # a one-cell-thin part
    heat = torch.maximum(blob(16, 32, 7, 16, sigma=3.0), blob(16, 32, 11, 13, sigma=1.0, peak=0.6))[None]
    heat = heat.clamp(0, 1)
    assert abs(float(extract_instances(mask, heat, k=4, radius=6).presence.sum()) - 1) < 0.05
    # the same bump beyond a valley is something else, not part of this hill
    valley = torch.maximum(blob(16, 32, 7, 16, sigma=1.0), blob(16, 32, 12, 11, sigma=1.0, peak=0.6))[None]
    assert abs(float(extract_instances(mask, valley, k=4, radius=6).presence.sum()) - 2) < 0.05


def test_a_ring_keeps_its_peak_in_the_hole() -> None:
    """A washer's centre lies off its mask; with no higher peak near it, it is still a washer."""
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    radius = ((ys - 8) ** 2 + (xs - 8) ** 2).sqrt()
    ring = ((radius >= 3) & (radius <= 5)).float()[None]
    assert abs(float(extract_instances(ring, blob(16, 16, 8, 8)[None], k=4, radius=3).presence.sum()) - 1) < 0.05
