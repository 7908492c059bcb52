"""Honest phones beside hostile clients, all on loopback: does the server stay usable?

Two honest clients stream 640x480 JPEGs at 15 fps over the WebSocket, first
alone, then while a bounded abuse mix runs against the same server:
decompression bombs, oversized and endless bodies, slowloris connections, idle
WebSocket squatters, malformed frames and wrong-key guesses. Each attack sends
from its own loopback address (127.0.0.2 …) so that the per-address key
throttle, which the guesses trip, falls on the guesser only (on one shared
address it would fall on everyone there, by design). Reported: the
honest streams' p95 latency and drop rate with and without abuse, the server's
peak RSS, /health during the attack, and every status and close code the
attackers got (a 500 or a dead server is a failure). Writes JSON and prints a
summary::

    .venv/bin/python bench/serve_abuse.py [--model student.onnx] [--seconds 8]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import cv2
import httpx
import psutil
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import random_yolo11n_onnx  # noqa: E402
from bench.serve import FPS, measure, serving  # noqa: E402
from edgedistill.student import PHONE_INPUT  # noqa: E402
from tests.media import scene  # noqa: E402
from tests.test_serve_abuse import png_bomb  # noqa: E402

HONEST_KEY = "bench-honest-key-0123456789"
SQUATTER_KEY = "bench-squatter-key-0123456789"
MALFORMED_KEY = "bench-malformed-key-0123456789"
ADDRESSES = {
    "bombs": "127.0.0.2",
    "oversized": "127.0.0.3",
    "slowloris": "127.0.0.4",
    "squatters": "127.0.0.5",
    "malformed": "127.0.0.6",
    "guesses": "127.0.0.7",
}
ASSETS = ROOT.parent / "shared" / "assets"


class Abuse:
    """The hostile clients, each bounded in count, for ``seconds``; outcomes are tallied."""

    def __init__(self, port: int, seconds: float) -> None:
        self.port, self.seconds = port, seconds
        self.outcomes: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{port}/a/workflows/b"
        self.bomb = base64.b64encode(png_bomb(12_000)).decode()  # 144 MP in ~140 KB

    def tally(self, kind: str, outcome: object) -> None:
        with self.lock:
            self.outcomes[f"{kind}: {outcome}"] += 1

    def run(self) -> None:
        attacks = [self.bombs, self.oversized, self.slowloris, self.squatters, self.malformed]
        attacks.append(self.guesses)
        threads = [threading.Thread(target=attack) for attack in attacks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _until(self, count: int, pause: float):
        stop = time.monotonic() + self.seconds
        for number in range(count):
            if time.monotonic() > stop:
                return
            yield number
            time.sleep(pause)

    def bombs(self) -> None:
        image = {"type": "base64", "value": self.bomb}
        body = {"api_key": HONEST_KEY, "inputs": {"image": image}}
        for _ in self._until(20, 0.3):
            self.tally("bomb", self._post("bombs", json=body))

    def oversized(self) -> None:
        head = (
            b"POST /a/workflows/b HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n"
            b"Connection: close\r\n\r\n"
        )
        for _ in self._until(10, 0.5):
            with self._socket("oversized") as sock:
                # The server may answer and hang up before it has read all of this.
                with contextlib.suppress(OSError):
                    sock.sendall(head + b"{" + b" " * 65536)
                self.tally("300 MB body", _status_line(sock))

    def slowloris(self) -> None:
        sockets = []
        try:
            for _ in self._until(600, 0.005):
                sock = self._socket("slowloris")
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                sockets.append(sock)
            time.sleep(1.0)
            closed = sum(_closed(sock) for sock in sockets)
            self.tally("slowloris", f"{closed} of {len(sockets)} closed by the server")
        finally:
            for sock in sockets:
                sock.close()

    def squatters(self) -> None:
        """Six authenticated WebSockets at once that never send a frame."""
        threads = [threading.Thread(target=self._squat) for _ in self._until(6, 0.05)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _squat(self) -> None:
        url = f"ws://127.0.0.1:{self.port}/ws?api_key={SQUATTER_KEY}"
        try:
            with connect(url, sock=self._socket("squatters")) as ws:
                ws.recv(timeout=30)
        except ConnectionClosed as closed:
            self.tally("idle WebSocket", closed.rcvd.code if closed.rcvd else 1006)
        except TimeoutError:
            self.tally("idle WebSocket", "never closed")

    def malformed(self) -> None:
        messages = [b"\x00\x01", "text", b"\x00\x00\x00\x01not a jpeg"]
        for number in self._until(30, 0.2):
            url = f"ws://127.0.0.1:{self.port}/ws?api_key={MALFORMED_KEY}"
            try:
                with connect(url, sock=self._socket("malformed")) as ws:
                    ws.send(messages[number % len(messages)])
                    answer = json.loads(ws.recv(timeout=10))
                    self.tally("malformed frame", answer.get("error", "answered"))
            except ConnectionClosed as closed:
                self.tally("malformed frame", closed.rcvd.code if closed.rcvd else 1006)
            for body in ({"api_key": 1, "inputs": []}, "[" * 50_000):
                content = body if isinstance(body, str) else json.dumps(body)
                self.tally("malformed request", self._post("malformed", content=content))

    def guesses(self) -> None:
        for number in self._until(200, 0.02):
            body = {"api_key": f"guess-{number}", "inputs": {}}
            self.tally("key guess", self._post("guesses", json=body))

    def _post(self, attack: str, **kwargs) -> int | str:
        transport = httpx.HTTPTransport(local_address=ADDRESSES[attack])
        try:
            with httpx.Client(transport=transport, timeout=15) as client:
                return client.post(self.url, **kwargs).status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    def _socket(self, attack: str) -> socket.socket:
        sock = socket.socket()
        sock.bind((ADDRESSES[attack], 0))
        sock.settimeout(15)
        sock.connect(("127.0.0.1", self.port))
        return sock


def _status_line(sock: socket.socket) -> str:
    try:
        return sock.recv(64).split(b"\r\n")[0].decode() or "closed"
    except OSError as exc:
        return type(exc).__name__


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(3)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def watch(pid: int, port: int, stop: threading.Event, record: dict) -> None:
    """Peak RSS of the server and /health answers, every 50 ms."""
    process = psutil.Process(pid)
    health: Counter[str] = Counter()
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            record["peak_rss_mb"] = max(record["peak_rss_mb"], process.memory_info().rss / 2**20)
            try:
                health[str(client.get(f"http://127.0.0.1:{port}/health").status_code)] += 1
            except httpx.HTTPError as exc:
                health[type(exc).__name__] += 1
            time.sleep(0.05)
    record["health"] = dict(health)


def student(folder: Path) -> tuple[Path, str]:
    """The COCO-pretrained YOLO11n from ../shared/assets as ONNX, else a random one."""
    weights = ASSETS / "weights" / "yolo11n-coco.pt"
    if not weights.is_file():
        return random_yolo11n_onnx(folder), "YOLO11n (random weights) exported to ONNX at 480x640"
    from ultralytics import YOLO

    copy = folder / "yolo11n-coco.pt"
    copy.write_bytes(weights.read_bytes())
    onnx = YOLO(str(copy)).export(format="onnx", imgsz=PHONE_INPUT, verbose=False)
    return Path(onnx), "YOLO11n COCO-pretrained (shared assets) exported to ONNX at 480x640"


def honest_frames() -> list[bytes]:
    stills = sorted((ASSETS / "images" / "dashcam_stills").glob("*.jpg"))[:10]
    images = [cv2.resize(cv2.imread(str(p)), (640, 480)) for p in stills]
    images = images or [scene(i, (640, 480)) for i in range(10)]
    return [cv2.imencode(".jpg", i, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes() for i in images]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve_abuse.json")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "true")
    frames = honest_frames()
    with tempfile.TemporaryDirectory() as folder:
        model, described = (args.model, str(args.model)) if args.model else student(Path(folder))
        keys = [HONEST_KEY, SQUATTER_KEY, MALFORMED_KEY]
        with serving(model, [], keys, Path(folder)) as (port, server):
            url = f"ws://127.0.0.1:{port}/ws?api_key={HONEST_KEY}"
            idle_rss = psutil.Process(server.pid).memory_info().rss / 2**20
            abuse = Abuse(port, args.seconds)  # its payloads are made before any timing
            calm = measure([url, url], args.seconds, frames)
            record = {"peak_rss_mb": idle_rss}
            stop = threading.Event()
            watcher = threading.Thread(target=watch, args=(server.pid, port, stop, record))
            watcher.start()
            attacker = threading.Thread(target=abuse.run)
            attacker.start()
            stormy = measure([url, url], args.seconds, frames)
            attacker.join()
            stop.set()
            watcher.join()
            alive = server.poll() is None
    report = {
        "benchmark": "serve_abuse",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine
        },
        "model": described,
        "honest_streams": 2,
        "fps_per_stream": FPS,
        "seconds": args.seconds,
        "without_abuse": calm,
        "with_abuse": stormy,
        "server_rss_mb": {"idle": round(idle_rss), "peak": round(record["peak_rss_mb"])},
        "health_during_abuse": record["health"],
        "attack_outcomes": dict(sorted(abuse.outcomes.items())),
        "server_alive_after": alive,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    for name, run in (("without abuse", calm), ("with abuse", stormy)):
        print(
            f"{name:>14}: p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
            f"{run['answered_fps_per_stream']} fps per stream, dropped "
            f"{100 * run['dropped_share']:.0f} %"
        )
    rss = report["server_rss_mb"]
    print(f"server RSS: {rss['idle']} MB idle, peak {rss['peak']} MB")
    print(f"/health during abuse: {record['health']}; server alive after: {alive}")
    for outcome, count in report["attack_outcomes"].items():
        print(f"  {count:4d} × {outcome}")
    print(f"JSON in {args.out}")


if __name__ == "__main__":
    main()
