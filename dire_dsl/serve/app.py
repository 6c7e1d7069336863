"""The FastAPI app: `create_app(model)` for one process, `app_from_env` for many workers.

    uvicorn dire_dsl.serve.app:app_from_env --factory --workers 4    # DIRE_SERVE_MODEL=out/model.onnx

The model is loaded once, when the app is created, so a bad model file fails at start-up with
its own message rather than on the first request.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from dire_dsl import __version__
from dire_dsl.run.exported import ExportedRun
from dire_dsl.run.inference import open_model
from dire_dsl.serve.errors import RequestError, ServeConfigError
from dire_dsl.serve.inspection import Inspector
from dire_dsl.serve.limits import BACKEND_ENV, MODEL_ENV, Limits
from dire_dsl.serve.routes import router
from dire_dsl.serve.upload import BodyLimit

MULTIPART_SLACK = 64 * 1024
"""Room for the multipart boundaries and headers around the images themselves."""

DESCRIPTION = ("Inspect images with a dire-dsl detector: POST an image to /inspect (multipart field `file` or the "
               "raw body) for its verdict, score and every rule's truth; the page at / does it in a browser.")


async def _answer(request: Request, error: RequestError) -> JSONResponse:
    return JSONResponse({"detail": error.message}, status_code=error.status)


def create_app(model_path: str | Path, backend: str = "auto", limits: Limits | None = None) -> FastAPI:
    """The service for the run folder or exported `.onnx` file at `model_path` (loaded now; RunDirError,
    RulesError when it cannot be), with `limits` on what one request may send."""
    limits = limits or Limits()
    model = open_model(model_path, backend)
    app = FastAPI(title=f"dire serve: {model.config.category}", version=__version__, description=DESCRIPTION)
    app.state.inspector = Inspector(model)
    app.state.limits = limits
    app.state.backend = "onnx" if isinstance(model, ExportedRun) else "torch"
    app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("dire_dsl.serve", "static")]), name="static")
    app.add_exception_handler(RequestError, _answer)
    batch = limits.max_batch_bytes + MULTIPART_SLACK
    app.add_middleware(BodyLimit, limit_for=lambda path: batch if path.endswith("/batch") else
                       limits.max_bytes + MULTIPART_SLACK)
    return app


def app_from_env() -> FastAPI:
    """`create_app` with the settings of the environment: DIRE_SERVE_MODEL (required), DIRE_SERVE_BACKEND
    and the limits (`dire_dsl.serve.limits`)."""
    model = os.environ.get(MODEL_ENV)
    if not model:
        raise ServeConfigError(f"{MODEL_ENV} is not set; set it to a run folder or an exported .onnx file")
    return create_app(model, os.environ.get(BACKEND_ENV, "auto"), Limits.from_env())
