"""The service on an exported graph (what `dire serve` serves by default): the same answers as the run
folder it came from, with ONNX Runtime and no torch model behind it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dire_dsl.serve.app import create_app


def test_the_exported_graph_answers_as_the_run_does(tiny_export: Path, client: TestClient,
                                                     test_images: dict[str, Path]) -> None:
    exported = TestClient(create_app(tiny_export))
    health = exported.get("/health").json()
    assert health["backend"] == "onnx" and health["model"] == str(tiny_export) and health["category"] == "pushpins"
    assert exported.get("/rules").json() == client.get("/rules").json()
    for image in test_images.values():
        files = {"file": (image.name, image.read_bytes(), "image/png")}
        onnx, torch = exported.post("/inspect", files=files).json(), client.post("/inspect", files=files).json()
        assert onnx["score"] == pytest.approx(torch["score"], abs=1e-4) and onnx["verdict"] == torch["verdict"]
        assert {row["rule"]: row["truth"] for row in onnx["rules"]} == pytest.approx(
            {row["rule"]: row["truth"] for row in torch["rules"]}, abs=1e-4)
