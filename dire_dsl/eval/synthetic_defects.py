"""Generic synthetic defects: how the structural branch's settings are chosen without test images.

A setting of the structural branch (descriptor window, step, memory size) is judged by how
well it tells validation normals from the same normals with these defects painted on
(`benchmarks/structural_choice.py`), never by a benchmark's own defects. Every defect is
generic, never one of a benchmark's defect types: a region shaped by thresholded Perlin noise
(DRAEM, Zavrtanik et al., ICCV 2021) or a thin scar (CutPaste, Li et al., CVPR 2021), filled
with something foreign to that spot and blended in with a random opacity. DRAEM fills with
the DTD texture set; offline there is none, so the fills come from the normals themselves
(another image's pixels from elsewhere, NSA-style), from the image's own pixels made darker
or brighter, from a flat foreign colour, or from coloured Perlin noise.

Defects are kept small (a window of 2-12% of the long side) because the parts a rules file
describes are small: a defect as large as the tray says nothing about a bitten pin.

(These defects first trained a DRAEM-style defect head; on a 2-core CPU's budget of a few
hundred steps it stayed at chance on SynLOCO, see docs/benchmarks.md.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

WINDOW = (0.02, 0.12)
"""Radius of the window a defect lies in, as a fraction of the image's long side."""
SCAR_SHARE = 0.35
"""Share of defects that are thin scars rather than Perlin-shaped regions."""
OPACITY = (0.5, 1.0)
"""How much of the foreign fill shows through (DRAEM blends with β ∈ [0, 0.8] of the original)."""


def perlin_noise(height: int, width: int, cells: tuple[int, int], generator: torch.Generator) -> Tensor:
    """[height, width] gradient noise in about [-1, 1] with `cells` (rows, cols) lattice cells."""
    rows, cols = cells
    angles = 2 * math.pi * torch.rand(rows + 1, cols + 1, generator=generator)
    gradients = torch.stack((torch.cos(angles), torch.sin(angles)), dim=-1)
    y = torch.linspace(0, rows, height + 1)[:-1].clamp(max=rows - 1e-4)
    x = torch.linspace(0, cols, width + 1)[:-1].clamp(max=cols - 1e-4)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    y0, x0 = yy.floor().long(), xx.floor().long()
    fy, fx = yy - y0, xx - x0

    def corner(dy: int, dx: int) -> Tensor:
        g = gradients[y0 + dy, x0 + dx]
        return g[..., 0] * (fx - dx) + g[..., 1] * (fy - dy)

    def fade(t: Tensor) -> Tensor:
        return 6 * t**5 - 15 * t**4 + 10 * t**3

    wy, wx = fade(fy), fade(fx)
    top = torch.lerp(corner(0, 0), corner(0, 1), wx)
    bottom = torch.lerp(corner(1, 0), corner(1, 1), wx)
    return torch.lerp(top, bottom, wy) * math.sqrt(2)


def _grid(height: int, width: int) -> tuple[Tensor, Tensor]:
    return torch.meshgrid(torch.arange(height, dtype=torch.float32) + 0.5,
                          torch.arange(width, dtype=torch.float32) + 0.5, indexing="ij")


def blob_mask(height: int, width: int, generator: torch.Generator) -> Tensor:
    """[height, width] in {0, 1}: thresholded Perlin noise inside a random elliptical window."""
    long_side = max(height, width)
    radius = long_side * (WINDOW[0] + (WINDOW[1] - WINDOW[0]) * float(torch.rand((), generator=generator)))
    cy, cx = float(torch.rand((), generator=generator)) * height, float(torch.rand((), generator=generator)) * width
    detail = 2 ** int(torch.randint(0, 3, (), generator=generator))  # lattice cells across the window: 1, 2, 4
    cells = (max(1, round(detail * height / (2 * radius))), max(1, round(detail * width / (2 * radius))))
    noise = perlin_noise(height, width, cells, generator)
    yy, xx = _grid(height, width)
    aspect = 0.5 + float(torch.rand((), generator=generator))
    window = ((yy - cy) / (radius * aspect)) ** 2 + ((xx - cx) / radius) ** 2 <= 1
    mask = (noise > 0.1) & window
    if int(mask.sum()) < 4:  # too little noise above the threshold here: the window itself
        mask = window
    return mask.float()


def scar_mask(height: int, width: int, generator: torch.Generator) -> Tensor:
    """[height, width] in {0, 1}: a thin, slightly bent stroke (CutPaste's scar) 1-3 px wide."""
    long_side = max(height, width)
    length = long_side * (0.04 + 0.14 * float(torch.rand((), generator=generator)))
    half_width = 0.5 + float(torch.rand((), generator=generator))
    cy, cx = float(torch.rand((), generator=generator)) * height, float(torch.rand((), generator=generator)) * width
    angle = float(torch.rand((), generator=generator)) * math.pi
    bend = (float(torch.rand((), generator=generator)) - 0.5) * 0.4 * length
    yy, xx = _grid(height, width)
    along = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)
    across = -(xx - cx) * math.sin(angle) + (yy - cy) * math.cos(angle)
    t = (along / length).clamp(-0.5, 0.5)
    curve = bend * (1 - 4 * t**2)
    mask = ((across - curve).abs() <= half_width) & (along.abs() <= length / 2)
    return mask.float()


def _fill(image: Tensor, donor: Tensor, generator: torch.Generator) -> Tensor:
    """[3, H, W] in [0, 1]: something foreign to put where the defect goes."""
    kind = int(torch.randint(0, 4, (), generator=generator))
    height, width = image.shape[-2:]
    if kind == 0:  # another normal image's pixels from elsewhere
        shift = (int(torch.randint(0, height, (), generator=generator)),
                 int(torch.randint(0, width, (), generator=generator)))
        return torch.roll(donor, shifts=shift, dims=(1, 2))
    if kind == 1:  # this image, much darker or brighter
        gain = 0.15 + 0.45 * float(torch.rand((), generator=generator))
        if bool(torch.rand((), generator=generator) < 0.4):
            gain = 1.5 + float(torch.rand((), generator=generator))
        return (image * gain).clamp(0, 1)
    if kind == 2:  # a flat foreign colour, shaded like the image beneath
        colour = torch.rand(3, 1, 1, generator=generator)
        shade = image.mean(dim=0, keepdim=True)
        return (colour * (0.5 + shade)).clamp(0, 1)
    noise = torch.stack([perlin_noise(height, width, (4, 4), generator) for _ in range(3)])  # coloured noise
    return (0.5 + 0.5 * noise).clamp(0, 1)


def add_defects(images: Tensor, donors: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Each image [B, 3, H, W] in [0, 1] with one or two generic defects; returns the defective
    images and their masks [B, H, W] in [0, 1]. `donors` [B, 3, H, W] are other normal images."""
    out, masks = images.clone(), torch.zeros(images.shape[0], *images.shape[-2:])
    height, width = images.shape[-2:]
    for row in range(images.shape[0]):
        for _ in range(1 + int(torch.rand((), generator=generator) < 0.3)):
            scar = bool(torch.rand((), generator=generator) < SCAR_SHARE)
            mask = scar_mask(height, width, generator) if scar else blob_mask(height, width, generator)
            opacity = OPACITY[0] + (OPACITY[1] - OPACITY[0]) * float(torch.rand((), generator=generator))
            alpha = (mask * opacity).to(out.dtype)
            fill = _fill(out[row], donors[row], generator).to(out.dtype)
            out[row] = out[row] * (1 - alpha) + fill * alpha
            masks[row] = torch.maximum(masks[row], mask)
    return out, masks




def defective_copies(normals: np.ndarray, seed: int) -> list[np.ndarray]:
    """Each normal image (uint8 [N, H, W, 3]) with generic defects painted on (the next normal
    lends the foreign pixels), reproducible from `seed`: how `dire sweep` and the benchmarks
    judge the structural half on validation normals."""
    images = torch.from_numpy(normals).permute(0, 3, 1, 2).float() / 255
    damaged, _ = add_defects(images, images.roll(1, 0), torch.Generator().manual_seed(seed))
    return list((damaged * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())
