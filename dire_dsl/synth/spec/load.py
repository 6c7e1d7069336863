"""Reading a scene spec: a file or a built-in category name -> a validated, checked `SceneSpec`.

Every problem, from a TOML syntax error to a pydantic validation error, becomes one `SpecError`
naming the file and the field, with a hint (`SpecIssue`).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from dire_dsl.data.errors import SpecError, SpecIssue
from dire_dsl.synth.spec.check import check_spec, issues_from_validation
from dire_dsl.synth.spec.models import SceneSpec

CATEGORIES_DIR = Path(__file__).parent.parent / "categories"
"""The built-in specs of the five MVTec LOCO categories shipped with the package."""


def builtin_categories() -> list[str]:
    """Names of the specs shipped with the package (dire_dsl/synth/categories/*.toml|*.json)."""
    return sorted({p.stem for p in CATEGORIES_DIR.glob("*") if p.suffix in (".toml", ".json")})


def resolve_spec_path(spec_or_category: str | Path) -> Path:
    """A spec file path, or the built-in spec of a category name."""
    p = Path(spec_or_category)
    if p.is_file():
        return p
    name = str(spec_or_category)
    for suffix in (".toml", ".json"):
        cand = CATEGORIES_DIR / f"{name}{suffix}"
        if cand.is_file():
            return cand
    raise SpecError(
        str(spec_or_category),
        [SpecIssue("", "no such spec file or built-in category",
                   f"give a path to a .toml/.json spec or one of: {', '.join(builtin_categories())}")],
    )


def _read_raw(path: Path) -> dict:
    if path.suffix == ".rules":
        raise SpecError(path, [SpecIssue("", "a rules file, not a scene spec",
                                         "give the .toml or .json scene spec (docs/data.md); the rules file goes "
                                         "to `dire check` and `dire train`")])
    text = None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, [SpecIssue("", f"cannot read the file: {exc}", "check the path")]) from None
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(path, [SpecIssue(f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}",
                                             "fix the JSON syntax")]) from None
        except RecursionError:  # nesting deeper than the stack (not json_read: it drops the line and column)
            raise SpecError(path, [SpecIssue("", "invalid JSON: nested too deeply to be read",
                                             "a scene spec nests a few levels deep")]) from None
    else:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(path, [SpecIssue("", f"invalid TOML: {exc}", "fix the TOML syntax")]) from None
        except RecursionError:  # tomllib recurses per nested array or inline table
            raise SpecError(path, [SpecIssue("", "invalid TOML: nested too deeply to be read",
                                             "a scene spec nests a few levels deep")]) from None
    if not isinstance(raw, dict):
        raise SpecError(path, [SpecIssue("", "the spec must be a table/object at the top level", "")])
    return raw


def parse_spec(raw: dict, file: str | Path = "<spec>") -> SceneSpec:
    """Validate a spec given as a dict; raises SpecError naming `file` and the fields."""
    try:
        spec = SceneSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(file, issues_from_validation(err, raw)) from None
    issues = check_spec(spec)
    if issues:
        raise SpecError(file, issues)
    return spec


def load_spec(spec_or_category: str | Path) -> SceneSpec:
    """Read, validate and check a spec file or a built-in category's spec."""
    path = resolve_spec_path(spec_or_category)
    return parse_spec(_read_raw(path), path)
