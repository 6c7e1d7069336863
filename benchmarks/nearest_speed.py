"""The structural branch's nearest-neighbour search, side by side: `torch.cdist(...).amin()`
(before 2026-12-03) against `dire_dsl.run.appearance.nearest_distance` (one matrix product,
the minimum before the square root), on the shapes of a 128 × 256 network input (2048 pixel
windows of 48 values per image) against a full memory (8192 rows).

    python benchmarks/nearest_speed.py [--images 8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from dire_dsl.run.appearance import MEMORY_SIZE, WINDOW, nearest_distance


def _cdist(queries: torch.Tensor, memory: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    return torch.cat([torch.cdist(part, memory).amin(dim=1) for part in queries.split(chunk)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    queries = torch.rand(2048 * args.images, 3 * WINDOW * WINDOW, generator=generator)
    memory = torch.rand(MEMORY_SIZE, 3 * WINDOW * WINDOW, generator=generator)
    times: dict[str, list[float]] = {"torch.cdist + amin": [], "nearest_distance": []}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        for name, search in (("torch.cdist + amin", _cdist), ("nearest_distance", nearest_distance)):
            start = time.perf_counter()
            search(queries, memory)
            times[name].append(time.perf_counter() - start)
    gap = float((_cdist(queries, memory) - nearest_distance(queries, memory)).abs().max())
    print(f"{args.images} images × 2048 queries × {queries.shape[1]} values, memory {MEMORY_SIZE}, "
          f"{torch.get_num_threads()} threads")
    medians = {name: sorted(values)[len(values) // 2] for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"  {name:20s} {1000 * seconds / args.images:7.2f} ms per image")
    print(f"  ratio {medians['torch.cdist + amin'] / medians['nearest_distance']:.2f}x; largest difference {gap:.2e}")


if __name__ == "__main__":
    main()
