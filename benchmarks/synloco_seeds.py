"""Several seeds of `benchmarks/synloco.py` in one table: each figure's mean over the seeds,
with its range, per category, and every structural defect type's AUROC.

    python benchmarks/synloco.py --methods rules --seed 1 --regenerate --json seed1.json
    ...
    python benchmarks/synloco_seeds.py seed1.json seed2.json seed3.json

The seeds must share the data sizes and the method; the table says which seeds it holds.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

COLUMNS = (("logical", "AUROC logical", 3), ("structural", "AUROC structural", 3), ("d_structural", "d' structural", 2),
           ("spro_logical", "AU-sPRO logical", 3), ("spro_structural", "AU-sPRO structural", 3),
           ("structural_alone", "structural branch alone", 3), ("no_structural_logical", "no structural: logical", 3),
           ("no_structural_structural", "no structural: structural", 3))


def _cell(values: list[float], digits: int) -> str:
    if not values:
        return "–"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="--json files of benchmarks/synloco.py")
    parser.add_argument("--method", default="rules")
    args = parser.parse_args()
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in args.results]
    if len({json.dumps(run["settings"]["data"], sort_keys=True) for run in runs}) > 1:
        raise SystemExit("the results were made with different data sizes; combine like with like")
    seeds = [run["settings"]["overrides"].get("seed") for run in runs]
    rows = [row for run in runs for row in run["rows"] if row["method"] == args.method]
    categories = list(dict.fromkeys(row["category"] for row in rows))
    print(f"{args.method}, seeds {', '.join(map(str, seeds))}: mean over the seeds (lowest–highest)\n")
    print("| category | " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for category in [*categories, None]:
        picked = [row for row in rows if category is None or row["category"] == category]
        if category is None:  # the mean row: each seed's mean over categories, then over seeds
            cells = [_cell([statistics.fmean(r[key] for r in run["rows"] if r["method"] == args.method
                                             and r[key] is not None) for run in runs], digits)
                     for key, _, digits in COLUMNS]
        else:
            cells = [_cell([row[key] for row in picked if row[key] is not None], digits) for key, _, digits in COLUMNS]
        print(f"| {category or '**mean**'} | " + " | ".join(cells) + " |")
    print("\nStructural AUROC by defect type, mean over the seeds (lowest–highest):\n")
    print("| category | defect type | AUROC |")
    print("|---|---|---|")
    for category in categories:
        types: dict[str, list[float]] = {}
        for row in rows:
            if row["category"] == category:
                for name, value in (row.get("structural_types") or {}).items():
                    types.setdefault(name, []).append(value)
        for name, values in sorted(types.items()):
            print(f"| {category} | {name} | {_cell(values, 3)} |")


if __name__ == "__main__":
    main()
