"""Regenerate the generated pages under docs/ (`python scripts/gen_docs.py`)."""

from __future__ import annotations

from pathlib import Path

from dire_dsl.lang.catalogue import diagnostics_markdown

GENERATED = {Path("docs/diagnostics.md"): diagnostics_markdown}


def main() -> None:
    for path, render in GENERATED.items():
        path.write_text(render(), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
