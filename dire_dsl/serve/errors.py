"""What can go wrong: a request refused or unanswered (with its HTTP status), or a service set up wrong."""

from __future__ import annotations

from dire_dsl.errors import DireError


class RequestError(DireError):
    """A request the service refuses (4xx) or could not answer (500); the app answers `{"detail": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ServeConfigError(DireError):
    """A setting of the service (an argument or a `DIRE_SERVE_*` variable) that cannot work."""
