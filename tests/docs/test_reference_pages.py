"""docs/cli.md, docs/api.md and docs/settings.md are generated from the code, and everything they list is
documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from dire_dsl.docs_gen.api_reference import api_markdown, own_docstring, public_objects
from dire_dsl.docs_gen.cli_reference import cli_markdown, command_tree
from dire_dsl.docs_gen.settings_reference import settings_markdown

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "the page is generated: run `python scripts/gen_docs.py` and commit the result"


def test_cli_page_is_up_to_date() -> None:
    assert (ROOT / "docs/cli.md").read_text(encoding="utf-8") == cli_markdown(), REGENERATE


def test_api_page_is_up_to_date() -> None:
    assert (ROOT / "docs/api.md").read_text(encoding="utf-8") == api_markdown(), REGENERATE


def test_settings_page_is_up_to_date() -> None:
    assert (ROOT / "docs/settings.md").read_text(encoding="utf-8") == settings_markdown(), REGENERATE


COMMANDS = command_tree()[1]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_and_parameter_has_help(command) -> None:  # noqa: ANN001
    assert command.help, f"`dire {command.name}` has no docstring: its function's docstring is its --help text"
    undocumented = [p.usage for p in command.params if not p.help]
    assert not undocumented, f"`dire {command.name}`: add help= to {undocumented}"


def test_cli_page_lists_every_command_and_option() -> None:
    page = cli_markdown()
    for command in COMMANDS:
        assert f"## dire {command.name}" in page
        for param in command.params:
            assert f"`{param.usage}`" in page


@pytest.mark.parametrize(("name", "obj"), public_objects(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_public_name_has_a_docstring(name: str, obj: object) -> None:
    assert own_docstring(obj), f"dire_dsl.{name} is public (in dire_dsl.__all__) but has no docstring"
