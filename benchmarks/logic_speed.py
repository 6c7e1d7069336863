"""Time the logic layer: compiled rules on a random grounding (32 images, 64×64 masks, 20 slots).

Prints, per shipped rules file, the forward time per batch (and forward + backward), then
the forward time of generated programs of 10 → 100 rules with a least-squares line through
it (the per-rule cost and how far the timings stray from the line).

Run: python benchmarks/logic_speed.py [--batch 32] [--size 64] [--slots 20] [--repeats 30] [--threads 1]

One thread by default: these kernels are small, and on a few shared cores OpenMP threads
waiting for each other cost more than they bring (pass --threads 0 for torch's default).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from dire_dsl.lang import ir
from dire_dsl.lang.program import check_source, load_rules
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import Grounding, ObjectGrounding

RULES = Path(__file__).resolve().parents[1] / "dire_dsl" / "rules"

GENERATED_HEADER = """category generated
object a "a"
object b "b"
object c "c"
attribute b.color { red, blue }
region cell = grid(3, 5)
region west = left
region east = right
"""
TEMPLATES = (
    "count(a in cell[{r}, {c}]) == {k}",
    "forall x in cell: count(b in x) <= {k}",
    "area(a) in [0.0{k}, 0.{k}5]",
    "forall p in a: inside(p, cell[{r}, {c}]) or x(p) > 0.{k}",
    "exists p in b where color == red: touches(p, c)",
    "abs(y(a in west) - y(a in east)) <= 0.0{k}",
    "forall p, q in c: not overlaps(p, q) or area(p) < 0.0{k}",
    "b.color == red implies count(c) >= {k}",
)


def generated_program(n_rules: int) -> ir.CheckedProgram:
    """`n_rules` distinct rules cycling through the templates (counts, cells, pairs, relations, attributes)."""
    lines = [GENERATED_HEADER]
    for i in range(n_rules):
        template = TEMPLATES[i % len(TEMPLATES)]
        lines.append(f"rule r{i}: " + template.format(r=i % 3 + 1, c=i % 5 + 1, k=i % 4 + 1))
    result = check_source("\n".join(lines), "<generated>")
    if not result.ok:
        raise SystemExit(f"generated program does not check: {result.errors[0].message}")
    return result.program


def random_grounding(program: ir.CheckedProgram, batch: int, size: int, slots: int) -> Grounding:
    gen = torch.Generator().manual_seed(0)
    objects = {
        o.name: ObjectGrounding(
            torch.rand(batch, size, size, generator=gen), torch.rand(batch, slots, size, size, generator=gen),
            torch.rand(batch, slots, generator=gen),
            {a: torch.softmax(torch.randn(batch, slots, len(v), generator=gen), -1) for a, v in o.attributes.items()})
        for o in program.objects
    }
    return Grounding(objects, torch.randn(batch, 16, generator=gen))


def timed(step: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, best) seconds over `repeats` runs after two warm-up runs."""
    step()
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch threads; 0 keeps torch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"logic layer, {args.batch} images, {args.size}×{args.size} masks, {args.slots} slots per object, "
          f"{torch.get_num_threads()} thread(s); median (best) of {args.repeats} runs")
    print(f"{'rules file':<22}{'rules':>6}{'forward ms':>18}{'forward+backward ms':>24}")
    for path in sorted(RULES.glob("*.rules")):
        program = load_rules(path)
        module = compile_program(program)
        grounding = random_grounding(program, args.batch, args.size, args.slots)
        forward = timed(lambda: module(grounding), args.repeats)  # noqa: B023  (timed runs it in this iteration)
        leaves = [g.instances for g in grounding.objects.values()] + [g.presence for g in grounding.objects.values()]
        for tensor in leaves:
            tensor.requires_grad_(True)
        both = timed(lambda: module(grounding).s_logic.sum().backward(), args.repeats)  # noqa: B023  (as above)
        print(f"{path.stem:<22}{len(program.rules):>6}{forward[0] * 1e3:>11.2f} ({forward[1] * 1e3:.2f})"
              f"{both[0] * 1e3:>17.2f} ({both[1] * 1e3:.2f})")

    print("\nscaling with the number of rules (generated programs, forward):")
    sizes, medians = [10, 20, 40, 60, 80, 100], []
    for n_rules in sizes:
        program = generated_program(n_rules)
        module = compile_program(program)
        grounding = random_grounding(program, args.batch, args.size, args.slots)
        median, best = timed(lambda: module(grounding), max(5, args.repeats // 3))  # noqa: B023  (run at once)
        medians.append(median)
        per_rule = median / n_rules
        print(f"  {n_rules:>4} rules: {median * 1e3:8.2f} ms ({best * 1e3:.2f})   {per_rule * 1e3:6.3f} ms/rule")
    slope, intercept = _line(sizes, medians)
    worst = max(abs(m - (intercept + slope * n)) / m for n, m in zip(sizes, medians))
    print(f"  least squares: {intercept * 1e3:.2f} ms + {slope * 1e3:.3f} ms/rule; "
          f"largest deviation from the line {worst:.0%}")


def _line(xs: list[int], ys: list[float]) -> tuple[float, float]:
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    return slope, mean_y - slope * mean_x


if __name__ == "__main__":
    main()
