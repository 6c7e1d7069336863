"""Counting under overlap (issue 18): how far `count` is from the true number of instances.

    python benchmarks/overlap_count.py RUN --data ROOT [--eval EVAL.json]

For every test image of the run's category: the soft count of each object (Σ presence, what
`count(obj)` reads) against the true count in records/test.jsonl; the mean absolute error
and the share of images read exactly right (|count − true| < 0.5), per test type (good and
every anomaly type). With --eval (a `dire eval --json` output) it also prints the per-type
image AUROC from it.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from dire_dsl.data.loco import MVTecLOCO
from dire_dsl.run.trained import load_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--data", required=True)
    parser.add_argument("--eval", default=None)
    args = parser.parse_args()
    trained = load_run(args.run)
    category = trained.config.category
    root = Path(args.data) / category
    records = {r["image"]: r for r in map(json.loads, (root / "records" / "test.jsonl").read_text().splitlines())}
    dataset = MVTecLOCO(Path(args.data), category, "test", image_size=trained.config.input_hw(), load_masks=False)
    items = [dataset[i] for i in range(len(dataset))]
    names = ["/".join(Path(item.path).parts[-3:]) for item in items]
    images = [item.image_uint8 for item in items]
    errors: dict[str, list[float]] = defaultdict(list)
    exact: dict[str, list[bool]] = defaultdict(list)
    objects = trained.detector.model.layout.objects
    torch.set_grad_enabled(False)
    for start in range(0, len(images), 32):
        batch = torch.from_numpy(np.stack(images[start:start + 32])).permute(0, 3, 1, 2).float() / 255
        grounding = trained.detector.model(batch).grounding
        for row, name in enumerate(names[start:start + 32]):
            record = records[name]
            kind = record.get("defect") or record["anomaly_type"]
            for obj in objects:
                read = float(grounding.objects[obj].presence[row].sum())
                true = record["counts"][obj]
                errors[f"{kind}/{obj}"].append(abs(read - true))
                exact[f"{kind}/{obj}"].append(abs(read - true) < 0.5)
    print(f"{'test type / object':40s} {'n':>4s} {'MAE':>7s} {'exact':>7s}")
    for key in sorted(errors):
        print(f"{key:40s} {len(errors[key]):4d} {np.mean(errors[key]):7.3f} {np.mean(exact[key]):7.1%}")
    if args.eval:
        metrics = json.loads(Path(args.eval).read_text())
        print(json.dumps({k: v for k, v in metrics.items() if "auroc" in k.lower()}, indent=1))


if __name__ == "__main__":
    main()
