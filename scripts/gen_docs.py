"""Regenerate the generated pages under docs/ (`python scripts/gen_docs.py`).

Tests compare each committed page with what the code generates, so run this after
changing diagnostic codes, a command's options or help, a public docstring, or a setting.
"""

from __future__ import annotations

from pathlib import Path

from dire_dsl.docs_gen.api_reference import api_markdown
from dire_dsl.docs_gen.cli_reference import cli_markdown
from dire_dsl.docs_gen.settings_reference import settings_markdown
from dire_dsl.lang.catalogue import diagnostics_markdown

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {
    Path("docs/diagnostics.md"): diagnostics_markdown,
    Path("docs/cli.md"): cli_markdown,
    Path("docs/api.md"): api_markdown,
    Path("docs/settings.md"): settings_markdown,
}


def main() -> None:
    for path, render in GENERATED.items():
        (ROOT / path).write_text(render(), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
