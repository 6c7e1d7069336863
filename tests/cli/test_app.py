"""The `dire` entry point: every command registered from one table; library warnings as the CLI's own lines."""

from __future__ import annotations

import pytest


def test_library_warnings_print_as_one_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    from dire_dsl.cli.app import _show_warning

    _show_warning(UserWarning("--force removed the earlier run in out/run"), UserWarning, "/x/run_dir.py", 245)
    err = capsys.readouterr().err
    assert err.strip() == "warning: --force removed the earlier run in out/run"


def test_the_app_registers_every_command_of_the_table_under_its_name() -> None:
    import typer

    from dire_dsl.cli.app import app
    from dire_dsl.cli.commands import COMMANDS

    group = typer.main.get_command(app)
    assert list(group.commands) == list(COMMANDS)
    assert all(group.commands[name].help == COMMANDS[name].__doc__ for name in COMMANDS)
