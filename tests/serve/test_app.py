"""The HTTP API on the tiny run: what an inspection returns, the batch, health, rules and the schema,
each bad input refused with a 4xx message, and no memory kept per request."""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from dire_dsl.explain.explain import explain
from tests.serve.conftest import LIMITS

RULES = {"one_per_compartment", "fifteen_pins", "all_separators"}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _claimed_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with no pixel data: a decompression bomb's first bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk
            + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def test_multipart_inspection_is_dire_explain(client: TestClient, tiny_run: Path, test_images: dict[str, Path]) -> None:
    image = test_images["logical_anomalies"]
    response = client.post("/inspect", files={"file": ("000.png", image.read_bytes(), "image/png")})
    assert response.status_code == 200, response.text
    got = response.json()
    expected = explain(tiny_run, [image])[0]
    assert got["image"] == "000.png" and got["verdict"] == expected.verdict
    assert got["score"] == pytest.approx(expected.score, abs=1e-6)
    assert got["threshold"] == pytest.approx(expected.threshold)
    assert [rule["rule"] for rule in got["rules"]] == [rule.rule for rule in expected.rules]
    assert RULES <= {rule["rule"] for rule in got["rules"]}
    for rule, want in zip(got["rules"], expected.rules):
        assert {"truth", "z", "violated", "false_at", "evidence", "line", "source"} <= set(rule)
        assert rule["truth"] == pytest.approx(want.truth, abs=1e-6) and rule["false_at"] == want.false_at
    assert got["structural"]["on"] and got["overlay"] is None and got["anomaly_map"] is None


def test_raw_body_gives_the_same_answer(client: TestClient, test_images: dict[str, Path]) -> None:
    data = test_images["good"].read_bytes()
    raw = client.post("/inspect", content=data, headers={"Content-Type": "image/png"})
    form = client.post("/inspect", files={"file": ("good.png", data, "image/png")})
    assert raw.status_code == form.status_code == 200, raw.text
    assert raw.json()["image"] == "body"
    assert raw.json()["score"] == form.json()["score"] and raw.json()["rules"] == form.json()["rules"]
    octets = client.post("/inspect", content=data, headers={"Content-Type": "application/octet-stream"})
    assert octets.status_code == 200 and octets.json()["score"] == raw.json()["score"]


def test_map_and_overlay_are_pngs(client: TestClient, test_images: dict[str, Path]) -> None:
    data = test_images["structural_anomalies"].read_bytes()
    response = client.post("/inspect?map=true&overlay=true", files={"file": ("s.png", data, "image/png")})
    assert response.status_code == 200, response.text
    got = response.json()
    size = Image.open(io.BytesIO(data)).size
    anomaly_map = Image.open(io.BytesIO(base64.b64decode(got["anomaly_map"]["png"])))
    assert anomaly_map.size == size and anomaly_map.mode.startswith("I;16")
    assert got["anomaly_map"]["high"] == pytest.approx(got["score"], rel=1e-5)  # the score is the map's maximum
    assert got["anomaly_map"]["low"] <= got["anomaly_map"]["high"]
    overlay = Image.open(io.BytesIO(base64.b64decode(got["overlay"])))
    assert overlay.format == "PNG" and overlay.width > size[0]


def test_other_image_kinds_are_read(client: TestClient) -> None:
    wide = Image.fromarray(np.arange(96 * 96, dtype=np.uint16).reshape(96, 96) * 7)  # 16-bit grayscale
    rgba = Image.new("RGBA", (80, 60), (200, 10, 10, 128))
    jpeg = io.BytesIO()
    Image.new("RGB", (90, 90), (30, 60, 90)).save(jpeg, format="JPEG")
    for name, data in (("wide.png", _png(wide)), ("rgba.png", _png(rgba)), ("photo.jpg", jpeg.getvalue())):
        response = client.post("/inspect", files={"file": (name, data, "image/*")})
        assert response.status_code == 200, (name, response.text)


def test_batch_answers_in_order(client: TestClient, test_images: dict[str, Path]) -> None:
    names = ["good", "logical_anomalies", "structural_anomalies"]
    files = [("files", (f"{name}.png", test_images[name].read_bytes(), "image/png")) for name in names]
    response = client.post("/inspect/batch", files=files)
    assert response.status_code == 200, response.text
    got = response.json()
    assert [item["image"] for item in got] == [f"{name}.png" for name in names]
    for name, item in zip(names, got):
        one = client.post("/inspect", files={"file": ("x.png", test_images[name].read_bytes(), "image/png")}).json()
        assert item["score"] == pytest.approx(one["score"], rel=1e-5)  # a batch sums floats in another order
        assert item["verdict"] == one["verdict"]


def test_batch_is_bounded(client: TestClient, test_images: dict[str, Path]) -> None:
    data = test_images["good"].read_bytes()
    files = [("files", (f"{i}.png", data, "image/png")) for i in range(LIMITS.max_batch + 1)]
    response = client.post("/inspect/batch", files=files)
    assert response.status_code == 413
    assert f"at most {LIMITS.max_batch}" in response.json()["detail"]
    raw = client.post("/inspect/batch", content=data, headers={"Content-Type": "image/png"})
    assert raw.status_code == 415 and "files=@" in raw.json()["detail"]


def test_health_and_rules(client: TestClient, tiny_run: Path) -> None:
    health = client.get("/health").json()
    assert health == {"status": "ok", "backend": "torch", "model": str(tiny_run), "category": "pushpins",
                      "version": health["version"]}
    rules = client.get("/rules").json()
    text = (tiny_run / "rules.rules").read_text(encoding="utf-8") if (tiny_run / "rules.rules").is_file() else None
    assert RULES <= set(rules["rules"]) and rules["category"] == "pushpins"
    assert rules["sha256"] == hashlib.sha256(rules["text"].encode("utf-8")).hexdigest()
    assert text is None or rules["text"] == text
    assert "rule fifteen_pins" in rules["text"] and 0 < rules["threshold"]


def test_openapi_schema_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/inspect", "/inspect/batch", "/health", "/rules"} <= set(schema["paths"])
    body = schema["paths"]["/inspect"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "image/png"} <= set(body)
    assert {p["name"] for p in schema["paths"]["/inspect"]["post"]["parameters"]} == {"map", "overlay"}
    assert client.get("/docs").status_code == 200


def test_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="verdict"' in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def _chunks(data: bytes, size: int = 10_000):  # noqa: ANN202 -- a body without Content-Length (chunked)
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize(("body", "headers", "status", "says"), [
    pytest.param(b"hello, not an image", {"Content-Type": "image/png"}, 422, "not an image", id="not-an-image"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", {"Content-Type": "image/png"}, 422, "not an image", id="truncated"),
    pytest.param(b"{}", {"Content-Type": "application/json"}, 415, "not an image type", id="json"),
    pytest.param(b"x", {"Content-Type": "text/plain"}, 415, "not an image type", id="text"),
    pytest.param(b"x", {}, 415, "Content-Type (none)", id="no-content-type"),
    pytest.param(b"", {"Content-Type": "image/png"}, 400, "empty", id="empty"),
    pytest.param(_claimed_png(9000, 9000), {"Content-Type": "image/png"}, 413, "megapixels", id="bomb"),
    pytest.param(_claimed_png(100_000, 100_000), {"Content-Type": "image/png"}, 413, "megapixels",
                 id="bomb-past-pil-limit"),
    pytest.param(b"\0" * (LIMITS.max_bytes + 100_000), {"Content-Type": "image/png"}, 413, "larger than the limit",
                 id="oversized"),
])
def test_bad_raw_bodies_are_refused(client: TestClient, body: bytes, headers: dict[str, str], status: int,
                                    says: str) -> None:
    response = client.post("/inspect", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]


def test_oversized_body_without_length_is_cut_off(client: TestClient) -> None:
    response = client.post("/inspect", content=_chunks(b"\0" * (LIMITS.max_bytes * 3)),
                           headers={"Content-Type": "image/png"})
    assert response.status_code == 413 and "larger than the limit" in response.json()["detail"]


@pytest.mark.parametrize(("files", "status", "says"), [
    pytest.param({"image": ("a.png", b"x", "image/png")}, 400, "field `file`", id="wrong-field"),
    pytest.param({"file": ("a.txt", b"some text", "text/plain")}, 415, "not an image type", id="text-part"),
    pytest.param({"file": ("a.png", b"", "image/png")}, 400, "empty", id="empty-part"),
    pytest.param({"file": ("a.png", b"\1" * (LIMITS.max_bytes + 1), "image/png")}, 413, "larger than the limit",
                 id="oversized-part"),
    pytest.param({"file": ("a.png", b"GIF89a nonsense", "image/png")}, 422, "a.png", id="damaged-part"),
])
def test_bad_multipart_is_refused(client: TestClient, files: dict, status: int, says: str) -> None:
    response = client.post("/inspect", files=files)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]


def test_a_scoring_error_is_a_500_and_the_service_goes_on(app: FastAPI, test_images: dict[str, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    data = test_images["good"].read_bytes()

    def broken(images: list) -> None:
        raise RuntimeError("the model fell over")

    with monkeypatch.context() as patch:
        patch.setattr(app.state.inspector.scorer, "score", broken)
        response = client.post("/inspect", content=data, headers={"Content-Type": "image/png"})
    assert response.status_code == 500
    assert response.json()["detail"] == "scoring failed: RuntimeError: the model fell over"
    assert client.post("/inspect", content=data, headers={"Content-Type": "image/png"}).status_code == 200


def test_requests_leave_nothing_behind(client: TestClient, test_images: dict[str, Path]) -> None:
    """Many requests (all kinds, refusals too) grow no Python-side structure: the object count stays flat."""
    good, bad = test_images["logical_anomalies"].read_bytes(), b"not an image"

    def rounds(n: int) -> None:
        for _ in range(n):
            assert client.post("/inspect?overlay=true&map=true", content=good,
                               headers={"Content-Type": "image/png"}).status_code == 200
            assert client.post("/inspect", files={"file": ("b.png", bad, "image/png")}).status_code == 422
            assert client.get("/health").status_code == 200

    rounds(5)
    gc.collect()
    before = len(gc.get_objects())
    rounds(30)
    gc.collect()
    grown = len(gc.get_objects()) - before
    assert grown < 200, f"{grown} more live Python objects after 30 more rounds of requests"
