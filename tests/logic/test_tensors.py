"""Tensor helpers of the logic layer that the vision layer shares."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dire_dsl.logic.tensors import max_filter


@pytest.mark.parametrize("reach", [1, 2])
@pytest.mark.parametrize("shape", [(7, 9), (3, 5, 11), (2, 3, 1, 6)])
def test_max_filter_is_the_windowed_maximum_of_max_pool(shape: tuple[int, ...], reach: int) -> None:
    x = torch.randn(*shape)
    expected = F.max_pool2d(x.reshape(-1, 1, *shape[-2:]), 2 * reach + 1, stride=1, padding=reach).reshape(shape)
    assert torch.equal(max_filter(x, reach), expected)


def test_max_filter_passes_gradients_to_the_maximum_only() -> None:
    x = torch.zeros(1, 5, 5)
    x[0, 2, 2] = 1.0
    x.requires_grad_(True)
    max_filter(x)[0, 1:4, 1:4].sum().backward()
    assert x.grad is not None and float(x.grad[0, 2, 2]) == 9.0 and float(x.grad.sum()) == 9.0
