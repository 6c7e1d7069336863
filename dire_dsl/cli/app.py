"""The typer application `dire`, with every command of `dire_dsl.cli.commands` registered.

Importing `app` gives the whole command line: the console script (`main`), `python -m
dire_dsl`, the tests and the generated CLI reference all use it.
"""

from __future__ import annotations

import sys

import typer

from dire_dsl.cli.commands import COMMANDS


def _build_app() -> typer.Typer:
    """The `dire` app: its help line, then each command under its name."""
    dire = typer.Typer(
        name="dire",
        help="dire-dsl: write the logic of a good product; get an anomaly detector that checks it.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name, command in COMMANDS.items():
        dire.command(name)(command)
    return dire


app = _build_app()


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """A library warning as the CLI's own `warning:` line, without Python's file and source line."""
    from rich.markup import escape

    from dire_dsl.cli.output import err_console

    err_console().print(f"[yellow]warning:[/] {escape(str(message))}", markup=True)


def main() -> None:
    """Console-script entry point: run the app; exit 1 for a problem in the input, 2 for a usage or internal error.

    Commands map the errors a user can fix (`dire_dsl.cli.errors`); a `DireError` that reaches
    here is mapped the same way. Any other exception is a bug: its traceback, one `error:
    internal error ...` line and exit 2. (Ctrl-C in a command is typer's exit 130; one before
    typer runs exits 2.)
    """
    import warnings

    from dire_dsl.cli.errors import report, report_internal_error
    from dire_dsl.errors import DireError, ExitCode

    warnings.showwarning = _show_warning
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.USAGE_ERROR))
    except DireError as error:
        report(error)
        sys.exit(int(error.exit_code))
    except Exception as error:  # every error of the input is a DireError: this is a bug
        report_internal_error(error)
        sys.exit(int(ExitCode.USAGE_ERROR))
