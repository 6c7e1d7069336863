"""The `dire` entry point: library warnings reach the user as the CLI's own lines."""

from __future__ import annotations

import pytest


def test_library_warnings_print_as_one_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    from dire_dsl.cli.app import _show_warning

    _show_warning(UserWarning("--force removed the earlier run in out/run"), UserWarning, "/x/run_dir.py", 245)
    err = capsys.readouterr().err
    assert err.strip() == "warning: --force removed the earlier run in out/run"
