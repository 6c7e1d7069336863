"""Each structural map cell in its own normal spread (`patch_spread = "cell"`)."""

from __future__ import annotations

import torch

from dire_dsl.run import patch_cells


def _normals(n: int = 40, seed: int = 0) -> torch.Tensor:
    """Normal maps [n, 12, 16]: quiet everywhere but one busy spot (a part that varies a lot)."""
    generator = torch.Generator().manual_seed(seed)
    maps = 0.2 + 0.02 * torch.randn(n, 12, 16, generator=generator)
    maps[:, 3:5, 3:5] += 0.5 * torch.rand(n, 1, 1, generator=generator)
    return maps


def test_a_rare_but_normal_spot_stops_outscoring_a_defect_elsewhere() -> None:
    normals = _normals()
    cells = patch_cells.cell_statistics(normals)
    test = _normals(1, seed=1)
    test[0, 3:5, 3:5] = 0.2 + 0.45  # the busy spot, as high as normals make it
    test[0, 9, 12] = 0.2 + 0.25  # a defect on the quiet floor, lower in raw distance
    raw_peak = divmod(int(test[0].argmax()), 16)
    peak = divmod(int(patch_cells.normalise(test, cells)[0].argmax()), 16)
    assert raw_peak[0] in (3, 4) and raw_peak[1] in (3, 4)
    assert peak == (9, 12)


def test_each_validation_map_is_measured_by_the_others() -> None:
    normals = _normals(12)
    loo = patch_cells.leave_one_out(normals)
    for i in (0, 5, 11):
        others = torch.cat([normals[:i], normals[i + 1:]])
        expected = patch_cells.normalise(normals[i:i + 1], patch_cells.cell_statistics(others))[0]
        torch.testing.assert_close(loo[i], expected, atol=1e-4, rtol=1e-4)


def test_a_cell_that_never_varied_does_not_make_a_wobble_huge() -> None:
    normals = torch.full((10, 6, 6), 0.3)
    normals[:, 0, 0] += torch.linspace(0, 1, 10)  # one cell varies, the rest never do
    cells = patch_cells.cell_statistics(normals)
    wobble = torch.full((1, 6, 6), 0.3)
    wobble[0, 4, 4] += 0.01  # a hundredth more than every normal: a wobble, not a defect
    assert float(patch_cells.normalise(wobble, cells).max()) < 2
    defect = torch.full((1, 6, 6), 0.3)
    defect[0, 4, 4] += 0.3
    assert float(patch_cells.normalise(defect, cells).max()) > 20
