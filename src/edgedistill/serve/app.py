"""The streaming server: a WebSocket for phones, a Roboflow-compatible HTTP endpoint.

WebSocket ``/ws?api_key=KEY``: the client sends binary messages, a 4-byte
big-endian frame id followed by a JPEG; the server answers each frame it
processes with JSON (boxes in the frame's pixels, class, confidence, track id,
server and model milliseconds). The latest frame wins: a frame that arrives while
the previous one is still waiting replaces it and is counted as dropped.
Close codes: 1008 bad key or too many frames per second, 1009 frame too large,
1013 too many clients. The HTTP endpoint answers 401, 400, 413 and 429 likewise.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import os
import struct
import time
import uuid
from collections import deque
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from trackers import ByteTrackTracker

from edgedistill.config import ServeConfig
from edgedistill.serve.detector import BadImage, Detector
from edgedistill.serve.metrics import Metrics
from edgedistill.serve.model_route import MODEL_FILE, add_model_routes

KEYS_VARIABLE = "EDGEDISTILL_API_KEYS"
POLICY_VIOLATION, TOO_BIG, TRY_AGAIN_LATER = 1008, 1009, 1013


def api_keys(settings: ServeConfig) -> list[str]:
    extra = os.environ.get(KEYS_VARIABLE, "")
    return [*settings.api_keys, *(k.strip() for k in extra.split(",") if k.strip())]


def create_app(model_path: Path, settings: ServeConfig) -> FastAPI:
    detector = Detector(model_path, settings.conf)
    keys = api_keys(settings)
    metrics = Metrics()
    app = FastAPI(title="edgedistill", docs_url=None, redoc_url=None)

    def authorised(key: str | None) -> bool:
        return key is not None and any(hmac.compare_digest(key, k) for k in keys)

    requests: dict[str, deque[float]] = {}

    def too_fast(key: str) -> bool:
        """More than twice the allowed frame rate over the last second, per API key."""
        now = time.perf_counter()
        times = requests.setdefault(key, deque())
        times.append(now)
        while now - times[0] > 1.0:
            times.popleft()
        return len(times) > 2 * settings.max_fps_per_client

    if (model_path.parent / "model.json").is_file() and model_path.name == MODEL_FILE:
        add_model_routes(app, model_path.parent, authorised)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": model_path.name,
            "classes": detector.names,
            "clients": metrics.clients,
        }

    @app.get("/metrics")
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.prometheus(), media_type="text/plain; version=0.0.4")

    @app.get("/")
    def page() -> HTMLResponse:
        html = resources.files("edgedistill.serve").joinpath("hud.html").read_text("utf-8")
        return HTMLResponse(html)

    @app.post("/{workspace}/workflows/{workflow_id}")
    async def workflow(workspace: str, workflow_id: str, request: Request) -> JSONResponse:
        metrics.count("http_requests")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict) or not authorised(body.get("api_key")):
            metrics.count("rejected")
            return _error(401, "invalid or missing api_key")
        if too_fast(body["api_key"]):
            metrics.count("rejected")
            return _error(429, "too many frames per second for this key")
        try:
            data = await _image_bytes(body, settings)
        except _RequestError as exc:
            metrics.count("rejected")
            return _error(exc.status, str(exc))
        started = time.perf_counter()
        try:
            answer = await asyncio.to_thread(detector.detect, data)
        except BadImage:
            return _error(400, "the image cannot be decoded")
        metrics.answered((time.perf_counter() - started) * 1000, answer.model_ms)
        return JSONResponse({"outputs": [{"predictions": _roboflow_predictions(detector, answer)}]})

    @app.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        if not authorised(websocket.query_params.get("api_key")):
            metrics.count("rejected")
            await websocket.close(POLICY_VIOLATION, "invalid or missing api_key")
            return
        if metrics.clients >= settings.max_clients:
            metrics.count("rejected")
            await websocket.close(TRY_AGAIN_LATER, "too many clients")
            return
        metrics.clients += 1
        try:
            await _serve_stream(websocket, detector, settings, metrics)
        finally:
            metrics.clients -= 1

    return app


async def _serve_stream(
    websocket: WebSocket, detector: Detector, settings: ServeConfig, metrics: Metrics
) -> None:
    latest: asyncio.Queue[tuple[int, bytes, float]] = asyncio.Queue(maxsize=1)
    tracker = (
        ByteTrackTracker(
            frame_rate=settings.max_fps_per_client, track_activation_threshold=settings.conf
        )
        if settings.tracking
        else None
    )
    arrivals: deque[float] = deque()

    async def receive() -> None:
        while True:
            message = await websocket.receive_bytes()
            now = time.perf_counter()
            arrivals.append(now)
            while arrivals and now - arrivals[0] > 1.0:
                arrivals.popleft()
            if len(arrivals) > 2 * settings.max_fps_per_client:
                await websocket.close(POLICY_VIOLATION, "too many frames per second")
                return
            if len(message) > settings.max_frame_bytes + 4:
                await websocket.close(TOO_BIG, "frame too large")
                return
            metrics.count("frames_in")
            frame_id = struct.unpack(">I", message[:4])[0] if len(message) >= 4 else 0
            if latest.full():  # the latest frame wins
                latest.get_nowait()
                metrics.count("frames_dropped")
            latest.put_nowait((frame_id, message[4:], now))

    async def answer() -> None:
        while True:
            frame_id, data, arrived = await latest.get()
            try:
                result = await asyncio.to_thread(detector.detect, data, tracker)
            except BadImage:
                await websocket.send_json({"frame_id": frame_id, "error": "undecodable image"})
                continue
            server_ms = (time.perf_counter() - arrived) * 1000
            metrics.answered(server_ms, result.model_ms)
            await websocket.send_json(
                {
                    "frame_id": frame_id,
                    "width": result.width,
                    "height": result.height,
                    "detections": detector.as_json(result.detections),
                    "server_ms": round(server_ms, 2),
                    "model_ms": round(result.model_ms, 2),
                    "dropped": metrics.counters["frames_dropped"],
                }
            )

    tasks = [asyncio.create_task(receive()), asyncio.create_task(answer())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect | RuntimeError):
                raise error
    finally:
        for task in tasks:
            task.cancel()


class _RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _image_bytes(body: dict[str, Any], settings: ServeConfig) -> bytes:
    image = (body.get("inputs") or {}).get("image")
    if not isinstance(image, dict) or not isinstance(image.get("value"), str):
        raise _RequestError(400, "inputs.image must be {'type': 'base64' or 'url', 'value': …}")
    if image.get("type") == "url":
        if not settings.allow_url_images:
            raise _RequestError(400, "image URLs are disabled on this server; send base64")
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(image["value"])
        if response.status_code != 200:
            raise _RequestError(400, f"could not fetch the image URL (HTTP {response.status_code})")
        data = response.content
    elif image.get("type") == "base64":
        if len(image["value"]) > settings.max_frame_bytes * 4 // 3 + 4:
            raise _RequestError(413, "image too large")
        try:
            data = base64.b64decode(image["value"], validate=True)
        except (binascii.Error, ValueError):
            raise _RequestError(400, "inputs.image.value is not valid base64") from None
    else:
        raise _RequestError(400, "inputs.image.type must be 'base64' or 'url'")
    if len(data) > settings.max_frame_bytes:
        raise _RequestError(413, "image too large")
    return data


def _roboflow_predictions(detector: Detector, answer: Any) -> dict[str, Any]:
    """Roboflow's object-detection shape: centre-based boxes."""
    predictions = []
    for item in detector.as_json(answer.detections):
        width, height = item["x2"] - item["x1"], item["y2"] - item["y1"]
        predictions.append(
            {
                "x": item["x1"] + width / 2,
                "y": item["y1"] + height / 2,
                "width": width,
                "height": height,
                "confidence": item["confidence"],
                "class": item["class"],
                "class_id": item["class_id"],
                "detection_id": str(uuid.uuid4()),
            }
        )
    return {"image": {"width": answer.width, "height": answer.height}, "predictions": predictions}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)
