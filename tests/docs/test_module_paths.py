"""Every module, name and source path of dire_dsl that the docs mention exists.

Packages move (issue 17 moved most of them); a page that still names the old place sends a
reader, or a plugin author's import, nowhere. This keeps README.md and docs/*.md honest.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

from dire_dsl.lang.signatures import ENTRY_POINT_GROUP as PREDICATES_GROUP
from dire_dsl.vision.backbones.registry import ENTRY_POINT_GROUP as BACKBONES_GROUP

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOTTED = re.compile(r"\bdire_dsl(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
SOURCE_PATH = re.compile(r"\bdire_dsl/[A-Za-z0-9_./*-]*[A-Za-z0-9_*/]")
NOT_MODULES = {PREDICATES_GROUP, BACKBONES_GROUP}  # entry-point groups: names plugins register under


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a prefix of it is a module, not a package
        return False


def resolves(dotted: str) -> bool:
    """`dotted` is a module, or a name reached from the longest module prefix of it."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        if not is_module(module):
            continue
        value = importlib.import_module(module)
        for attribute in parts[end:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


def test_every_dotted_name_in_the_docs_resolves() -> None:
    missing = [f"{page.relative_to(ROOT)}: {name}"
               for page in PAGES for name in sorted(set(DOTTED.findall(page.read_text())))
               if name not in NOT_MODULES and not resolves(name)]
    assert not missing, "the docs name what does not exist:\n" + "\n".join(missing)


def test_every_source_path_in_the_docs_exists() -> None:
    missing = [f"{page.relative_to(ROOT)}: {path}"
               for page in PAGES for path in sorted(set(SOURCE_PATH.findall(page.read_text())))
               if not any(ROOT.glob(path.rstrip("/")))]
    assert not missing, "the docs name files that do not exist:\n" + "\n".join(missing)
