"""Where a trained run's inference time goes: each step of `score_batch` on one batch of test
images, timed separately (medians of --repeats), so a speed target can be aimed at the step
that costs the most.

    python benchmarks/inference_profile.py RUN --data DATA/CATEGORY [--images 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dire_dsl.run import appearance
from dire_dsl.run.inference import model_input, open_run, read_rgb
from dire_dsl.run.parts import part_descriptors, part_distances
from dire_dsl.run.scoring import descriptors


def _timed(step: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    seconds, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = step()
        seconds.append(time.perf_counter() - start)
    return out, statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--data", required=True, help="a category folder with test/*/*.png")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    trained = open_run(args.run)
    detector = trained.detector.eval()
    paths = sorted(Path(args.data).glob("test/*/*.png"))[:args.images]
    if not paths:
        raise SystemExit(f"no test images under {args.data}/test")
    batch = torch.stack([model_input(read_rgb(path), trained.config.input_hw()) for path in paths])
    steps: list[tuple[str, float]] = []
    with torch.no_grad():
        out, seconds = _timed(lambda: detector.model(batch), args.repeats)
        steps.append(("network", seconds))
        steps.append(("rules", _timed(lambda: detector.rules(out.grounding), args.repeats)[1]))
        if detector.descriptor != "off":
            found, seconds = _timed(lambda: descriptors(detector.descriptor, batch, out), args.repeats)
            steps.append(("patch descriptors", seconds))
            steps.append(("patch search + blur", _timed(lambda: appearance.distance_map(
                found, detector.memory, blur=detector.descriptor != "head"), args.repeats)[1]))
        if detector.part_memory is not None:
            parts, seconds = _timed(lambda: part_descriptors(batch, out.grounding), args.repeats)
            steps.append(("part cut-outs", seconds))
            steps.append(("part search", _timed(lambda: part_distances(
                parts, detector.part_memory, detector.model.layout.objects), args.repeats)[1]))
    total = sum(seconds for _, seconds in steps)
    print(f"{args.run}: {len(paths)} images, input {trained.config.input_hw()}, {torch.get_num_threads()} threads")
    for name, seconds in steps:
        print(f"  {name:20s} {1000 * seconds / len(paths):7.2f} ms per image  {100 * seconds / total:5.1f}%")
    print(f"  total {1000 * total / len(paths):.2f} ms per image = {len(paths) / total:.1f} images/s "
          "(decoding and full-resolution maps excluded)")


if __name__ == "__main__":
    main()
