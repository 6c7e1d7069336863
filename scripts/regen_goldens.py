"""Regenerate the golden files under tests/fixtures (never edit them by hand).

good/*.rules → good/*.json: the compiled plan (`dire compile --emit json`).
bad/*.rules  → bad/*.txt: the exact text `dire check` prints for the file's diagnostics.
Run from the repository root: `python scripts/regen_goldens.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

from dire_dsl.lang.program import check_file
from dire_dsl.lang.render import render_all_text
from dire_dsl.logic.plan import program_plan

FIXTURES = Path("tests/fixtures")


def golden_plan(path: Path) -> str:
    result = check_file(path)
    if not result.ok or result.program is None:
        diagnostics = render_all_text(result.diagnostics, result.source)
        raise SystemExit(f"{path}: a good fixture must check cleanly:\n{diagnostics}")
    return json.dumps(program_plan(result.program), indent=2, ensure_ascii=False) + "\n"


def golden_diagnostics(path: Path) -> str:
    result = check_file(path)
    if not result.diagnostics:
        raise SystemExit(f"{path}: a bad fixture must produce at least one diagnostic")
    return render_all_text(result.diagnostics, result.source) + "\n"


def main() -> None:
    for path in sorted((FIXTURES / "good").glob("*.rules")):
        path.with_suffix(".json").write_text(golden_plan(path), encoding="utf-8")
    for path in sorted((FIXTURES / "bad").glob("*.rules")):
        path.with_suffix(".txt").write_text(golden_diagnostics(path), encoding="utf-8")
    print("goldens regenerated")


if __name__ == "__main__":
    main()
