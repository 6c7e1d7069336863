"""Load on `dire serve`: N concurrent clients send a fixed number of images, per backend, side by side.

For each backend the service is started on localhost as a user starts it (`python -m dire_dsl
serve MODEL --backend B`, one uvicorn worker), warmed up, then driven by `--clients` threads
(one httpx client each) until `--requests` POST /inspect requests have been answered. Printed per
backend: images/s, p50 and p99 latency, errors (any status but 200, or a failed connection), the
server's peak RSS (VmHWM in /proc/PID/status) and how much the last 500 requests grew it, then the
ONNX/torch throughput ratio.

    python benchmarks/serve_load.py --onnx out/model.onnx --run out/run --image IMAGE.png
        [--backends onnx,torch] [--clients 8] [--requests 2000] [--size 256] [--overlay]

The image is resized once so its longer side is --size pixels and sent as PNG (the raw body).
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image

TAIL = 500
"""The last requests whose peak-RSS growth is reported (a quarter of the run when it is shorter)."""


@dataclass
class Load:
    """What the clients saw, and the server's memory at the start of the tail and at the end."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_before_tail_kb: int = 0
    peak_kb: int = 0
    rss_kb: int = 0


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of process `pid`, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values


def png_of(image: Path, size: int) -> bytes:
    picture = Image.open(image).convert("RGB")
    scale = size / max(picture.size)
    picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))),
                             Image.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(model: Path, backend: str, port: int, log: Path) -> subprocess.Popen:
    """`dire serve` in its own process, returned once /health answers."""
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "dire_dsl", "serve", str(model), "--backend", backend,
                                   "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        if server.poll() is not None:
            raise SystemExit(f"dire serve --backend {backend} exited {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.terminate()
            raise SystemExit(f"dire serve --backend {backend} did not answer in 300 s:\n{log.read_text()}")
        time.sleep(0.3)


def drive(url: str, body: bytes, clients: int, requests: int, pid: int) -> Load:
    """`requests` POSTs of `body` from `clients` threads; the server's memory sampled as the tail begins."""
    load = Load()
    lock = threading.Lock()
    sent = 0
    tail_from = requests - min(TAIL, requests // 4)

    def client() -> None:
        nonlocal sent
        with httpx.Client(timeout=120) as http:
            while True:
                with lock:
                    if sent >= requests:
                        return
                    sent += 1
                begin = time.perf_counter()
                try:
                    response = http.post(url, content=body, headers={"Content-Type": "image/png"})
                    error = None if response.status_code == 200 else f"{response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as failure:
                    error = f"{type(failure).__name__}: {failure}"
                elapsed = time.perf_counter() - begin
                with lock:
                    load.latencies.append(elapsed)
                    if error:
                        load.errors.append(error)
                    if len(load.latencies) == tail_from:
                        load.peak_before_tail_kb = memory_kb(pid)["VmHWM"]

    threads = [threading.Thread(target=client) for _ in range(clients)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - begin
    memory = memory_kb(pid)
    load.peak_kb, load.rss_kb = memory["VmHWM"], memory["VmRSS"]
    return load


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def measure(model: Path, backend: str, body: bytes, args: argparse.Namespace) -> Load:
    port = free_port()
    log = Path(args.log_dir) / f"serve_{backend}.log"
    server = start(model, backend, port, log)
    try:
        url = f"http://127.0.0.1:{port}/inspect" + ("?overlay=true" if args.overlay else "")
        drive(url, body, 1, args.warmup, server.pid)
        return drive(url, body, args.clients, args.requests, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


def report(loads: dict[str, Load], args: argparse.Namespace) -> str:
    tail = min(TAIL, args.requests // 4)
    rows = [
        ("images/s", lambda load: f"{len(load.latencies) / load.seconds:.1f}"),
        ("p50 latency (ms)", lambda load: f"{1000 * percentile(load.latencies, 50):.1f}"),
        ("p99 latency (ms)", lambda load: f"{1000 * percentile(load.latencies, 99):.1f}"),
        ("errors", lambda load: str(len(load.errors))),
        ("peak RSS (MB)", lambda load: f"{load.peak_kb / 1024:.0f}"),
        ("RSS at the end (MB)", lambda load: f"{load.rss_kb / 1024:.0f}"),
        (f"peak RSS growth, last {tail} requests",
         lambda load: f"{100 * (load.peak_kb - load.peak_before_tail_kb) / load.peak_before_tail_kb:+.2f} %"),
    ]
    names = list(loads)
    lines = [f"{args.requests} requests, {args.clients} clients, {args.size} px PNG, POST /inspect"
             + ("?overlay=true" if args.overlay else ""),
             f"{'':38}" + "".join(f"{name:>12}" for name in names)]
    lines += [f"{label:38}" + "".join(f"{show(loads[name]):>12}" for name in names) for label, show in rows]
    if {"onnx", "torch"} <= set(loads):
        ratio = (len(loads["onnx"].latencies) / loads["onnx"].seconds) / (
            len(loads["torch"].latencies) / loads["torch"].seconds)
        lines.append(f"ONNX/torch throughput: {ratio:.2f}x")
    for name, load in loads.items():
        for error in load.errors[:3]:
            lines.append(f"{name} error: {error}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, help="the .onnx file `dire export` wrote (for --backends onnx)")
    parser.add_argument("--run", type=Path, help="the run folder (for --backends torch)")
    parser.add_argument("--image", type=Path, required=True, help="the image every request sends")
    parser.add_argument("--backends", default="onnx,torch", help="comma-separated, in the order they run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=10, help="requests sent first, not counted")
    parser.add_argument("--size", type=int, default=256, help="the image's longer side, in pixels")
    parser.add_argument("--overlay", action="store_true", help="ask for the overlay figure too")
    parser.add_argument("--log-dir", default=".", help="where each server's log is written")
    args = parser.parse_args(argv)
    args.backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in args.backends if name not in ("onnx", "torch")]
    if unknown:
        parser.error(f"unknown backend(s) {unknown}; use onnx and/or torch")
    for name, model in (("onnx", args.onnx), ("torch", args.run)):
        if name in args.backends and model is None:
            parser.error(f"--backends {name} needs --{'onnx' if name == 'onnx' else 'run'}")
    if args.requests < 4:
        parser.error("--requests must be at least 4")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    body = png_of(args.image, args.size)
    models = {"onnx": args.onnx, "torch": args.run}
    loads = {name: measure(models[name], name, body, args) for name in args.backends}
    print(report(loads, args))
    return 1 if any(load.errors for load in loads.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
