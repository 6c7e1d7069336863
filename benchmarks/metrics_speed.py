"""Time AU-sPRO on 300 anomaly maps of 256×256 (half of them with 1–4 defect regions).

Run: python benchmarks/metrics_speed.py [--images 300] [--size 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dire_dsl.eval.spro import FPR_LIMITS, DefectConfig, DefectRegion, au_spro

CONFIGS = (
    DefectConfig("relative", 1, 1.0, True),
    DefectConfig("half", 2, 0.5, True),
    DefectConfig("absolute", 3, 2000.0, False),
)


def synthetic_set(images: int, size: int, seed: int = 0) -> tuple[list[np.ndarray], list[list[DefectRegion]]]:
    """Smooth-ish float32 maps; every other image gets rectangular defects that score higher."""
    rng = np.random.default_rng(seed)
    maps, regions = [], []
    for index in range(images):
        anomaly_map = rng.normal(size=(size, size)).astype(np.float32)
        image_regions = []
        if index % 2:
            for _ in range(rng.integers(1, 5)):
                top, left = rng.integers(0, size - 40, size=2)
                height, width = rng.integers(5, 40, size=2)
                mask = np.zeros((size, size), dtype=bool)
                mask[top : top + height, left : left + width] = True
                anomaly_map[mask] += 1.5
                image_regions.append(DefectRegion(mask, CONFIGS[int(rng.integers(len(CONFIGS)))]))
        maps.append(anomaly_map)
        regions.append(image_regions)
    return maps, regions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    maps, regions = synthetic_set(args.images, args.size)
    n_regions = sum(len(r) for r in regions)
    timings = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = au_spro(maps, regions, FPR_LIMITS)
        timings.append(time.perf_counter() - start)
    pixels = args.images * args.size * args.size
    median = sorted(timings)[len(timings) // 2]
    print(f"AU-sPRO on {args.images} maps of {args.size}x{args.size} ({pixels / 1e6:.1f} M px, {n_regions} regions):")
    print(f"  best {min(timings):.2f} s, median {median:.2f} s over {args.repeats} runs")
    print("  " + ", ".join(f"@{limit:g}: {value:.4f}" for limit, value in result.items()))


if __name__ == "__main__":
    main()
