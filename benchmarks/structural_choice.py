"""How the structural branch's descriptor settings were chosen: on validation normals only.

    python benchmarks/structural_choice.py --data DATA --category pushpins --image-size 160

For each candidate (WINDOW, STEP, memory size), builds the patch memory from the training
normals, then scores the validation normals and the same normals with generic synthetic
defects painted on (`dire_dsl.eval.synthetic_defects`: Perlin blobs and scars, never a
benchmark's defect types), and prints that AUROC and the scoring speed. No test image is
read. The shipped setting (`dire_dsl.run.appearance`) is the best AUROC among the candidates
that score at least 30 images/s on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from dire_dsl.data.loco import load_split, native_size
from dire_dsl.eval.synthetic_defects import add_defects
from dire_dsl.run import appearance
from dire_dsl.run.config import input_shape

CANDIDATES = ((4, 2, 8192), (4, 2, 4096), (4, 4, 8192), (4, 4, 4096), (6, 4, 8192))


def images(root: Path, category: str, split: str, hw: tuple[int, int]) -> torch.Tensor:
    _, pixels = load_split(root, category, split, hw)
    return torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).float() / 255


def score(images: torch.Tensor, memory: torch.Tensor) -> np.ndarray:
    """Each image's structural score: the maximum of its smoothed distance map."""
    return torch.cat([appearance.distance_map(appearance.pixel_descriptors(images[i:i + 32]), memory, blur=True)
                      .amax(dim=(1, 2)) for i in range(0, len(images), 32)]).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--category", required=True)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    hw = input_shape(native_size(args.data, args.category), args.image_size)
    train = images(args.data, args.category, "train", hw)
    validation = images(args.data, args.category, "validation", hw)
    defective, _ = add_defects(validation, validation.roll(1, 0), torch.Generator().manual_seed(args.seed))
    print(f"{args.category} at {hw[1]}x{hw[0]}: {len(train)} training normals, {len(validation)} validation normals")
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
