"""`dire serve MODEL`: a run folder or an exported .onnx file as an HTTP inspection service with a web page."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from dire_dsl.errors import ExitCode

DEPLOY_MODULES = ("fastapi", "uvicorn", "multipart")
INSTALL = "pip install 'dire-dsl[deploy]'"


class Backend(str, Enum):
    auto = "auto"
    onnx = "onnx"
    torch = "torch"


def _missing_deploy_module() -> str | None:
    """The first module of the deploy extra that is not installed, or None."""
    import importlib.util

    return next((name for name in DEPLOY_MODULES if importlib.util.find_spec(name) is None), None)


def serve_command(
    model: Annotated[Path, typer.Argument(help="An exported .onnx file (`dire export`) or a run folder "
                                               "(`dire train`).")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes, each with its own copy of the "
                                                                  "model (uvicorn's --workers).")] = 1,
    backend: Annotated[Backend, typer.Option("--backend", help="auto (what MODEL is: ONNX Runtime for a .onnx file, "
                                                               "torch for a run folder), onnx or torch.")
                       ] = Backend.auto,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=0.001,
                                                 help="Largest upload per image, in MB (413 beyond).")] = 20.0,
    max_megapixels: Annotated[float, typer.Option("--max-megapixels", min=0.001,
                                                  help="Largest image, in decoded megapixels (413 beyond; checked "
                                                       "before decoding).")] = 64.0,
    max_batch: Annotated[int, typer.Option("--max-batch", min=1,
                                           help="Most images per /inspect/batch request.")] = 16,
) -> None:
    """Serve MODEL over HTTP (/inspect, /inspect/batch, /health, /rules, /docs) and an inspection page at /."""
    import os

    from dire_dsl.cli.errors import user_errors
    from dire_dsl.cli.output import fail

    missing = _missing_deploy_module()
    if missing is not None:
        from rich.markup import escape

        fail(escape(f"`dire serve` needs the deploy extra (`{missing}` is not installed): {INSTALL}"))
        raise typer.Exit(ExitCode.USER_ERROR)
    import uvicorn

    from dire_dsl.serve.app import create_app
    from dire_dsl.serve.limits import BACKEND_ENV, FACTORY, MODEL_ENV, Limits

    limits = Limits(max_bytes=round(max_upload_mb * 1e6), max_pixels=round(max_megapixels * 1e6), max_batch=max_batch)
    with user_errors("the model's rules have errors; train or export it again"):
        app = create_app(model, backend.value, limits)  # loaded here even for many workers: errors show once
    typer.echo(f"serving {app.state.inspector.model.config.category} ({app.state.backend}) from {model}: "
               f"page http://{host}:{port}/, API http://{host}:{port}/docs", err=True)
    if workers == 1:
        uvicorn.run(app, host=host, port=port)
    else:
        del app
        os.environ.update({MODEL_ENV: str(model.resolve()), BACKEND_ENV: backend.value, **limits.env()})
        uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers)
    raise typer.Exit(ExitCode.OK)
