"""`dire serve`: what it hands uvicorn for one worker and for many, and its errors (no server is started here;
tests/serve/test_page.py starts a real one)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from dire_dsl.serve.limits import FACTORY, MAX_BATCH_ENV, MAX_BYTES_ENV, MODEL_ENV


@pytest.fixture()
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """The calls to uvicorn.run, which returns at once."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    for name in (MODEL_ENV, MAX_BYTES_ENV, MAX_BATCH_ENV):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_one_worker_serves_the_loaded_app(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                          started: list) -> None:
    result = runner.invoke(cli_app, ["serve", str(tiny_run), "--port", "8123", "--max-batch", "4"])
    assert result.exit_code == 0, result.output
    (app, options), = started
    assert options == {"host": "127.0.0.1", "port": 8123}
    assert app.state.backend == "torch" and app.state.limits.max_batch == 4
    assert "serving pushpins (torch)" in result.output and "http://127.0.0.1:8123/docs" in result.output


def test_many_workers_get_the_model_by_environment(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                   started: list) -> None:
    result = runner.invoke(cli_app, ["serve", str(tiny_run), "--workers", "3", "--max-upload-mb", "2"])
    assert result.exit_code == 0, result.output
    (app, options), = started
    assert app == FACTORY and options["factory"] is True and options["workers"] == 3
    assert os.environ[MODEL_ENV] == str(tiny_run.resolve()) and os.environ[MAX_BYTES_ENV] == "2000000"


def test_a_missing_model_is_named(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, started: list) -> None:
    result = runner.invoke(cli_app, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 1 and not started
    assert "nope" in result.output and "Traceback" not in result.output
    onnx = runner.invoke(cli_app, ["serve", str(tmp_path / "nope"), "--backend", "onnx"])
    assert onnx.exit_code == 1 and "dire export" in onnx.output


def test_without_the_deploy_extra_it_says_what_to_install(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                          monkeypatch: pytest.MonkeyPatch, started: list) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = runner.invoke(cli_app, ["serve", str(tiny_run)])
    assert result.exit_code == 1 and not started
    assert "uvicorn" in result.output and "pip install 'dire-dsl[deploy]'" in result.output
