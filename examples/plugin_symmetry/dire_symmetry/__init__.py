"""An example dire-dsl plugin: a predicate and a measurement the rule language does not have.

- `symmetric(obj)` (a truth value): how well a mask matches its own mirror image;
- `elongation(obj)` (a number): how much longer than wide a mask is.

Installed, it is found through the `dire_dsl.predicates` entry point; no change to
dire-dsl is needed. torch is imported inside the function so that `dire check` (which
loads plugins to learn their signatures) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dire_dsl.logic.registry import predicate

if TYPE_CHECKING:
    from torch import Tensor


@predicate("symmetric", params=[("obj", "entity")],
           doc="Left-right mirror similarity of the mask about its own vertical centre line, in [0, 1].")
def symmetric(obj: Tensor) -> Tensor:
    """Σ m·m̃ / (½ Σ (m² + m̃²)), m̃ the mask mirrored about its centroid column: 1 when symmetric.

    `obj` is [B, *S, H, W] (S: one axis per quantified variable, see docs/plugins.md);
    the result is [B, *S].
    """
    import torch
    import torch.nn.functional as F

    height, width = obj.shape[-2:]
    flat = obj.reshape(-1, 1, height, width)
    xs = torch.linspace(-1 + 1 / width, 1 - 1 / width, width, dtype=obj.dtype, device=obj.device)
    ys = torch.linspace(-1 + 1 / height, 1 - 1 / height, height, dtype=obj.dtype, device=obj.device)
    mass = flat.sum((-2, -1)) + 1e-6
    centre = (flat.sum(-2) * xs).sum(-1) / mass  # [N, 1], in grid_sample's [-1, 1] coordinates
    grid_x = (2 * centre[:, :, None] - xs).expand(-1, height, -1)
    grid = torch.stack([grid_x, ys[None, :, None].expand_as(grid_x)], dim=-1)
    mirrored = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    overlap = (flat * mirrored).sum((-3, -2, -1))
    energy = 0.5 * (flat.square() + mirrored.square()).sum((-3, -2, -1))
    return (overlap / (energy + 1e-6)).reshape(obj.shape[:-2])


@predicate("elongation", params=[("obj", "entity")], result="number", low=1.0,
           doc="Length over width of the mask (from its second moments): 1 for a disc, about n for an n:1 bar.")
def elongation(obj: Tensor) -> Tensor:
    """sqrt(λ_max / λ_min) of the mask's pixel covariance, each λ plus one pixel's variance.

    The added variance (1/12 of a pixel², in image widths) keeps an empty or one-pixel mask
    at 1 with finite gradients, where the plain ratio would divide by zero. `obj` is
    [B, *S, H, W]; the result is [B, *S].
    """
    import torch

    height, width = obj.shape[-2:]
    xs = (torch.arange(width, dtype=obj.dtype, device=obj.device) + 0.5) / width
    ys = (torch.arange(height, dtype=obj.dtype, device=obj.device) + 0.5) / width  # image widths, like xs
    mass = obj.sum((-2, -1)) + 1e-6
    dx = xs - ((obj.sum(-2) * xs).sum(-1) / mass)[..., None]  # [B, *S, W]
    dy = ys - ((obj.sum(-1) * ys).sum(-1) / mass)[..., None]  # [B, *S, H]
    cxx = (obj.sum(-2) * dx.square()).sum(-1) / mass
    cyy = (obj.sum(-1) * dy.square()).sum(-1) / mass
    cxy = (obj * dy[..., :, None] * dx[..., None, :]).sum((-2, -1)) / mass
    half_trace = (cxx + cyy) / 2
    spread = torch.sqrt(((cxx - cyy) / 2).square() + cxy.square() + 1e-12)
    pixel = 1.0 / (12 * width**2)
    return torch.sqrt((half_trace + spread + pixel) / ((half_trace - spread).clamp_min(0) + pixel))
