"""Simulated phones streaming to `edgedistill serve` over loopback.

N clients each send a 640x480 JPEG every 1/15 s over the WebSocket for a few
seconds; for each N it records answered fps per stream, p50/p95 latency (send to
answer) and the share of frames dropped by the server's latest-frame-wins rule.
The most streams this machine sustains at 15 fps (≥ 90 % answered) goes into the
JSON as ``max_streams``, which ``edgedistill cost`` reads. Writes JSON and prints
a summary::

    .venv/bin/python bench/serve.py [--model student.onnx] [--seconds 6] [--max-clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.realtime import yolo11n_onnx  # noqa: E402
from tests.media import scene  # noqa: E402
from tests.test_serve import free_port  # noqa: E402

KEY = "bench-serve-key"
FPS = 15


def phone(url: str, seconds: float, frames: list[bytes], results: list[dict]) -> None:
    sent: dict[int, float] = {}
    latencies: list[float] = []
    answered = 0
    with connect(url, max_size=2**24) as ws:
        stop = time.perf_counter() + seconds

        def listen() -> None:
            nonlocal answered
            try:
                while True:
                    answer = json.loads(ws.recv())
                    answered += 1
                    latencies.append((time.perf_counter() - sent[answer["frame_id"]]) * 1000)
            except Exception:  # closed at the end of the run
                return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        frame_id = 0
        next_send = time.perf_counter()
        while time.perf_counter() < stop:
            frame_id += 1
            sent[frame_id] = time.perf_counter()
            ws.send(struct.pack(">I", frame_id) + frames[frame_id % len(frames)])
            next_send += 1 / FPS
            time.sleep(max(0.0, next_send - time.perf_counter()))
        time.sleep(0.5)  # let the last answers arrive
    results.append({"sent": frame_id, "answered": answered, "latencies": latencies})


def measure(url: str, clients: int, seconds: float, frames: list[bytes]) -> dict[str, float]:
    results: list[dict] = []
    threads = [
        threading.Thread(target=phone, args=(url, seconds, frames, results)) for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sum(r["sent"] for r in results)
    answered = sum(r["answered"] for r in results)
    latencies = sorted(v for r in results for v in r["latencies"])
    return {
        "clients": clients,
        "answered_fps_per_stream": round(answered / seconds / clients, 2),
        "answered_share": round(answered / sent, 3),
        "dropped_share": round(1 - answered / sent, 3),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--max-clients", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "true")
    frames = [
        cv2.imencode(".jpg", scene(i, (640, 480)), [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()
        for i in range(10)
    ]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or yolo11n_onnx(Path(folder))
        with serving(model, [KEY], Path(folder)) as (port, _):
            url = f"ws://127.0.0.1:{port}/ws?api_key={KEY}"
            for clients in range(1, args.max_clients + 1):
                run = measure(url, clients, args.seconds, frames)
                runs.append(run)
                print(
                    f"{clients} phones: {run['answered_fps_per_stream']} fps each, "
                    f"p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
                    f"dropped {100 * run['dropped_share']:.0f} %"
                )
                if run["answered_share"] < 0.5:
                    break
    sustained = [r["clients"] for r in runs if r["answered_share"] >= 0.9]
    report = {
        "benchmark": "serve",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "model": str(args.model or "YOLO11n (random weights) exported to ONNX at 480x640"),
        "fps_per_phone": FPS,
        "seconds": args.seconds,
        "runs": runs,
        "max_streams": max(sustained) if sustained else 0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"most streams sustained at {FPS} fps (>= 90 % answered): {report['max_streams']}; "
        f"JSON in {args.out}"
    )


@contextmanager
def serving(
    model: Path, keys: list[str], folder: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`edgedistill serve` in its own process on a free loopback port, up and answering;
    yields the port and the process, and kills it afterwards."""
    port = free_port()
    env = {**os.environ, "EDGEDISTILL_API_KEYS": ",".join(keys)}
    script = Path(sys.executable).with_name("edgedistill")
    server = subprocess.Popen(
        [str(script), "serve", "--model", str(model), "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health")
        yield port, server
    finally:
        server.kill()


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit("the server did not come up")


if __name__ == "__main__":
    main()
