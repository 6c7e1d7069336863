"""The structural branch: how far each patch of an image lies from every normal patch.

PatchCore (Roth et al., CVPR 2022) with a choice of patch descriptor:

- ``pixels`` (the offline default): the raw colours of a WINDOW×WINDOW window every STEP
  pixels of the network input. It needs no training and no pretrained weights, so it works
  from the first run; a black blob, a scratch or a foreign colour on a part is a patch no
  normal image holds. (A defect head trained DRAEM-style on generic synthetic defects was
  measured first and reached chance on a CPU budget: see docs/benchmarks.md.)
- ``features``: the backbone's two finest feature maps, each averaged over its 3×3
  neighbourhood, joined at the finer's resolution, as PatchCore does with a pretrained
  WideResNet. This is the path for a pretrained open_clip or timm tower.
- ``head``: the grounding head's features pooled by 2 (how runs written before the structural
  branch scored patches; kept so their scores do not change).

The memory is a greedy k-centre coreset of training-normal descriptors (at most
MEMORY_SIZE, chosen from at most CANDIDATES drawn at random), so rare normal patches (a pin's
edge over a pink tray) stay covered. A patch's distance to its nearest memory patch, the map
smoothed by a Gaussian of BLUR_SIGMA cells as in PatchCore, is the structural map. With
`patch_position` above 0 each descriptor also carries its place in the image (`with_position`);
with `patch_colour = "balanced"` the pixel windows are taken from the image divided by its own mean
colour (`balance_colour`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.functional import gaussian_blur

from dire_dsl.lang.settings import TRAIN_SETTINGS

DESCRIPTORS = ("pixels", "features", "head", "off")
"""What a run's structural branch compares (`TrainConfig.descriptor`); "off" compares nothing."""
WINDOW = 4
STEP = 4
"""Pixel descriptors: a WINDOW×WINDOW window of the network input every STEP pixels. Chosen on
validation normals against the same normals with generic synthetic defects
(`benchmarks/structural_choice.py`), never on test images: STEP 2 scored 0.911 there and STEP
4 0.902 (SynLOCO pushpins, a development seed), at 10 and 36 images/s."""
MEMORY_SIZE = int(TRAIN_SETTINGS["patch_memory"].default)
"""Rows of the patch memory unless a run's `patch_memory` says otherwise: its cost is the search
over them (three quarters of inference), so a product that must score faster trades them for
coverage of rare normal patches, chosen on validation (`dire sweep --grid patch_memory=...`)."""
CANDIDATES = 200_000
PROJECTION = 16
"""Dimensions the coreset selection works in (a random projection, as PatchCore does for speed)."""
BLUR_SIGMA = 1.0
"""In map cells (STEP input pixels): PatchCore smooths its maps with σ = 4 pixels."""
HEAD_POOL = 2


def pixel_descriptors(images: Tensor) -> Tensor:
    """[B, 3, H, W] floats in [0, 1] → [B, h, w, 3·WINDOW²] raw colour windows."""
    pad = max(0, WINDOW - STEP) // 2
    columns = F.unfold(images, WINDOW, stride=STEP, padding=pad)
    height = (images.shape[-2] + 2 * pad - WINDOW) // STEP + 1
    width = (images.shape[-1] + 2 * pad - WINDOW) // STEP + 1
    return columns.view(images.shape[0], -1, height, width).permute(0, 2, 3, 1)


def feature_descriptors(maps: list[Tensor]) -> Tensor:
    """A backbone's pyramid (finest first) → [B, h, w, C]: its two finest levels, each averaged
    over 3×3 neighbours, the coarser upsampled to the finer, joined (PatchCore's layer2 + layer3)."""
    picked = [F.avg_pool2d(m.float(), 3, stride=1, padding=1) for m in maps[:2]]
    size = picked[0].shape[-2:]
    joined = torch.cat([p if p.shape[-2:] == size else F.interpolate(p, size=size, mode="bilinear",
                                                                     align_corners=False) for p in picked], dim=1)
    return joined.permute(0, 2, 3, 1).contiguous()


def head_descriptors(features: Tensor) -> Tensor:
    """Grounding-head features [B, C, h, w] → [B, h', w', C] (the runs before the structural branch)."""
    pooled = F.avg_pool2d(features, HEAD_POOL) if min(features.shape[-2:]) >= 2 * HEAD_POOL else features
    return F.normalize(pooled, dim=1).permute(0, 2, 3, 1)


BALANCE_LEVEL = 0.5
"""A balanced image's mean colour (`balance_colour`): mid-grey, so its windows stay near the raw range."""
BALANCE_FLOOR = 0.05
"""Each channel's mean is taken as at least this, so a nearly black image does not blow up."""


def balance_colour(images: Tensor) -> Tensor:
    """[B, 3, H, W] → each image divided by its own mean colour (per channel), times BALANCE_LEVEL
    (`patch_colour = "balanced"`): grey-world white balance. Where good images differ in colour
    or light (a pink box, a green one), a raw window mixes *which* colour with *how dark*; a dent
    that darkens a pink box to a grey some other normal image holds is then a normal patch.
    Balanced, the dent is darker than its own image, which no normal box is."""
    mean = images.mean(dim=(2, 3), keepdim=True).clamp_min(BALANCE_FLOOR)
    return images / mean * BALANCE_LEVEL


def with_position(descriptors: Tensor, weight: float) -> Tensor:
    """[B, h, w, C] → [B, h, w, C + 2]: each patch's place (row and column as fractions of the
    map's longer side) times `weight` joined on (`patch_position`). A patch is then near only to
    normal patches that look alike *and* lie near it: a grey smudge in the middle of a box is
    far from the grey divider it resembles. Unchanged when `weight` is 0."""
    if weight <= 0:
        return descriptors
    batch, height, width, _ = descriptors.shape
    side = max(height, width)
    rows = torch.arange(height, device=descriptors.device, dtype=descriptors.dtype) / side
    columns = torch.arange(width, device=descriptors.device, dtype=descriptors.dtype) / side
    place = torch.stack(torch.meshgrid(rows, columns, indexing="ij"), dim=-1) * weight
    return torch.cat([descriptors, place.expand(batch, height, width, 2)], dim=-1)


def nearest_distance(queries: Tensor, memory: Tensor, chunk: int = 4096) -> Tensor:
    """Distance of each query row to its nearest memory row (chunked to bound memory use).

    The nearest row is found from one matrix product per chunk (|m|² − 2q·m, as `torch.cdist`
    computes distances for inputs this large, but with no square root of every pair: 1.09-1.23x
    faster on 2 CPU threads, for the search that is three quarters of inference;
    `benchmarks/nearest_speed.py`); its distance is then taken directly, |q − m|. Read off the
    product, it loses digits to cancellation (|q|² and |m|² are large next to a near
    neighbour's distance), and two runtimes that sum the product in another order disagreed
    by 1e-4 normal spreads on an image score, more than `dire export`'s parity allows."""
    if memory.numel() == 0:
        return torch.zeros(queries.shape[0], dtype=queries.dtype, device=queries.device)
    memory = memory.to(queries.dtype)
    norms, transposed = memory.pow(2).sum(dim=1), memory.T
    out = []
    # an exported graph takes the whole batch at once: the chunk count would fix its batch size
    for part in (queries,) if torch.compiler.is_exporting() else queries.split(chunk):
        nearest = torch.addmm(norms, part, transposed, alpha=-2.0).argmin(dim=1)
        out.append((part - memory[nearest]).pow(2).sum(dim=1).sqrt())
    return torch.cat(out)


def distance_map(descriptors: Tensor, memory: Tensor, blur: bool) -> Tensor:
    """[B, h, w, C] descriptors → [B, h, w] distances to the memory (smoothed when `blur`)."""
    batch, height, width, channels = descriptors.shape
    found = nearest_distance(descriptors.reshape(-1, channels), memory.to(descriptors.dtype))
    found = found.view(batch, height, width)
    if not blur or min(height, width) < 3:
        return found
    size = 2 * math.ceil(2 * BLUR_SIGMA) + 1
    return gaussian_blur(found[:, None], [size, size], [BLUR_SIGMA, BLUR_SIGMA])[:, 0]


def greedy_coreset(features: Tensor, size: int, projection: int = 128, seed: int = 0) -> Tensor:
    """Indices of `size` rows chosen by greedy k-centre selection (each new row the farthest from
    those chosen), on a random Gaussian projection of the rows to `projection` dimensions.

    Squared distances to each new centre come from one matrix-vector product with precomputed
    norms (|x|² − 2x·c + |c|²), not a difference per row: that is what keeps a coreset of
    thousands from hundreds of thousands of patches to seconds."""
    n = features.shape[0]
    if size >= n:
        return torch.arange(n)
    generator = torch.Generator().manual_seed(seed)
    if features.shape[1] > projection:
        matrix = torch.randn(features.shape[1], projection, generator=generator) / math.sqrt(projection)
        reduced = features.float() @ matrix
    else:
        reduced = features.float()
    norms = reduced.pow(2).sum(dim=1)
    chosen = torch.empty(size, dtype=torch.long)
    chosen[0] = int(torch.randint(n, (1,), generator=generator))
    nearest = torch.full((n,), math.inf)
    for k in range(size):
        if k:
            chosen[k] = int(torch.argmax(nearest))
        centre = reduced[chosen[k]]
        distance = norms - 2 * (reduced @ centre) + norms[chosen[k]]
        torch.minimum(nearest, distance, out=nearest)
    return chosen


def coreset_memory(batches: Iterable[Tensor], n_images: int, seed: int, size: int = MEMORY_SIZE,
                   candidates: int = CANDIDATES) -> Tensor:
    """The memory from descriptor batches [b, h, w, C] of `n_images` normal images: an equal
    random share of each image's patches (CANDIDATES in all), then a greedy coreset of them."""
    generator = torch.Generator().manual_seed(seed)
    kept = []
    for batch in batches:
        rows = batch.reshape(batch.shape[0], -1, batch.shape[-1])
        per_image = max(1, min(rows.shape[1], candidates // max(1, n_images)))
        for image in rows:
            pick = torch.randperm(image.shape[0], generator=generator)[:per_image]
            kept.append(image[pick].float())
    pool = torch.cat(kept) if kept else torch.zeros(0, 1)
    if pool.shape[0] <= size:
        return pool
    return pool[greedy_coreset(pool, size, projection=PROJECTION, seed=seed)].contiguous()
