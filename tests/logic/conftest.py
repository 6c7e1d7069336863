"""Hand-made masks and programs for the logic tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from dire_dsl.lang import ir
from dire_dsl.lang.program import check_source
from dire_dsl.lang.render import render_all_text
from dire_dsl.logic.grounding import Grounding, ObjectGrounding

ROOT = Path(__file__).resolve().parents[2]
RULES_FILES = sorted((ROOT / "rules").glob("*.rules"))
SIZE = 64


def grid(size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates (x, y) as fractions of the image."""
    centres = (torch.arange(size) + 0.5) / size
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    return xs, ys


def disc(cx: float, cy: float, r: float, size: int = SIZE) -> torch.Tensor:
    xs, ys = grid(size)
    return (((xs - cx) ** 2 + (ys - cy) ** 2) <= r * r).float()


def box(x0: float, y0: float, x1: float, y1: float, size: int = SIZE) -> torch.Tensor:
    xs, ys = grid(size)
    return ((xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)).float()


def program(text: str) -> ir.CheckedProgram:
    """A checked program from rules text (a `category` line is added)."""
    source = "category test\n" + text
    result = check_source(source)
    assert result.ok, render_all_text(result.diagnostics, result.source)
    return result.program


def random_grounding(prog: ir.CheckedProgram, batch: int = 2, size: int = 16, slots: int = 3,
                     dtype: torch.dtype = torch.float32, seed: int = 0) -> Grounding:
    """Soft random tensors of the right shapes for every object and attribute of `prog`."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=gen, dtype=dtype)

    objects = {
        o.name: ObjectGrounding(
            rand(batch, size, size), rand(batch, slots, size, size), rand(batch, slots),
            {a: torch.softmax(torch.randn(batch, slots, len(v), generator=gen, dtype=dtype), -1)
             for a, v in o.attributes.items()})
        for o in prog.objects
    }
    return Grounding(objects, rand(batch, 4))


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors: extra threads only add overhead on shared cores (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
