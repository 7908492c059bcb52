"""A local HTTP server that speaks Roboflow's documented JSON, for tests and benchmarks.

Endpoints: ``POST /sam3/concept_segment?api_key=…`` and
``POST /{workspace}/workflows/{workflow_id}``. Answers are deterministic: prompt
number ``i`` finds one object, a rectangle whose place depends on ``i``. Scripted
failures (401, 429 with Retry-After, 500, slow answers) come from ``plan``;
``poison`` adds a detection with NaN/infinite numbers to every answer, as a
misbehaving teacher might.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

from edgedistill.masks import mask_to_rle, rle_to_polygons

PROCESSING_SECONDS = 0.2


@dataclass
class Failure:
    """What to answer instead of a result: a status (with Retry-After) or a delay."""

    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    echo: bool = False
    """Quote the request line in the error, as some servers do (key and all)."""


@dataclass
class FakeRoboflow:
    key: str = "test-key-1234567890"
    mask_format: str = "rle"  # or "polygon"
    delay: float = 0.0
    plan: list[Failure] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # image hash -> answered calls
    requests: int = 0
    bodies: list[dict] = field(default_factory=list)
    keep_bodies: bool = False
    object_share: float = 0.0
    """Objects as a share of the frame's width (0: small fixed rectangles)."""
    poison: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeRoboflow:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_failure(self) -> Failure | None:
        with self._lock:
            self.requests += 1
            return self.plan.pop(0) if self.plan else None

    def answered(self, image_hash: str) -> None:
        with self._lock:
            self.calls[image_hash] += 1

    # answers

    def concept_segment(self, body: dict) -> dict:
        image, size = _image(body["image"]["value"])
        results = []
        for index, prompt in enumerate(body["prompts"]):
            mask = _object_mask(size, index, self.object_share)
            masks = mask_to_rle(mask) if self.mask_format == "rle" else _polygons(mask)
            prediction = {"masks": masks, "confidence": 0.9, "format": self.mask_format}
            echo = {"prompt_index": index, "type": "text", "text": prompt["text"], "num_boxes": 0}
            predictions = [prediction]
            if self.poison:
                predictions.append({**prediction, "confidence": float("nan")})
            results.append({"prompt_index": index, "echo": echo, "predictions": predictions})
        self.answered(image)
        return {"prompt_results": results, "time": PROCESSING_SECONDS}

    def workflow(self, body: dict) -> dict:
        image, (height, width) = _image(body["inputs"]["image"]["value"])
        predictions = []
        for index, name in enumerate(["car", "person", "motorbike"]):
            mask = _object_mask((height, width), index, self.object_share)
            ys, xs = np.nonzero(mask)
            x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            prediction = {
                "x": (x1 + x2) / 2,
                "y": (y1 + y2) / 2,
                "width": float(x2 - x1),
                "height": float(y2 - y1),
                "confidence": 0.8,
                "class": name,
                "class_id": index,
                "detection_id": f"{image[:8]}-{index}",
            }
            if self.mask_format == "rle":
                prediction["rle_mask"] = mask_to_rle(mask)
            else:
                polygon = _polygons(mask)[0]
                prediction["points"] = [{"x": x, "y": y} for x, y in polygon]
            predictions.append(prediction)
        if self.poison:
            predictions.append({**predictions[0], "x": float("nan"), "width": float("inf")})
        self.answered(image)
        image_info = {"width": width, "height": height}
        return {"outputs": [{"predictions": {"image": image_info, "predictions": predictions}}]}


def _handler(fake: FakeRoboflow) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            url = urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if fake.keep_bodies:
                fake.bodies.append({"path": url.path, "query": url.query, "body": body})
            failure = fake.next_failure()
            time.sleep(fake.delay + (failure.delay if failure else 0.0))
            if failure is not None and failure.status:
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = f"{failure.retry_after:g}"
                message = f"cannot handle {self.path}" if failure.echo else "scripted failure"
                return self._send(failure.status, {"message": message}, headers)
            if url.path == "/sam3/concept_segment":
                key = parse_qs(url.query).get("api_key", [""])[0]
                answer = fake.concept_segment
                if len(body.get("prompts", [])) > 16:
                    return self._send(422, {"detail": "Exceeded SAM3_MAX_PROMPT_BATCH_SIZE=16"})
            elif "/workflows/" in url.path:
                key = body.get("api_key", "")
                answer = fake.workflow
            else:
                return self._send(404, {"message": "not found"})
            if key != fake.key:
                return self._send(401, {"message": "Unauthorized access to roboflow API"})
            headers = {"x-processing-time": str(PROCESSING_SECONDS)}
            return self._send(200, answer(body), headers)

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            # A client that gave up waiting (a timeout test) is gone; the call still counts.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

    return Handler


def _image(b64: str) -> tuple[str, tuple[int, int]]:
    data = base64.b64decode(b64)
    width, height = Image.open(io.BytesIO(data)).size
    return hashlib.sha256(data).hexdigest()[:32], (height, width)


def _object_mask(size: tuple[int, int], index: int, share: float) -> np.ndarray:
    height, width = size
    mask = np.zeros((height, width), dtype=bool)
    w = max(12, int(width * share))
    h = max(10, int(w * 0.8))
    x0 = (index * 7) % max(width - w, 1)
    y0 = (index * 5) % max(height - h, 1)
    mask[y0 : y0 + h, x0 : x0 + w] = True
    return mask


def _polygons(mask: np.ndarray) -> list[list[list[float]]]:
    flat = rle_to_polygons(mask_to_rle(mask))
    return [[[p[i], p[i + 1]] for i in range(0, len(p), 2)] for p in flat]


def main() -> None:
    """Serve until killed: ``python -m tests.fake_roboflow --delay 0.15`` prints its URL."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--key", default="bench-key-0123456789")
    parser.add_argument("--delay", type=float, default=0.15)
    parser.add_argument("--object-share", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeRoboflow(key=args.key, delay=args.delay, object_share=args.object_share)
    with fake:
        print(fake.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
