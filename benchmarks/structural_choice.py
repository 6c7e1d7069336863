"""How the structural branch's descriptor settings were chosen: on validation normals only.

    python benchmarks/structural_choice.py --data DATA --category pushpins --image-size 160
    python benchmarks/structural_choice.py --data DATA --category pushpins --image-size 160 --spread

For each candidate (WINDOW, STEP, memory size), builds the patch memory from the training
normals, then scores the validation normals and the same normals with generic synthetic
defects painted on (`dire_dsl.eval.synthetic_defects`: Perlin blobs and scars, never a
benchmark's defect types), and prints that AUROC and the scoring speed. No test image is
read. The shipped setting (`dire_dsl.run.appearance`) is the best AUROC among the candidates
that score at least 30 images/s on the 2-core CPU.

`--spread` compares, for the shipped descriptor, the map in one spread with the map in each
cell's own spread (`patch_spread`, `dire_dsl.run.patch_cells`): the first half of the
validation normals gives the cell statistics, the second half (and its defective copies)
is scored.

`--position 0,1,2` compares `patch_position` weights (at `--patch-spread`, the category's
setting), both validation halves in turn scored against three generic-defect draws;
`--colour` compares `patch_colour` raw and balanced the same way.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from dire_dsl.data.loco import load_split, native_size
from dire_dsl.eval.synthetic_defects import add_defects
from dire_dsl.run import appearance, patch_cells
from dire_dsl.run.config import input_shape

CANDIDATES = ((4, 2, 8192), (4, 2, 4096), (4, 4, 8192), (4, 4, 4096), (6, 4, 8192))


def images(root: Path, category: str, split: str, hw: tuple[int, int]) -> torch.Tensor:
    _, pixels = load_split(root, category, split, hw)
    return torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).float() / 255


def score(images: torch.Tensor, memory: torch.Tensor) -> np.ndarray:
    """Each image's structural score: the maximum of its smoothed distance map."""
    return torch.cat([appearance.distance_map(appearance.pixel_descriptors(images[i:i + 32]), memory, blur=True)
                      .amax(dim=(1, 2)) for i in range(0, len(images), 32)]).numpy()


def spread_choice(train: torch.Tensor, validation: torch.Tensor, seed: int) -> None:
    """The shipped descriptor, the map in one spread vs each cell's own (`patch_spread`)."""
    memory = appearance.coreset_memory((appearance.pixel_descriptors(train[i:i + 32])
                                        for i in range(0, len(train), 32)), len(train), 0)
    half = len(validation) // 2
    scored = validation[half:]
    defective, _ = add_defects(scored, scored.roll(1, 0), torch.Generator().manual_seed(seed))

    def maps(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([appearance.distance_map(appearance.pixel_descriptors(images[i:i + 32]), memory, blur=True)
                          for i in range(0, len(images), 32)])

    cells = patch_cells.cell_statistics(maps(validation[:half]))
    normal, damaged = maps(scored), maps(defective)
    labels = np.r_[np.zeros(len(normal)), np.ones(len(damaged))]
    print("patch_spread | AUROC validation vs synthetic defects")
    for name, transform in (("image", lambda m: m), ("cell", lambda m: patch_cells.normalise(m, cells))):
        scores = np.r_[transform(normal).amax(dim=(1, 2)).numpy(), transform(damaged).amax(dim=(1, 2)).numpy()]
        print(f"{name:12s} | {roc_auc_score(labels, scores):.3f}")


def in_spread(maps: torch.Tensor, cells: torch.Tensor, spread: str) -> torch.Tensor:
    """Maps as `patch_spread` counts them: in each cell's statistics, or as they are."""
    return maps if spread == "image" else patch_cells.normalise(maps, cells)


def folds_choice(train: torch.Tensor, validation: torch.Tensor, spread: str,
                 variants: dict[str, Callable[[torch.Tensor], torch.Tensor]]) -> None:
    """Each descriptor variant (images → [B, h, w, C]) at the category's `patch_spread`: both
    halves of the validation normals in turn give the cell statistics and are scored, each
    scored normal with three defective copies (defect seeds 1-3), for less noise than one draw."""
    half = len(validation) // 2
    folds = [(validation[:half], validation[half:]), (validation[half:], validation[:half])]
    copies = [[add_defects(s, s.roll(1, 0), torch.Generator().manual_seed(k))[0] for k in (1, 2, 3)] for _, s in folds]
    print(f"variant | AUROC validation vs synthetic defects (patch_spread {spread})")
    for name, descriptors in variants.items():
        memory = appearance.coreset_memory((descriptors(train[i:i + 32]) for i in range(0, len(train), 32)),
                                           len(train), 0)

        def maps(images: torch.Tensor, memory: torch.Tensor = memory,
                 descriptors: Callable[[torch.Tensor], torch.Tensor] = descriptors) -> torch.Tensor:
            return torch.cat([appearance.distance_map(descriptors(images[i:i + 32]), memory, blur=True)
                              for i in range(0, len(images), 32)])

        normal, damaged = [], []
        for (statistics, scored), defective in zip(folds, copies):
            cells = patch_cells.cell_statistics(maps(statistics))
            normal.append(in_spread(maps(scored), cells, spread).amax(dim=(1, 2)).numpy())
            damaged += [in_spread(maps(d), cells, spread).amax(dim=(1, 2)).numpy() for d in defective]
        normal, damaged = np.concatenate(normal), np.concatenate(damaged)
        auroc = roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(damaged))], np.r_[normal, damaged])
        print(f"{name} | {auroc:.3f}", flush=True)


def position_variants(weights: list[float]) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """`patch_position` weights: the shipped windows with each patch's place joined on."""
    def placed(weight: float) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda images: appearance.with_position(appearance.pixel_descriptors(images), weight)

    return {f"patch_position {w:g}": placed(w) for w in weights}


def colour_variants() -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """`patch_colour`: the windows of the images as they are, or balanced by each image's mean colour."""
    return {"patch_colour raw": appearance.pixel_descriptors,
            "patch_colour balanced": lambda images: appearance.pixel_descriptors(appearance.balance_colour(images))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--category", required=True)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spread", action="store_true", help="compare patch_spread image and cell instead")
    parser.add_argument("--position", default="", help="compare these patch_position weights instead, e.g. 0,1,2")
    parser.add_argument("--colour", action="store_true", help="compare patch_colour raw and balanced instead")
    parser.add_argument("--patch-spread", default="cell", choices=("cell", "image"), help="with --position, --colour")
    args = parser.parse_args()
    hw = input_shape(native_size(args.data, args.category), args.image_size)
    train = images(args.data, args.category, "train", hw)
    validation = images(args.data, args.category, "validation", hw)
    defective, _ = add_defects(validation, validation.roll(1, 0), torch.Generator().manual_seed(args.seed))
    print(f"{args.category} at {hw[1]}x{hw[0]}: {len(train)} training normals, {len(validation)} validation normals")
    if args.spread:
        spread_choice(train, validation, args.seed)
        return
    if args.position:
        weights = [float(w) for w in args.position.split(",")]
        folds_choice(train, validation, args.patch_spread, position_variants(weights))
        return
    if args.colour:
        folds_choice(train, validation, args.patch_spread, colour_variants())
        return
    print("window step memory | AUROC validation vs synthetic defects | images/s")
    for window, step, size in CANDIDATES:
        appearance.WINDOW, appearance.STEP = window, step
        memory = appearance.coreset_memory((appearance.pixel_descriptors(train[i:i + 32])
                                            for i in range(0, len(train), 32)), len(train), 0, size)

        start = time.perf_counter()
        normal = score(validation, memory)
        speed = len(validation) / (time.perf_counter() - start)
        auroc = roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(defective))],
                              np.r_[normal, score(defective, memory)])
        print(f"{window:6d} {step:4d} {size:6d} | {auroc:.3f} | {speed:.0f}")


if __name__ == "__main__":
    main()
