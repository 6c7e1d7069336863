"""The structural branch's speed against its coverage: trained runs re-scored with patch
memories of several sizes (`patch_memory`), side by side.

    python benchmarks/patch_memory.py RUN [RUN ...] [--sizes 2048 4096 8192]

For each run and size, the memory is rebuilt from the run's training normals and the run is
recalibrated on its validation normals, as training does (`dire_dsl.train.api.calibrate`).
The network is the run's own, so only the memory differs between the rows. Printed per row:

- validation AUROC: the validation normals vs the same normals with generic defects painted
  on (`dire_dsl.eval.synthetic_defects`), the structural half of what `dire sweep` chooses on;
- test AUROC, logical and structural: reported, never used to choose;
- images/s: `dire eval`'s inference speed over the test images.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from dire_dsl.data.loco import load_split
from dire_dsl.eval.evaluate import evaluate
from dire_dsl.eval.metrics import image_auroc
from dire_dsl.eval.synthetic_defects import add_defects
from dire_dsl.run.inference import Scorer
from dire_dsl.run.trained import TrainedRun, load_run
from dire_dsl.train.api import calibrate


def normals(trained: TrainedRun, split: str) -> torch.Tensor:
    """uint8 [N, 3, H, W]: a normal split at the run's input size."""
    _, images = load_split(Path(trained.config.data_root), trained.config.category, split, trained.config.input_hw())
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def image_scores(trained: TrainedRun, images: torch.Tensor) -> np.ndarray:
    """Each image's score, the maximum of its anomaly map (as `dire eval` reads it)."""
    scorer = Scorer(trained)
    pixels = list(images.permute(0, 2, 3, 1).numpy())
    out = []
    for start in range(0, len(pixels), 32):
        chunk = pixels[start:start + 32]
        out.extend(float(m.max()) for m in scorer.maps(scorer.score(chunk), [c.shape[:2] for c in chunk]))
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--sizes", nargs="+", type=int, default=[2048, 4096, 8192])
    args = parser.parse_args()
    print("category | patch_memory | validation AUROC vs generic defects | test AUROC logical | test AUROC structural"
          " | images/s")
    for path in args.runs:
        trained = load_run(path)
        train_normals, validation = normals(trained, "train"), normals(trained, "validation")
        damaged, _ = add_defects(validation.float() / 255, validation.roll(1, 0).float() / 255,
                                 torch.Generator().manual_seed(trained.config.seed + 9))
        damaged = (damaged * 255).round().clamp(0, 255).to(torch.uint8)
        for size in args.sizes:
            config = trained.config.model_copy(update={"patch_memory": size})
            calibration = calibrate(trained.detector, train_normals, validation, config)
            run = dataclasses.replace(trained, config=config, calibration=calibration)
            auroc = image_auroc(image_scores(run, validation), image_scores(run, damaged))
            report = evaluate(run, config.data_root, config.category, spro=False)
            print(f"{config.category} | {size} | {auroc:.3f} | {report.auroc.logical:.3f} | "
                  f"{report.auroc.structural:.3f} | {report.timing.images_per_second:.1f}", flush=True)


if __name__ == "__main__":
    main()
