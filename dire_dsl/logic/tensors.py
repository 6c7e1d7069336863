"""Tensor layout of compiled formulas: one axis per quantified variable, broadcast elsewhere.

Inside `depth` nested quantified variables every value is shaped [B, n_1, ..., n_depth, ...]
where n_i is the size of variable i's domain if the value depends on it and 1 otherwise;
masks add [H, W] and attribute distributions [V] at the end. Plain broadcasting then does
what LTN's variable bookkeeping does, without copying anything to the joint domain.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import Tensor

MASS_EPS = 1e-3
"""Pixel mass added to mask denominators: far below one pixel, far above gradcheck's step."""


def place(tensor: Tensor, axis: int, depth: int) -> Tensor:
    """Move the member axis of `tensor` ([B, n, *rest]) to variable `axis` (1-based) of `depth`."""
    shape = tensor.shape
    return tensor.reshape(shape[0], *([1] * (axis - 1)), shape[1], *([1] * (depth - axis)), *shape[2:])


def lift(tensor: Tensor, depth: int) -> Tensor:
    """A value that depends on no variable ([B, *rest]) in the layout of `depth`."""
    return tensor.reshape(tensor.shape[0], *([1] * depth), *tensor.shape[1:])


def pixel_inner(a: Tensor, b: Tensor) -> Tensor:
    """Σ_hw a·b for aligned [.., H, W] tensors, without materialising their broadcast.

    Leading axes where both sides have size > 1 are matched (a batch); axes where only one
    side has size > 1 become an outer product. So `forall a, b in pin: overlaps(a, b)`
    costs B·K·K·H·W multiply-adds in one batched matrix product and no [B, K, K, H, W]
    tensor. (The product is written as A·Bᵀ on purpose: on CPU that layout is several
    times faster than the one `torch.einsum` picks for these shapes.)
    """
    lead_a, lead_b = a.shape[:-2], b.shape[:-2]
    if len(lead_a) != len(lead_b) or any(m != n and 1 not in (m, n) for m, n in zip(lead_a, lead_b)):
        raise ValueError(f"pixel_inner needs aligned tensors; got shapes {list(a.shape)} and {list(b.shape)}")
    pairs = list(enumerate(zip(lead_a, lead_b)))
    shared = [i for i, (m, n) in pairs if m == n != 1]
    only_a = [i for i, (m, n) in pairs if m != 1 and n == 1]
    only_b = [i for i, (m, n) in pairs if m == 1 and n != 1]
    product = torch.bmm(_matrices(a, shared, only_a), _matrices(b, shared, only_b).transpose(1, 2))
    order = shared + only_a + only_b
    product = product.reshape([max(lead_a[i], lead_b[i]) for i in order])
    product = product.permute(sorted(range(len(order)), key=lambda k: order[k]))
    return product.reshape([max(m, n) for m, n in zip(lead_a, lead_b)])


def _matrices(tensor: Tensor, batch: list[int], rows: list[int]) -> Tensor:
    """[Π batch, Π rows, H·W]: the given leading axes in order, the size-1 others dropped."""
    leading = tensor.ndim - 2
    rest = [i for i in range(leading) if i not in batch and i not in rows]
    moved = tensor.permute(batch + rows + rest + [leading, leading + 1])
    return moved.reshape(math.prod(tensor.shape[i] for i in batch), math.prod(tensor.shape[i] for i in rows), -1)


def max_filter(x: Tensor, reach: int = 1) -> Tensor:
    """Maximum over the (2·reach + 1)² window around every pixel of the last two axes (pixels
    beyond the border take no part); any leading shape.

    Four elementwise maxima of shifted views per 3×3 step, applied `reach` times. On the CPU,
    F.max_pool2d of single-channel maps is 10–30× slower in torch, and the loops that grow masks
    (`joins`, connected parts of instances) call it dozens of times per batch. In an exported
    graph it is one MaxPool (its padding counts as -inf, the same window): ONNX Runtime runs
    that faster than the slices, which were a quarter of the graph's time.
    """
    if torch.compiler.is_exporting() and x.ndim >= 2:
        height, width = x.shape[-2:]
        pooled = F.max_pool2d(x.reshape(-1, 1, height, width), 2 * reach + 1, stride=1, padding=reach)
        return pooled.reshape(x.shape)
    for _ in range(reach):
        padded = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
        rows = torch.maximum(torch.maximum(padded[..., :-2, :], padded[..., 1:-1, :]), padded[..., 2:, :])
        x = torch.maximum(torch.maximum(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:])
    return x


def settled(new: Tensor, old: Tensor) -> bool:
    """True once a fixed-point loop (`joins`, connected parts) stops changing; never while
    `torch.export` traces one: the exported graph must run every step, since how many an image
    needs depends on its pixels. The extra steps change nothing, so the results are the same."""
    return not torch.compiler.is_exporting() and torch.equal(new, old)


def full_precision(device_type: str) -> AbstractContextManager[object]:
    """Mixed precision switched off for the block, where it is on (training under autocast); a
    no-op otherwise, so an exported graph holds no autocast region (its ops would escape the
    exporter's ONNX translations)."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return nullcontext()
