"""Starting `dire serve` in a test: a free port, and waiting until /health answers."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(server: subprocess.Popen[bytes], url: str, log: Path, seconds: float, what: str) -> None:
    """Return once `url`/health answers 200; fail with the server's log if it exits or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, f"{what} exited {server.returncode}:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} did not answer in {seconds} s:\n{log.read_text()}"
        time.sleep(0.3)
