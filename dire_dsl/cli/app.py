"""The typer application `dire`; each command lives in its own module and registers here.

Command modules import heavy libraries (torch, open_clip) inside their functions, so that
`dire check` and `dire fmt` never pay for them.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="dire",
    help="dire-dsl: write the logic of a good product; get an anomaly detector that checks it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Import every command module; each one adds its command(s) to `app`."""
    from dire_dsl.cli import commands  # noqa: F401  (registration side effect)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """A library warning as the CLI's own `warning:` line, without Python's file and source line."""
    from rich.markup import escape

    from dire_dsl.cli.output import err_console

    err_console().print(f"[yellow]warning:[/] {escape(str(message))}", markup=True)


def main() -> None:
    """Console-script entry point: run the app and map internal errors to exit code 2."""
    import warnings

    from dire_dsl.cli.exit_codes import ExitCode

    warnings.showwarning = _show_warning
    _register_commands()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.USAGE_ERROR))
