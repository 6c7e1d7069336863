"""The one mapping from an error to what `dire` prints and the code it exits with.

Every error of the package is a `DireError` that carries its exit code (`dire_dsl.errors`):
1 for a problem in the user's input, 2 for a usage error. A command runs its work inside
`user_errors(...)`, which prints the error on stderr (a rules file's diagnostics or a spec's
issues first, then one `error:` line) and exits with that code, never with a traceback. An
OSError the checks up front could not foresee (a full disk, a permission) is a user error
too. Any other exception is a bug, reported by `report_internal_error` (exit 2, from `main`).

Nothing here imports torch at import time or when it reports: `dire check` and `dire fmt`
use it as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from dire_dsl.cli.output import err_console, fail
from dire_dsl.errors import DireError, ExitCode

DISK_HINT = "check the path, its permissions and the free space"


@contextmanager
def user_errors(rules_message: str = "the rules file has errors; fix it first", *, diverged_hint: str = "",
                where: Path | None = None, disk_hint: str = DISK_HINT) -> Iterator[None]:
    """Run the body; turn a `DireError` or an OSError into its message on stderr and its exit code.

    The keywords fit the messages to the command: `rules_message` closes a rules file's
    diagnostics, `diverged_hint` follows a diverged training's message, `where` names the path
    of an OSError that names none, and `disk_hint` says what to do about an OSError.
    """
    try:
        yield
    except DireError as error:
        report(error, rules_message=rules_message, diverged_hint=diverged_hint)
        raise typer.Exit(error.exit_code) from None
    except OSError as error:
        from rich.markup import escape

        path = error.filename or where
        fail(escape(f"{f'{path}: ' if path else ''}{error.strerror or error}; {disk_hint}"))
        raise typer.Exit(ExitCode.USER_ERROR) from None


def report(error: DireError, rules_message: str = "the rules file has errors; fix it first",
           diverged_hint: str = "") -> None:
    """Print `error` for a user on stderr: what is wrong, where, and what to do about it."""
    from rich.markup import escape

    from dire_dsl.data.errors import SpecError
    from dire_dsl.lang.diagnostics import RulesError
    from dire_dsl.lang.render import render_all_text
    from dire_dsl.train.errors import TrainingDiverged

    if isinstance(error, RulesError):
        typer.echo(render_all_text(error.diagnostics, error.source), err=True)
        fail(escape(rules_message))
    elif isinstance(error, SpecError):
        for issue in error.issues:
            fail(escape(issue.render(error.file)))
        err_console().print(f"{len(error.issues)} problem(s) in the spec; fix them and run `dire synth` again "
                            "(the format is described in docs/data.md)")
    elif isinstance(error, TrainingDiverged):
        fail(escape(f"training stopped: {error}{diverged_hint}"))
    else:
        fail(escape(str(error)))


def report_internal_error(error: Exception) -> None:
    """A bug, not a problem in the input: the traceback for a bug report, then one line that says so."""
    import traceback

    from rich.markup import escape

    traceback.print_exception(error)
    fail(escape(f"internal error (a bug in dire-dsl, not in your input): {type(error).__name__}: {error}; "
                "please report it with the traceback above"))
