"""Whole-process time of `dire check rules/` (target: median ≤ 0.3 s on the 2-core machine).

Usage: python benchmarks/check_speed.py [--runs N] [PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("path", nargs="?", default=str(ROOT / "rules"))
    args = parser.parse_args()
    dire = shutil.which("dire") or ""
    command = [dire, "check", args.path] if dire else [sys.executable, "-m", "dire_dsl", "check", args.path]
    subprocess.run(command, check=True, capture_output=True)  # warm the file cache and Lark's grammar cache
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    files = len(list(Path(args.path).rglob("*.rules"))) if Path(args.path).is_dir() else 1
    print(f"dire check {args.path} ({files} files), {args.runs} runs")
    print(f"  median {statistics.median(times):.3f} s   min {min(times):.3f} s   max {max(times):.3f} s")
    print(f"  target ≤ 0.300 s median: {'met' if statistics.median(times) <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
