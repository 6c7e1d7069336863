"""One mapping from library errors to a clear message and exit code, for eval/explain/sweep/demo.

A user error (missing run, data folder not in the LOCO layout, unreadable image, a rules file
with errors, a bad grid) prints one message on stderr and exits with USER_ERROR; never a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from dire_dsl.cli.exit_codes import ExitCode
from dire_dsl.cli.output import fail


@contextmanager
def user_errors(rules_hint: str = "the rules file") -> Iterator[None]:
    """Run the body; turn the errors a user can fix into `error: ...` and exit code 1."""
    from rich.markup import escape

    from dire_dsl.data.errors import DataError
    from dire_dsl.lang.diagnostics import DireError, RulesError
    from dire_dsl.lang.render import render_all_text
    from dire_dsl.train.loop import TrainingDiverged
    from dire_dsl.run.folder import RunDirError
    from dire_dsl.vision.backbones.base import BackboneError

    try:
        yield
    except RulesError as error:
        typer.echo(render_all_text(error.diagnostics, error.source), err=True)
        fail(escape(f"{rules_hint} has errors; fix it first"))
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except TrainingDiverged as error:
        fail(escape(f"training stopped: {error}"))
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except (DataError, RunDirError, DireError, BackboneError) as error:
        fail(escape(str(error)))
        raise typer.Exit(ExitCode.USER_ERROR) from None
    except OSError as error:  # a path the checks up front could not foresee (a full disk, a permission)
        where = f"{error.filename}: " if error.filename else ""
        fail(escape(f"{where}{error.strerror or error}; check the path, its permissions and the free space"))
        raise typer.Exit(ExitCode.USER_ERROR) from None
