"""Per-part appearance: an instance unlike every normal instance of its object stands out, on its mask."""

from __future__ import annotations

import torch

from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from dire_dsl.run import parts

SIZE = 64
CENTRES = ((16, 16), (16, 48), (48, 16), (48, 48))


def disc(cy: float, cx: float, radius: float = 7.0) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    return ((ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2).float()


def scene(seed: int, bitten: int | None = None) -> tuple[torch.Tensor, Grounding]:
    """Four orange discs on a grey floor (their masks as the grounding); one with a bite if asked."""
    generator = torch.Generator().manual_seed(seed)
    image = 0.3 + 0.02 * torch.randn(3, SIZE, SIZE, generator=generator)
    masks = []
    for index, (cy, cx) in enumerate(CENTRES):
        mask = disc(cy, cx)
        if index == bitten:
            mask = mask * (1 - disc(cy - 5, cx + 5, 5.0))
        image = image * (1 - mask) + torch.tensor([0.95, 0.55, 0.1]).view(3, 1, 1) * mask
        masks.append(mask)
    instances = torch.stack(masks)[None]
    grounding = Grounding({"pin": ObjectGrounding(instances.amax(dim=1), instances, torch.ones(1, 4))},
                          torch.zeros(1, 2))
    return image.clamp(0, 1)[None], grounding


def test_boxes_hold_their_instance() -> None:
    boxes, mass = parts.part_boxes(disc(20, 40)[None, None], (SIZE, SIZE))
    x0, y0, x1, y1 = boxes[0, 0].tolist()
    assert x0 <= 40 - 7 and x1 >= 40 + 7 and y0 <= 20 - 7 and y1 >= 20 + 7
    assert x1 - x0 < 4 * 7  # square, about the disc's size, not the image's
    assert float(mass[0, 0]) == float(disc(20, 40).sum())


def test_a_bitten_part_is_farther_from_the_normal_parts_than_any_normal_part() -> None:
    normal = [parts.part_descriptors(*scene(seed)) for seed in range(6)]
    memory = parts.part_memory(normal, ("pin",), seed=0)
    assert memory.shape == (24, 1 + 3 * parts.CROP**2) and bool((memory[:, 0] == 0).all())
    good = parts.part_distances(parts.part_descriptors(*scene(10)), parts.memory_banks(memory, ("pin",)))["pin"]
    image, grounding = scene(11, bitten=2)
    bad = parts.part_distances(parts.part_descriptors(image, grounding), parts.memory_banks(memory, ("pin",)))["pin"]
    assert int(bad.argmax()) == 2
    assert float(bad[0, 2]) > 2 * float(good.max())
    painted = parts.paint_parts({"pin": bad}, grounding, (SIZE, SIZE))[0]
    assert float(painted[48, 16]) == float(bad[0, 2])  # on the bitten part's own mask
    assert float(painted[0, 0]) == float("-inf")  # nothing on the floor
