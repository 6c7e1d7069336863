"""Generic synthetic defects: small, inside their masks, reproducible."""

from __future__ import annotations

import torch

from dire_dsl.eval.synthetic_defects import WINDOW, add_defects, perlin_noise


def test_defects_change_only_their_masks_and_stay_small() -> None:
    images = torch.rand(6, 3, 48, 80, generator=torch.Generator().manual_seed(0))
    defective, masks = add_defects(images, images.roll(1, 0), torch.Generator().manual_seed(1))
    assert defective.shape == images.shape and masks.shape == (6, 48, 80)
    assert bool((masks.flatten(1).sum(dim=1) > 0).all()), "an image got no defect"
    outside = masks[:, None].expand_as(images) == 0
    assert torch.equal(defective[outside], images[outside])
    largest = 2 * (2 * WINDOW[1] * 80) ** 2  # two windows of the largest radius, as squares
    assert float(masks.flatten(1).sum(dim=1).max()) <= largest
    again, _ = add_defects(images, images.roll(1, 0), torch.Generator().manual_seed(1))
    assert torch.equal(again, defective)


def test_perlin_noise_is_smooth_and_bounded() -> None:
    noise = perlin_noise(32, 32, (2, 2), torch.Generator().manual_seed(0))
    assert float(noise.abs().max()) <= 1.5
    assert float((noise[1:] - noise[:-1]).abs().max()) < 0.3  # neighbours differ little: gradient noise
