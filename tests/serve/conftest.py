"""The service on the session's tiny trained run, and test images of each kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dire_dsl.serve.app import create_app
from dire_dsl.serve.limits import Limits

LIMITS = Limits(max_bytes=200_000, max_pixels=1_000_000, max_batch=3)
"""Small enough to test each refusal with small bodies; every test image is well inside."""


@pytest.fixture(scope="session")
def app(tiny_run: Path) -> FastAPI:
    return create_app(tiny_run, limits=LIMITS)


@pytest.fixture()
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="session")
def test_images(tiny_loco: Path) -> dict[str, Path]:
    """One image per test folder: good, logical_anomalies, structural_anomalies."""
    test = tiny_loco / "pushpins" / "test"
    return {kind: test / kind / "000.png" for kind in ("good", "logical_anomalies", "structural_anomalies")}
