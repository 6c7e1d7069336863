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

from dire_dsl.eval.evaluate import evaluate
from dire_dsl.eval.synthetic_defects import defective_copies
from dire_dsl.run.trained import load_run
from dire_dsl.train.api import calibrate
from dire_dsl.train.dataset import normal_splits
from dire_dsl.workflows.sweep import DEFECT_STREAM, validation_criterion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--sizes", nargs="+", type=int, default=[2048, 4096, 8192])
    args = parser.parse_args()
    print("category | patch_memory | validation AUROC vs generic defects | test AUROC logical | test AUROC structural"
          " | images/s")
    for path in args.runs:
        trained = load_run(path)
        train_normals, validation = normal_splits(trained.config)
        normals = list(validation.permute(0, 2, 3, 1).numpy())
        damaged = defective_copies(validation.permute(0, 2, 3, 1).numpy(), trained.config.seed + DEFECT_STREAM)
        for size in args.sizes:
            config = trained.config.model_copy(update={"patch_memory": size})
            calibration = calibrate(trained.detector, train_normals, validation, config)
            run = dataclasses.replace(trained, config=config, calibration=calibration)
            auroc = validation_criterion(run, normals, [], damaged, "generic defects").auroc_structural
            report = evaluate(run, config.data_root, config.category, spro=False)
            print(f"{config.category} | {size} | {auroc:.3f} | {report.auroc.logical:.3f} | "
                  f"{report.auroc.structural:.3f} | {report.timing.images_per_second:.1f}", flush=True)


if __name__ == "__main__":
    main()
