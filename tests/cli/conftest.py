"""Shared fixtures for CLI tests: the typer app with every command registered."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from dire_dsl.cli.app import app


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    return app


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()
