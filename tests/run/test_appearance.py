"""The structural branch's patch memory: descriptors, coreset, and a defect found where it is."""

from __future__ import annotations

import numpy as np
import torch

from dire_dsl.eval.spro import DefectConfig, DefectRegion, au_spro
from dire_dsl.run import appearance


def normal_images(n: int, seed: int = 0, size: int = 64) -> torch.Tensor:
    """Grey trays holding a grid of coloured discs, each image with its own tint and noise."""
    generator = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    images = []
    for _ in range(n):
        image = 0.35 + 0.1 * torch.rand(3, 1, 1, generator=generator) + 0.03 * torch.randn(3, size, size,
                                                                                          generator=generator)
        for cy in (16, 48):
            for cx in (16, 48):
                colours = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.4, 0.9]])
                colour = colours[int(torch.randint(2, (), generator=generator))]
                disc = ((ys - cy) ** 2 + (xs - cx) ** 2 <= 81).float()
                image = image * (1 - disc) + colour.view(3, 1, 1) * disc
        images.append(image.clamp(0, 1))
    return torch.stack(images)


def test_pixel_descriptors_are_the_raw_windows() -> None:
    images = torch.rand(2, 3, 16, 24)
    found = appearance.pixel_descriptors(images)
    step, window = appearance.STEP, appearance.WINDOW
    assert found.shape[:3] == (2, 16 // step, 24 // step) and found.shape[3] == 3 * window * window
    assert torch.equal(found[1, 0, 0], images[1, :, :window, :window].reshape(-1))


def test_coreset_memory_is_bounded_and_reproducible() -> None:
    batches = [torch.rand(4, 8, 8, 12, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    first = appearance.coreset_memory(iter(batches), 12, seed=3, size=50, candidates=200)
    again = appearance.coreset_memory(iter(batches), 12, seed=3, size=50, candidates=200)
    assert first.shape == (50, 12) and torch.equal(first, again)
    small = appearance.coreset_memory(iter(batches), 12, seed=3, size=500, candidates=120)
    assert small.shape == (120, 12)  # fewer candidates than the memory's size: all of them


def test_a_defect_painted_on_a_normal_image_is_localised() -> None:
    """A dark blob on one disc: the map's maximum lies inside it, and AU-sPRO is high on a
    hand-made test set of good and defective images."""
    memory = appearance.coreset_memory((appearance.pixel_descriptors(normal_images(8, seed=1)),), 8, seed=0,
                                       size=2048)
    good = normal_images(4, seed=2)
    defective = normal_images(4, seed=3)
    masks = torch.zeros(4, 64, 64, dtype=torch.bool)
    for row, (cy, cx) in enumerate(((14, 14), (46, 18), (18, 50), (50, 50))):
        masks[row, cy - 3:cy + 4, cx - 3:cx + 4] = True
        defective[row][:, masks[row]] = 0.05
    maps = appearance.distance_map(appearance.pixel_descriptors(torch.cat([good, defective])), memory, blur=True)
    full = torch.nn.functional.interpolate(maps[:, None], size=(64, 64), mode="bilinear", align_corners=False)[:, 0]
    for row in range(4):
        peak = int(full[4 + row].argmax())
        assert masks[row].flatten()[peak], f"image {row}: the maximum lies outside the defect"
    assert float(maps[4:].amax(dim=(1, 2)).min()) > float(maps[:4].amax(dim=(1, 2)).max())
    config = DefectConfig("blob", 255, 1.0, True)
    regions = [[] for _ in range(4)] + [[DefectRegion(masks[row].numpy(), config)] for row in range(4)]
    score = au_spro([m.numpy() for m in full], regions, limits=(0.05,))[0.05]
    assert score > 0.5, score


def discs_in_place(n: int, seed: int, red: tuple[int, int]) -> torch.Tensor:
    """Grey trays whose disc at `red` (centre row, column) is red and every other disc blue."""
    generator = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    images = 0.4 + 0.03 * torch.randn(n, 3, 64, 64, generator=generator)
    for centre in ((16, 16), (16, 48), (48, 16), (48, 48)):
        colour = torch.tensor([0.9, 0.2, 0.2] if centre == red else [0.2, 0.4, 0.9]).view(3, 1, 1)
        disc = ((ys - centre[0]) ** 2 + (xs - centre[1]) ** 2 <= 81).float()
        images = images * (1 - disc) + colour * disc
    return images.clamp(0, 1)


def test_with_position_joins_each_patchs_place() -> None:
    found = torch.rand(2, 3, 5, 7)
    assert appearance.with_position(found, 0.0) is found
    placed = appearance.with_position(found, 2.0)
    assert placed.shape == (2, 3, 5, 9) and torch.equal(placed[..., :7], found)
    assert torch.allclose(placed[1, 2, 4, 7:], torch.tensor([2 * 2 / 5, 2 * 4 / 5]))


def test_a_part_in_another_parts_place_is_found_only_with_position() -> None:
    """Normal trays hold their red disc top left; a tray with it bottom right holds only
    patches some normal tray has, somewhere. Weighing each patch's place (`patch_position`)
    makes the misplaced disc the map's maximum and the tray stand out from every normal one."""
    normals, good = discs_in_place(8, 1, (16, 16)), discs_in_place(4, 2, (16, 16))
    moved = discs_in_place(4, 3, (48, 48))

    def maps(weight: float) -> torch.Tensor:
        memory = appearance.coreset_memory((appearance.with_position(appearance.pixel_descriptors(normals), weight),),
                                           8, seed=0, size=2048)
        found = appearance.with_position(appearance.pixel_descriptors(torch.cat([good, moved])), weight)
        return appearance.distance_map(found, memory, blur=True)

    anywhere, placed = maps(0.0), maps(4.0)
    assert float(anywhere[4:].amax(dim=(1, 2)).min()) < 2 * float(anywhere[:4].amax(dim=(1, 2)).max())
    assert float(placed[4:].amax(dim=(1, 2)).min()) > 3 * float(placed[:4].amax(dim=(1, 2)).max())
    for row in range(4, 8):  # 16x16 cells of 4 pixels: the disc at (48, 48) is cell (12, 12)
        peak = divmod(int(placed[row].argmax()), placed.shape[-1])
        assert max(abs(peak[0] - 12), abs(peak[1] - 12)) <= 3, peak


def test_balance_colour_takes_out_a_colour_cast() -> None:
    images = torch.rand(2, 3, 8, 12, generator=torch.Generator().manual_seed(0))
    cast = images * torch.tensor([1.3, 0.8, 0.6]).view(1, 3, 1, 1)
    balanced = appearance.balance_colour(images)
    torch.testing.assert_close(appearance.balance_colour(cast), balanced)
    torch.testing.assert_close(balanced.mean(dim=(2, 3)), torch.full((2, 3), appearance.BALANCE_LEVEL))
    assert torch.isfinite(appearance.balance_colour(torch.zeros(1, 3, 4, 4))).all()


def boxes(levels: list[float], seed: int, dent: bool = False) -> torch.Tensor:
    """Plain boxes of one hue at each brightness in `levels`; `dent` darkens an 8x8 square to half."""
    generator = torch.Generator().manual_seed(seed)
    hue = torch.tensor([1.0, 0.9, 1.0]).view(1, 3, 1, 1)
    images = torch.tensor(levels).view(-1, 1, 1, 1) * hue + 0.01 * torch.randn(len(levels), 3, 32, 32,
                                                                               generator=generator)
    if dent:
        images[:, :, 12:20, 12:20] *= 0.5
    return images.clamp(0, 1)


def test_a_dent_darkening_a_box_to_another_boxs_shade_is_found_only_balanced() -> None:
    """Good boxes come in eight brightnesses; a dent halves a bright box's brightness, to the shade
    some other good box has all over. Raw windows hold nothing a normal box lacks; balanced by
    each image's mean colour (`patch_colour = "balanced"`), the dent is darker than its own box,
    which no normal box is, and it is the map's maximum."""
    levels = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    normals, good, dented = boxes(levels, 0), boxes([0.6, 0.8, 1.0], 1), boxes([0.6, 0.8, 1.0], 2, dent=True)

    def maps(balanced: bool) -> torch.Tensor:
        def windows(images: torch.Tensor) -> torch.Tensor:
            return appearance.pixel_descriptors(appearance.balance_colour(images) if balanced else images)

        memory = appearance.coreset_memory((windows(normals),), len(levels), seed=0, size=2048)
        return appearance.distance_map(windows(torch.cat([good, dented])), memory, blur=True)

    raw, balanced = maps(False), maps(True)
    assert float(raw[3:].amax(dim=(1, 2)).min()) < 2 * float(raw[:3].amax(dim=(1, 2)).max())
    assert float(balanced[3:].amax(dim=(1, 2)).min()) > 3 * float(balanced[:3].amax(dim=(1, 2)).max())
    for row in range(3, 6):  # 8x8 cells of 4 pixels: the dent covers cells 3-4
        peak = divmod(int(balanced[row].argmax()), balanced.shape[-1])
        assert 3 <= peak[0] <= 4 and 3 <= peak[1] <= 4, peak


def test_nearest_distance_matches_brute_force() -> None:
    queries, memory = torch.randn(50, 4), torch.randn(30, 4)
    expected = torch.cdist(queries, memory).min(dim=1).values
    assert torch.allclose(appearance.nearest_distance(queries, memory, chunk=7), expected)
    assert torch.equal(appearance.nearest_distance(queries, torch.zeros(0, 4)), torch.zeros(50))


def test_greedy_coreset_covers_isolated_points() -> None:
    cluster = torch.randn(200, 3, generator=torch.Generator().manual_seed(0)) * 0.01
    outliers = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    chosen = appearance.greedy_coreset(torch.cat([cluster, outliers]), 4, projection=3, seed=0)
    assert {200, 201, 202} <= set(chosen.tolist())
    assert np.isfinite(chosen.numpy()).all()
