"""Simulated phones streaming to `edgedistill serve` over loopback, beside the model-bound limit.

N clients each send a real dashcam frame (640x480 JPEG) every 1/15 s over the WebSocket;
for each N it records answered fps per stream, p50/p95 latency (send to answer) and the
share of frames dropped by the server's latest-frame-wins rule. In the same run, in its
own process, ``session.run`` alone gives the model time, and with it the model-bound
limit: ``1000 / (model ms x 15)`` streams. The server's capacity is the most frames per
second it answered (in streams of 15 fps, with the p95 it took); the goal is >= 95 % of
the limit. Each phone has its own key (a key holds 2 streams by default).

Three servers are up at once and each number of phones is measured on each, in rotated
order: the fixed export (one frame per call: the default), the same model exported with
a dynamic batch (``export --dynamic``; frames that wait together run as one batch of up
to 2, the default), and that export as two copies side by side on one core each
(``--model-workers 2``). Their capacities over the first's say whether batching or
copies help on this hardware. ``session.run`` on a batch of 2 and 4 is timed per frame
against batch 1 of the same export.

``max_streams`` (whole streams held: >= 95 % of frames answered, p95 < 100 ms) goes into
the JSON for ``edgedistill cost``. Writes JSON and prints a summary::

    .venv/bin/python bench/serve.py [--models yolo11n yolo26n] [--seconds 6] [--max-clients 5]
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
from contextlib import ExitStack, contextmanager
from pathlib import Path

import cv2
import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import CLIP, EXPORTS, coco_onnx, peak_rss_mb  # noqa: E402
from tests.test_serve import free_port  # noqa: E402

KEY = "bench-serve-key"
FPS = 15


def phone(url: str, seconds: float, frames: list[bytes], results: list[dict]) -> None:
    sent: dict[int, float] = {}
    latencies: list[float] = []
    model_ms: list[float] = []
    batches: list[int] = []
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
                    model_ms.append(answer["model_ms"])
                    batches.append(answer["batch"])
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
    results.append(
        {
            "sent": frame_id,
            "answered": answered,
            "latencies": latencies,
            "model_ms": model_ms,
            "batches": batches,
        }
    )


def measure(urls: list[str], seconds: float, frames: list[bytes]) -> dict[str, float]:
    """One phone per URL, all at once."""
    results: list[dict] = []
    clients = len(urls)
    threads = [threading.Thread(target=phone, args=(url, seconds, frames, results)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sum(r["sent"] for r in results)
    answered = sum(r["answered"] for r in results)
    latencies = sorted(v for r in results for v in r["latencies"])
    model_ms = [v for r in results for v in r["model_ms"]]
    batches = [v for r in results for v in r["batches"]]
    return {
        "clients": clients,
        "answered_fps_per_stream": round(answered / seconds / clients, 2),
        "answered_share": round(answered / sent, 3),
        "dropped_share": round(1 - answered / sent, 3),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "server_model_ms": round(statistics.median(model_ms), 1) if model_ms else None,
        "batched_share": round(sum(b > 1 for b in batches) / len(batches), 3) if batches else 0,
    }


def session_ms(model: Path, batch: int = 1, runs: int = 60) -> float:
    """Median ms per frame of ``session.run`` alone, with the runtime's thread settings, in a
    fresh process."""
    script = f"""
import statistics, time
import numpy as np
from edgedistill.runtime import OnnxStudent
student = OnnxStudent(__import__("pathlib").Path({str(model)!r}), iou=0.7)
tensor = np.random.default_rng(0).random((1, 3, 480, 640), dtype=np.float32)
tensor = np.repeat(tensor, {batch}, axis=0)
for _ in range(5):
    student.session.run(None, {{student.input_name: tensor}})
times = []
for _ in range({runs}):
    start = time.perf_counter()
    student.session.run(None, {{student.input_name: tensor}})
    times.append((time.perf_counter() - start) * 1000 / {batch})
print(statistics.median(times))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def dashcam_jpegs(count: int = 30) -> list[bytes]:
    """Real frames as a phone sends them: 640x480 (the clip's centre), JPEG quality 70."""
    from edgedistill.media.video import VideoReader

    with VideoReader(CLIP) as reader:
        frames = [f.image for f in reader.sample(fps=0, max_side=960)][:: 221 // count]
    crops = [cv2.resize(f[:, 120:840], (640, 480), interpolation=cv2.INTER_AREA) for f in frames]
    return [cv2.imencode(".jpg", c, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes() for c in crops]


def served(
    servers: dict[str, tuple[Path, list[str]]], folder: Path, seconds: float, max_clients: int
) -> dict[str, dict[str, object]]:
    """Each server (name -> model and serve flags) up at once; for 1, 2, … phones, every
    server measured in an order rotated each time, until each answers under half of its
    frames."""
    frames = dashcam_jpegs()
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    keys = [f"{KEY}-{phone}" for phone in range(max_clients)]  # a phone, a key
    with ExitStack() as stack:
        running = {
            name: stack.enter_context(serving(model, flags, keys, folder))
            for name, (model, flags) in servers.items()
        }
        names = list(servers)
        for clients in range(1, max_clients + 1):
            for name in names[clients % len(names) :] + names[: clients % len(names)]:
                port = running[name][0]
                urls = [f"ws://127.0.0.1:{port}/ws?api_key={key}" for key in keys[:clients]]
                run = measure(urls, seconds, frames)
                runs[name].append(run)
                print(
                    f"  {name}, {clients} phones: {run['answered_fps_per_stream']} fps each, "
                    f"p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
                    f"dropped {100 * run['dropped_share']:.0f} %, model {run['server_model_ms']}"
                    f" ms a call, {100 * run['batched_share']:.0f} % of frames in batches"
                )
            if all(r[-1]["answered_share"] < 0.5 for r in runs.values()):
                break
        return {
            name: {"runs": runs[name], "server_peak_rss_mb": peak_rss_mb(server.pid)}
            for name, (_, server) in running.items()
        }


def summarise(runs: list[dict], model_ms: float) -> dict[str, object]:
    """The limit from ``session.run`` alone; what the server answered at its best (frames per
    second in streams of 15 fps, at any number of phones), and whole streams held at 15 fps
    (>= 95 % answered) with p95 under 100 ms."""
    limit = 1000 / (model_ms * FPS)
    best = max(runs, key=lambda r: r["answered_fps_per_stream"] * r["clients"])
    capacity = best["answered_fps_per_stream"] * best["clients"] / FPS
    held = [
        r["clients"]
        for r in runs
        if r["answered_share"] >= 0.95 and r["p95_ms"] is not None and r["p95_ms"] < 100
    ]
    return {
        "model_ms": round(model_ms, 2),
        "model_bound_streams": round(limit, 2),
        "capacity_streams": round(capacity, 2),
        "capacity_at_phones": best["clients"],
        "capacity_p95_ms": best["p95_ms"],
        "capacity_share_of_limit": round(capacity / limit, 3),
        "max_streams": max(held, default=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(EXPORTS), default=list(EXPORTS))
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--max-clients", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "true")
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            fixed = coco_onnx(name, Path(folder))
            dynamic_export = coco_onnx(name, Path(folder), dynamic=True)
            servers = {
                "one frame a call": (fixed, []),
                "batches of up to 2": (dynamic_export, ["--max-batch", "2"]),
                "2 copies, batches of up to 2": (
                    dynamic_export,
                    ["--max-batch", "2", "--model-workers", "2"],
                ),
            }
            print(f"{name}:")
            before = session_ms(fixed)
            measured = served(servers, Path(folder), args.seconds, args.max_clients)
            after = session_ms(fixed)
            model_ms = statistics.mean([before, after])
            plain, batched, copies = (
                {**summarise(measured[key]["runs"], model_ms), **measured[key]}  # type: ignore[arg-type]
                for key in servers
            )
            dynamic = {b: session_ms(dynamic_export, b) for b in (1, 2, 4)}
            results[name] = {
                **plain,
                "session_ms_before_and_after": [round(before, 2), round(after, 2)],
                "batched_server": batched,
                "batched_over_plain_capacity": round(
                    batched["capacity_streams"] / plain["capacity_streams"], 3
                ),
                "two_copies_server": copies,
                "two_copies_over_plain_capacity": round(
                    copies["capacity_streams"] / plain["capacity_streams"], 3
                ),
                "dynamic_session_ms_per_frame": {b: round(ms, 2) for b, ms in dynamic.items()},
                "batch2_over_batch1": round(dynamic[2] / dynamic[1], 3),
                "batch4_over_batch1": round(dynamic[4] / dynamic[1], 3),
            }
    default = results.get("yolo11n") or next(iter(results.values()))
    report = {
        "benchmark": "serve",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "frames": "dashcam_highway_960x540.mp4, centre 720x540 resized to 640x480, JPEG q70",
        "fps_per_phone": FPS,
        "seconds": args.seconds,
        "results": results,
        "max_streams": default["max_streams"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"serve benchmark ({os.cpu_count()} cores), JSON in {args.out}")
    for name, row in results.items():
        batched, copies = row["batched_server"], row["two_copies_server"]
        print(
            f"{name}: model {row['model_ms']} ms -> limit {row['model_bound_streams']} streams; "
            f"served {row['capacity_streams']} ({100 * row['capacity_share_of_limit']:.0f} % of "
            f"the limit, goal >= 95 %; p95 {row['capacity_p95_ms']} ms), {row['max_streams']} "
            f"whole streams held at p95 < 100 ms; batching: {batched['capacity_streams']} "
            f"({row['batched_over_plain_capacity']}x, {batched['max_streams']} held); 2 copies: "
            f"{copies['capacity_streams']} ({row['two_copies_over_plain_capacity']}x, "
            f"{copies['max_streams']} held, {copies['capacity_share_of_limit']} of the limit); "
            f"session.run batch 2 {row['batch2_over_batch1']}x and batch 4 "
            f"{row['batch4_over_batch1']}x batch 1 per frame; server peak RSS "
            f"{row['server_peak_rss_mb']} MB"
        )


@contextmanager
def serving(
    model: Path, flags: list[str], keys: list[str], folder: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`edgedistill serve` with ``flags`` in its own process on a free loopback port, up and
    answering; yields the port and the process, and kills it afterwards."""
    port = free_port()
    env = {**os.environ, "EDGEDISTILL_API_KEYS": ",".join(keys)}
    script = Path(sys.executable).with_name("edgedistill")
    server = subprocess.Popen(
        [str(script), "serve", "--model", str(model), "--port", str(port), *flags],
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
