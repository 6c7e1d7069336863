"""Training time and peak memory per SynLOCO category: the shipped rules, and the no-rules ablation.

    python benchmarks/train_time.py                                # five categories, default data
    python benchmarks/train_time.py pushpins --data ~/synloco      # one category; keep/reuse its data
    python benchmarks/train_time.py pushpins --n-train 24 --n-val 8 --size 96 --epochs 1 --image-size 64

Data: `dire synth CATEGORY` at the defaults (seed 0; --n-train/--n-val/--n-test/--size for a
smaller set) under --data: reused when a tree with the same counts, size and seed is there,
generated when there is none (default --data: a temporary folder). Each category is trained with
its shipped rules file's settings (--epochs and --image-size override them), then again with
`use_rules=False`. Every training runs in a fresh process, so the peak RSS printed (getrusage
ru_maxrss) is its own; it includes the imports (`import torch` alone peaks near 0.7 GB on the
2-core CPU machine). The minutes are those of `dire_dsl.train.api.train` (data loading, anomaly
synthesis, training, calibration). Issue 5's targets: <= 5 min and <= 2 GB per category on 2 CPU
cores; the exit status is 1 when a category misses them.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import dire_dsl
from dire_dsl.synth.generate import DEFAULTS, synthesize

RULES = Path(dire_dsl.__file__).parent / "rules"
CATEGORIES = ("breakfast_box", "juice_bottle", "pushpins", "screw_bag", "splicing_connectors")
TARGET_MINUTES = 5.0
TARGET_GB = 2.0


@dataclass
class Measure:
    minutes: float
    peak_gb: float

    def ok(self) -> bool:
        return self.minutes <= TARGET_MINUTES and self.peak_gb <= TARGET_GB


def ensure_data(root: Path, category: str, sizes: dict[str, int], seed: int, workers: int | None) -> None:
    """A SynLOCO tree for `category` under `root` with these sizes: reused when there, generated
    when absent; a tree of other sizes is never overwritten."""
    marker = root / category / "synloco.json"
    if not marker.is_file():
        synthesize(category, root, seed=seed, workers=workers, **sizes)
        return
    info = json.loads(marker.read_text(encoding="utf-8"))
    want = {"counts": {"train": sizes["n_train"], "validation": sizes["n_val"], "test": sizes["n_test"]},
            "size": sizes["size"], "seed": seed}
    have = {key: info.get(key) for key in want}
    if have != want:
        raise SystemExit(f"{root / category} holds other data ({have}); this run needs {want}: "
                         "pass matching --n-train/--n-val/--n-test/--size/--seed, or another --data")


def _train_once(rules: str, data: str, out: str, overrides: dict[str, Any]) -> tuple[float, int]:
    """In a fresh process: train, return (seconds, peak RSS in KiB)."""
    from dire_dsl.train.api import train

    start = time.perf_counter()
    train(rules, data, out, overrides=overrides)
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(rules: Path, data: Path, out: Path, overrides: dict[str, Any]) -> Measure:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        seconds, kib = pool.submit(_train_once, str(rules), str(data), str(out), overrides).result()
    return Measure(seconds / 60, kib / 1024**2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("categories", nargs="*", metavar="CATEGORY",
                        help=f"any of {', '.join(CATEGORIES)} (default: all five)")
    parser.add_argument("--data", type=Path, default=None, help="data root to reuse or fill (default: temporary)")
    parser.add_argument("--n-train", type=int, default=DEFAULTS["n_train"])
    parser.add_argument("--n-val", type=int, default=DEFAULTS["n_val"])
    parser.add_argument("--n-test", type=int, default=DEFAULTS["n_test"], help="test images (training needs none)")
    parser.add_argument("--size", type=int, default=DEFAULTS["size"], help="longer image side of the data")
    parser.add_argument("--seed", type=int, default=0, help="data seed")
    parser.add_argument("--workers", type=int, default=None, help="data generation processes (default: all CPUs)")
    parser.add_argument("--epochs", type=int, default=None, help="override the rules file's epochs")
    parser.add_argument("--image-size", type=int, default=None, help="override the rules file's image_size")
    args = parser.parse_args(argv)
    unknown = [name for name in args.categories if name not in CATEGORIES]
    if unknown:
        parser.error(f"unknown category {', '.join(unknown)}; choose from {', '.join(CATEGORIES)}")
    args.categories = args.categories or list(CATEGORIES)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = {"n_train": args.n_train, "n_val": args.n_val, "n_test": args.n_test, "size": args.size}
    overrides = {"epochs": args.epochs, "image_size": args.image_size}

    print(f"data {sizes}, seed {args.seed}; targets <= {TARGET_MINUTES:g} min, <= {TARGET_GB:g} GB")
    print(f"{'category':<22}{'rules min':>10}{'rules GB':>10}{'no-rules min':>14}{'no-rules GB':>13}  within")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp) / "data"
        for category in args.categories:
            ensure_data(root, category, sizes, args.seed, args.workers)
            rules = RULES / f"{category}.rules"
            with_rules = measure(rules, root, Path(tmp) / f"{category}-rules", overrides)
            without = measure(rules, root, Path(tmp) / f"{category}-no-rules", {**overrides, "use_rules": False})
            within = with_rules.ok() and without.ok()
            failed |= not within
            print(f"{category:<22}{with_rules.minutes:>10.2f}{with_rules.peak_gb:>10.2f}"
                  f"{without.minutes:>14.2f}{without.peak_gb:>13.2f}  {'yes' if within else 'NO'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
