"""Getting an image's bytes out of a request: a raw body or multipart files, each within its limits.

`BodyLimit` bounds every request body before the app reads it: a `Content-Length` over the limit
is refused at once (413, nothing read), and a body sent without one (chunked) is counted as it
arrives and refused as soon as it passes the limit. So no upload is ever held whole in memory or
spooled to disk beyond its limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from dire_dsl.serve.errors import RequestError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RAW_TYPES = "image/* or application/octet-stream"
HOW = ("send the image as multipart form data (`curl -F file=@image.png`) or as the raw body with its type "
       "(`curl --data-binary @image.png -H 'Content-Type: image/png'`)")


@dataclass(frozen=True)
class Upload:
    name: str  # the file name the client gave, or `body` for a raw body
    data: bytes


def _too_large(limit: int) -> str:
    return f"the upload is larger than the limit of {limit / 1e6:g} MB (dire serve --max-upload-mb)"


class BodyLimit:
    """ASGI middleware: at most `limit_for(path)` body bytes per request, else 413."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, _too_large(limit))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise RequestError(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _image_type(media: str) -> bool:
    return media.startswith("image/") or media == "application/octet-stream"


async def read_uploads(request: Request, max_bytes: int, max_count: int) -> list[Upload]:
    """The images of a request, in order: its raw body (`max_count` 1 only) or its multipart files;
    RequestError 400/413/415 naming what is wrong and how to send an image instead."""
    media = _media_type(request.headers.get("content-type"))
    if media == "multipart/form-data":
        return await _multipart(request, max_bytes, max_count)
    if max_count > 1:
        raise RequestError(415, f"a batch is multipart form data, one file per image (`curl -F files=@a.png "
                                f"-F files=@b.png`), not {media or 'a body without a Content-Type'}")
    if not _image_type(media):
        raise RequestError(415, f"Content-Type {media or '(none)'} is not an image type; {HOW}")
    data = await request.body()
    if not data:
        raise RequestError(400, f"the request body is empty; {HOW}")
    if len(data) > max_bytes:
        raise RequestError(413, _too_large(max_bytes))
    return [Upload("body", data)]


async def _multipart(request: Request, max_bytes: int, max_count: int) -> list[Upload]:
    async with request.form() as form:
        files = [(key, value) for key, value in form.multi_items() if isinstance(value, UploadFile)]
        if max_count == 1:
            files = [(key, value) for key, value in files if key == "file"]
            if not files:
                raise RequestError(400, f"no file in the form field `file`; {HOW}")
            if len(files) > 1:
                raise RequestError(400, f"{len(files)} files in the field `file`; send one image per request "
                                        "to /inspect, several to /inspect/batch")
        if not files:
            raise RequestError(400, "no file in the form; send one file per image (`curl -F files=@a.png "
                                    "-F files=@b.png`)")
        if len(files) > max_count:
            raise RequestError(413, f"{len(files)} images in one request; a batch holds at most {max_count} "
                                    "(dire serve --max-batch)")
        return [await _read_file(upload, max_bytes) for _, upload in files]


async def _read_file(upload: UploadFile, max_bytes: int) -> Upload:
    name = upload.filename or "file"
    media = _media_type(upload.content_type)
    if media and not _image_type(media):
        raise RequestError(415, f"{name}: Content-Type {media} is not an image type ({RAW_TYPES})")
    if upload.size is not None and upload.size > max_bytes:
        raise RequestError(413, f"{name}: {_too_large(max_bytes)}")
    data = await upload.read()
    if not data:
        raise RequestError(400, f"{name}: the file is empty (0 bytes)")
    return Upload(name, data)
