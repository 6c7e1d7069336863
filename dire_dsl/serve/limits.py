"""How much one request may send, and the environment variables that configure a worker.

A single worker gets its settings as arguments (`create_app`); several uvicorn or gunicorn
workers are separate processes started from an import string, so they read the same settings
from the environment (`DIRE_SERVE_*`, written by `dire serve --workers N` or by hand).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dire_dsl.data.image_io import MAX_PIXELS
from dire_dsl.serve.errors import ServeConfigError

MODEL_ENV = "DIRE_SERVE_MODEL"
BACKEND_ENV = "DIRE_SERVE_BACKEND"
MAX_BYTES_ENV = "DIRE_SERVE_MAX_BYTES"
MAX_PIXELS_ENV = "DIRE_SERVE_MAX_PIXELS"
MAX_BATCH_ENV = "DIRE_SERVE_MAX_BATCH"
FACTORY = "dire_dsl.serve.app:app_from_env"
"""The import string of the app factory that reads the variables above (`uvicorn --factory`)."""


@dataclass(frozen=True)
class Limits:
    """Per-request bounds: an upload's bytes, an image's decoded pixels, a batch's image count."""

    max_bytes: int = 20_000_000  # a 20 MB upload: a 20-megapixel PNG of a busy scene
    max_pixels: int = MAX_PIXELS  # as `dire explain` reads files: checked from the header, before decoding
    max_batch: int = 16

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_batch"):
            if getattr(self, name) < 1:
                raise ServeConfigError(f"{name} must be at least 1, not {getattr(self, name)}")

    @property
    def max_batch_bytes(self) -> int:
        """A batch request's body: every image at its limit."""
        return self.max_bytes * self.max_batch

    def env(self) -> dict[str, str]:
        return {MAX_BYTES_ENV: str(self.max_bytes), MAX_PIXELS_ENV: str(self.max_pixels),
                MAX_BATCH_ENV: str(self.max_batch)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The limits the environment sets, the defaults for the others."""
        values = {}
        for field, name in (("max_bytes", MAX_BYTES_ENV), ("max_pixels", MAX_PIXELS_ENV),
                            ("max_batch", MAX_BATCH_ENV)):
            if name in environ:
                try:
                    values[field] = int(environ[name])
                except ValueError:
                    raise ServeConfigError(f"{name}={environ[name]!r} is not a whole number") from None
        return cls(**values)
