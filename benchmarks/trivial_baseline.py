"""A trivial global-statistics detector on SynLOCO: colour histogram + kNN, per category.

    python benchmarks/trivial_baseline.py                       # generate defaults, then score
    python benchmarks/trivial_baseline.py --root data/synloco   # score existing trees (or real LOCO)

Prints image AUROC (good vs logical, good vs structural). The generated benchmark must keep
the logical AUROC of this detector <= 0.75 in every category: counts and attributes must not
leak through global colour statistics.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from dire_dsl.eval.color_histogram import histogram_knn_auroc
from dire_dsl.synth.generate import DEFAULTS, synthesize

CATEGORIES = ("breakfast_box", "juice_bottle", "pushpins", "screw_bag", "splicing_connectors")
LIMIT = 0.75


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("categories", nargs="*", default=list(CATEGORIES))
    parser.add_argument("--root", default=None, help="score existing trees under ROOT instead of generating")
    parser.add_argument("--size", type=int, default=DEFAULTS["size"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("-k", type=int, default=1, help="neighbours")
    parser.add_argument("--bins", type=int, default=8, help="histogram bins per channel")
    args = parser.parse_args()
    print(f"colour histogram ({args.bins}^3 bins, Hellinger) + {args.k}-NN, image AUROC")
    print(f"{'category':<22}{'logical':>9}{'structural':>12}   ok (logical <= {LIMIT})")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for category in args.categories:
            if args.root:
                root = Path(args.root) / category
            else:
                root = synthesize(category, tmp, seed=args.seed, size=args.size, workers=args.workers)
            res = histogram_knn_auroc(root, k=args.k, bins=args.bins)
            lo, st = res["logical_anomalies"], res["structural_anomalies"]
            worst = max(worst, lo)
            print(f"{category:<22}{lo:>9.3f}{st:>12.3f}   {'yes' if lo <= LIMIT else 'NO'}", flush=True)
    print(f"worst logical AUROC: {worst:.3f}")


if __name__ == "__main__":
    main()
