"""Pixel-space constants at one mask resolution: region masks and the moment basis.

Every region is a box split into rows × cols cells; a cell is a row band times a column
band, and bands hold the exact fraction of each pixel row (column) the box covers, so an
edge inside a pixel gives that pixel a partial weight.

The basis stacks, over the H·W pixels, the functions whose mask-weighted sums the
built-ins need: 1, x, y, x², y², xy (pixel centres as fractions of the image) and every
region and cell mask. One matrix product of the masks with the basis then yields an
entity's mass, centroid, second moments and share in each region: one pass over the
(large) instance masks instead of one per measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dire_dsl.lang import ir

MASS, X, Y, XX, YY, XY = range(6)
"""Columns of the moment basis; region columns follow."""


def coverage(low: float, high: float, pixels: int) -> list[float]:
    """Fraction of each of `pixels` unit intervals over [0, 1] that [low, high] covers."""
    return [max(0.0, min(high, (i + 1) / pixels) - max(low, i / pixels)) * pixels for i in range(pixels)]


@dataclass(frozen=True)
class RegionRaster:
    """One region: its whole mask [1, H, W], its cell masks [rows·cols, H, W] (row-major), their basis columns."""

    whole: Tensor
    cells: Tensor
    column: int  # basis column of the whole region
    first_cell: int  # basis column of cell (0, 0); a 1×1 region's only cell is the whole region
    cols: int

    def select(self, cell: tuple[int, int] | None) -> tuple[Tensor, int]:
        """Mask [1, H, W] and basis column of one cell (`cell`, 0-based) or of the whole region."""
        if cell is None:
            return self.whole, self.column
        index = cell[0] * self.cols + cell[1]
        return self.cells[index : index + 1], self.first_cell + index

    @property
    def cell_columns(self) -> slice:
        return slice(self.first_cell, self.first_cell + self.cells.shape[0])


@dataclass(frozen=True)
class Raster:
    """Everything pixel-shaped a program needs at one (H, W, dtype, device)."""

    basis: Tensor  # [F, H·W]: the six moments, then per region its whole mask and (if split) its cells
    regions: dict[str, RegionRaster]

    @staticmethod
    def build(regions: list[ir.RegionDef], height: int, width: int, dtype: torch.dtype, device: torch.device) -> Raster:
        ys = (torch.arange(height, dtype=torch.float64) + 0.5) / height
        xs = (torch.arange(width, dtype=torch.float64) + 0.5) / width
        y, x = torch.meshgrid(ys, xs, indexing="ij")
        columns = [torch.ones_like(x), x, y, x * x, y * y, x * y]
        rasters = {}
        for region in regions:
            whole, cells = _region_masks(region, height, width)
            split = len(cells) > 1
            rasters[region.name] = RegionRaster(whole[None].to(dtype=dtype, device=device),
                                                cells.to(dtype=dtype, device=device), len(columns),
                                                len(columns) + split, region.cols)
            columns += [whole, *cells] if split else [whole]
        basis = torch.stack([c.flatten() for c in columns]).to(dtype=dtype, device=device)
        return Raster(basis, rasters)


def _region_masks(region: ir.RegionDef, height: int, width: int) -> tuple[Tensor, Tensor]:
    x0, y0, x1, y1 = region.box
    whole = torch.tensor(coverage(y0, y1, height), dtype=torch.float64)[:, None] * \
        torch.tensor(coverage(x0, x1, width), dtype=torch.float64)[None, :]
    rows = torch.tensor([coverage(*region.cell_box(r, 0)[1::2], height) for r in range(region.rows)],
                        dtype=torch.float64)
    cols = torch.tensor([coverage(*region.cell_box(0, c)[0::2], width) for c in range(region.cols)],
                        dtype=torch.float64)
    cells = (rows[:, None, :, None] * cols[None, :, None, :]).reshape(-1, height, width)
    return whole, cells


def moments(mask: Tensor, basis: Tensor) -> Tensor:
    """[..., F] mask-weighted sums of the basis functions for a mask [..., H, W].

    Written as basis · maskᵀ: on CPU that layout is several times faster than mask · basisᵀ.
    """
    lead = mask.shape[:-2]
    flat = mask.reshape(-1, basis.shape[1])
    return (basis @ flat.T).T.reshape(*lead, basis.shape[0])


class RasterCache:
    """The program's Raster, built on first use for each (H, W, dtype, device)."""

    def __init__(self, regions: list[ir.RegionDef]) -> None:
        problem = ir.region_cells_problem(regions)  # each cell is an [H, W] mask: refuse before any is built
        if problem is not None:
            raise ValueError(problem)
        self._regions = regions
        self._built: dict[tuple[int, int, torch.dtype, torch.device], Raster] = {}

    def get(self, height: int, width: int, dtype: torch.dtype, device: torch.device) -> Raster:
        key = (height, width, dtype, device)
        if key not in self._built:
            self._built[key] = Raster.build(self._regions, height, width, dtype, device)
        return self._built[key]


def cell_labels(region: ir.RegionDef) -> tuple[str, ...]:
    """Names of a region's cells as a rule writes them (1-based): `compartment[2,3]`."""
    if region.rows == region.cols == 1:
        return (region.name,)
    return tuple(f"{region.name}[{r + 1},{c + 1}]" for r in range(region.rows) for c in range(region.cols))
