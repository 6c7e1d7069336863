"""`dire predicates`: every built-in with its signature, as a table or JSON."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from dire_dsl.lang.signatures import REGISTRY


def test_table_lists_every_builtin_with_signature_and_source(cli_app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(cli_app, ["predicates"], env={"COLUMNS": "200"})  # rich reads the width from COLUMNS
    assert result.exit_code == 0, result.output
    for signature in REGISTRY.signatures():
        assert signature.name in result.output
    assert "count(objects: objects) -> number" in result.output and "dire_dsl" in result.output


def test_json_is_complete_and_machine_readable(cli_app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(cli_app, ["predicates", "--format", "json"])
    assert result.exit_code == 0
    entries = {entry["name"]: entry for entry in json.loads(result.output)}
    assert set(entries) == set(REGISTRY.names())
    inside = entries["inside"]
    assert inside["result"] == "truth"
    assert inside["params"][1] == {"name": "b", "kinds": ["instance", "objects", "region"]}
    assert entries["count"]["integer"] is True and entries["count"]["low"] == 0.0 and entries["count"]["high"] is None
    assert entries["area"]["doc"].startswith("Fraction of the image covered")
