"""The HTTP API: POST /inspect and /inspect/batch, GET /health and /rules, the page at /.

Handlers read the model from `request.app.state` (set once by `create_app`) and keep nothing
between requests. Decoding and scoring run in the thread pool, so the event loop keeps
answering /health while an image is scored.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dire_dsl import __version__
from dire_dsl.serve.decode import decode_rgb
from dire_dsl.serve.inspection import Inspection, Inspector
from dire_dsl.serve.limits import Limits
from dire_dsl.serve.upload import read_uploads

router = APIRouter()


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    backend: Literal["onnx", "torch"]
    model: str  # the run folder or .onnx file served
    category: str
    version: str  # dire-dsl's


class Rules(BaseModel):
    category: str
    rules: list[str]  # the rule names, in the model's output order
    sha256: str  # of the rules text (UTF-8), as `dire export` and the run folder record it
    threshold: float
    text: str  # the rules file


class Problem(BaseModel):
    detail: str


_IMAGE_SCHEMA = {"type": "string", "format": "binary"}
_ONE_IMAGE = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": _IMAGE_SCHEMA}, "required": ["file"]}},
    "image/png": {"schema": _IMAGE_SCHEMA}, "image/jpeg": {"schema": _IMAGE_SCHEMA},
    "application/octet-stream": {"schema": _IMAGE_SCHEMA}}}}
_MANY_IMAGES = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": _IMAGE_SCHEMA}}, "required": ["files"]}}}}}
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "no image in the request, or an empty one"},
    413: {"model": Problem, "description": "an upload over the byte limit, an image over the pixel limit, "
                                           "or too many images"},
    415: {"model": Problem, "description": "a Content-Type that is not an image"},
    422: {"model": Problem, "description": "bytes that are not a readable image"},
    500: {"model": Problem, "description": "scoring failed (the service goes on)"},
}
_MAP = Query(False, alias="map", description="add the anomaly map (16-bit PNG, base64)")
_OVERLAY = Query(False, description="add the overlay figure (PNG, base64)")


def _state(request: Request) -> tuple[Inspector, Limits]:
    return request.app.state.inspector, request.app.state.limits


async def _inspect(request: Request, count: int, anomaly_map: bool, overlay: bool) -> list[Inspection]:
    inspector, limits = _state(request)
    uploads = await read_uploads(request, limits.max_bytes, count)

    def work() -> list[Inspection]:
        images = [(upload.name, decode_rgb(upload.data, upload.name, limits.max_pixels)) for upload in uploads]
        return inspector.inspect(images, anomaly_map=anomaly_map, overlay=overlay)

    return await run_in_threadpool(work)


@router.post("/inspect", response_model=Inspection, openapi_extra=_ONE_IMAGE, responses=_REFUSALS)
async def inspect(request: Request, anomaly_map: bool = _MAP, overlay: bool = _OVERLAY) -> Inspection:
    """Inspect one image: multipart (field `file`) or the raw body with an image Content-Type."""
    return (await _inspect(request, 1, anomaly_map, overlay))[0]


@router.post("/inspect/batch", response_model=list[Inspection], openapi_extra=_MANY_IMAGES, responses=_REFUSALS)
async def inspect_batch(request: Request, anomaly_map: bool = _MAP, overlay: bool = _OVERLAY) -> list[Inspection]:
    """Inspect several images in one request (multipart, one file each, at most `--max-batch`), in order."""
    return await _inspect(request, _state(request)[1].max_batch, anomaly_map, overlay)


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """The service is up and serves this model."""
    model = _state(request)[0].model
    return Health(backend=request.app.state.backend, model=str(model.location), category=model.config.category,
                  version=__version__)


@router.get("/rules", response_model=Rules)
def rules(request: Request) -> Rules:
    """The rules the model checks: their text, names in output order, hash and the threshold."""
    model = _state(request)[0].model
    text = model.rules_text()
    return Rules(category=model.config.category, rules=[rule.name for rule in model.program.rules],
                 sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                 threshold=float(model.calibration.threshold), text=text)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """The inspection page (static/index.html; its script and style are under /static)."""
    return HTMLResponse((files("dire_dsl.serve") / "static" / "index.html").read_text(encoding="utf-8"))
