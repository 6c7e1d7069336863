"""Generation time of a full SynLOCO category at the defaults (350 train, 60 val, 300 test, 256 px).

    python benchmarks/synth_time.py                  # all five categories
    python benchmarks/synth_time.py pushpins --workers 2

Target: <= 60 s per category on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from dire_dsl.synth.generate import DEFAULTS, synthesize

CATEGORIES = ("breakfast_box", "juice_bottle", "pushpins", "screw_bag", "splicing_connectors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("categories", nargs="*", default=list(CATEGORIES))
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--size", type=int, default=DEFAULTS["size"])
    parser.add_argument("--out", default=None, help="keep the data here (default: a temporary folder)")
    args = parser.parse_args()
    n = DEFAULTS["n_train"] + DEFAULTS["n_val"] + DEFAULTS["n_test"]
    print(f"{'category':<22}{'images':>8}{'seconds':>10}{'img/s':>8}   (workers={args.workers}, size={args.size})")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or tmp
        for category in args.categories:
            start = time.perf_counter()
            synthesize(category, out, seed=0, size=args.size, workers=args.workers)
            seconds = time.perf_counter() - start
            print(f"{category:<22}{n:>8}{seconds:>10.1f}{n / seconds:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
