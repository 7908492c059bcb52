"""The streaming server: a WebSocket for phones, a Roboflow-compatible HTTP endpoint.

WebSocket ``/ws?api_key=KEY``: the client sends binary messages, a 4-byte
big-endian frame id followed by a JPEG; the server answers each frame it
processes with JSON (boxes in the frame's pixels, class, confidence, track id,
server and model milliseconds, and how many frames shared that model call). The latest
frame wins: a frame that arrives while the previous one is still waiting replaces it and
is counted as dropped.
Close codes: 1008 bad key, too many failed keys from the address, too many frames
per second, or no frame within ``first_frame_timeout`` / ``idle_timeout``; 1003 a
text message; 1007 a message shorter than the frame id; 1009 frame too large;
1013 too many clients, or too many streams for the key; 1011 a server fault.
The HTTP endpoint answers 400, 401, 408, 413 and 429 likewise, never 500 for a
client's mistake. Limits on sockets and header time live in
:mod:`edgedistill.serve.transport`, limits on request bodies and keys in
:mod:`edgedistill.serve.limits`, image URLs in :mod:`edgedistill.serve.fetch`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import struct
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from trackers import ByteTrackTracker

from edgedistill.app_model import MANIFEST, MODEL_FILE, app_ego_mask
from edgedistill.config import ServeConfig
from edgedistill.ego import Polygon
from edgedistill.serve.detector import BadImage, Detector, ImageTooLarge
from edgedistill.serve.fetch import FetchError, fetch_image
from edgedistill.serve.limits import (
    AuthThrottle,
    BodyLimit,
    KeyConnections,
    Keys,
    RateWindow,
    client_address,
)
from edgedistill.serve.metrics import Metrics
from edgedistill.serve.model_route import add_model_routes

log = logging.getLogger("edgedistill.serve")

KEYS_VARIABLE = "EDGEDISTILL_API_KEYS"
POLICY_VIOLATION, UNSUPPORTED, BAD_DATA, TOO_BIG = 1008, 1003, 1007, 1009
SERVER_ERROR, TRY_AGAIN_LATER = 1011, 1013
JSON_OVERHEAD = 64 * 1024
"""Bytes a Roboflow-shaped request may carry beyond its base64 image."""


def api_keys(settings: ServeConfig) -> list[str]:
    extra = os.environ.get(KEYS_VARIABLE, "")
    return [*settings.api_keys, *(k.strip() for k in extra.split(",") if k.strip())]


@dataclass
class _Gate:
    """Who may use the server and how much: keys, failed-key throttle, streams per key,
    frame rate per key; every refusal is counted and logged in one line."""

    settings: ServeConfig
    keys: Keys
    throttle: AuthThrottle
    streams: KeyConnections
    metrics: Metrics
    rates: dict[str, RateWindow] = field(default_factory=dict)

    def too_fast(self, key: str) -> bool:
        """More than twice the allowed frame rate over the last second, per API key."""
        window = self.rates.setdefault(key, RateWindow(2 * self.settings.max_fps_per_client))
        return window.hit()

    def rejected(self, address: str, status: int, message: str) -> JSONResponse:
        self.metrics.count("rejected")
        log.info("%s: %d %s", address, status, message)
        return _error(status, message)

    def stream_refusal(self, address: str, key: str | None) -> tuple[int, str] | None:
        """Why a WebSocket may not stream (a close code and reason), or None; a stream
        that may is counted against its key."""
        if self.throttle.blocked(address):
            return POLICY_VIOLATION, "too many failed API keys from this address"
        if not self.keys.accepts(key):
            self.throttle.failed(address)
            return POLICY_VIOLATION, "invalid or missing api_key"
        if self.metrics.clients >= self.settings.max_clients:
            return TRY_AGAIN_LATER, "too many clients"
        if not self.streams.try_open(key):
            return TRY_AGAIN_LATER, "too many streams for this key"
        return None


def create_app(model_path: Path, settings: ServeConfig, ego_mask: Polygon | None = None) -> Any:
    """The ASGI application: FastAPI routes behind the request-body limit. ``ego_mask``:
    the car's own hood (the project's ``hud.ego_mask`` as found); without one, an app model
    folder's ``model.json`` gives it."""
    app_model = (model_path.parent / MANIFEST).is_file() and model_path.name == MODEL_FILE
    if ego_mask is None and app_model:
        ego_mask = app_ego_mask(model_path.parent)
    detector = Detector(model_path, settings, ego_mask)
    keys = Keys(api_keys(settings))
    throttle = AuthThrottle(settings.auth_failures_per_minute)
    metrics = Metrics()
    gate = _Gate(settings, keys, throttle, KeyConnections(settings.max_clients_per_key), metrics)
    app = FastAPI(title="edgedistill", docs_url=None, redoc_url=None)
    if app_model:
        add_model_routes(app, model_path.parent, keys.accepts)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": model_path.name,
            "classes": detector.names,
            "max_batch": detector.max_batch,
            "model_workers": detector.workers,
            "ego_mask": detector.ego_mask,
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
        return await _workflow(request, gate, detector)

    @app.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        await _stream(websocket, gate, detector)

    body_limit = settings.max_frame_bytes * 4 // 3 + JSON_OVERHEAD
    return BodyLimit(app, body_limit, settings.body_timeout, keys, throttle)


async def _workflow(request: Request, gate: _Gate, detector: Detector) -> JSONResponse:
    """Roboflow's workflow endpoint: one image in, its detections out."""
    gate.metrics.count("http_requests")
    address = client_address(request.scope)
    try:
        body = json.loads(await request.body())  # capped and complete: BodyLimit read it
    except (ValueError, RecursionError):
        return gate.rejected(address, 400, "the body is not JSON (or nested too deeply)")
    key = body.get("api_key") if isinstance(body, dict) else None
    key = key if key is not None else request.query_params.get("api_key")
    if not gate.keys.accepts(key):  # (addresses over the throttle never get here: BodyLimit)
        gate.throttle.failed(address)
        return gate.rejected(address, 401, "invalid or missing api_key")
    if gate.too_fast(key):
        return gate.rejected(address, 429, "too many frames per second for this key")
    try:
        data = await _image_bytes(body, gate.settings)
        started = time.perf_counter()
        answer = await asyncio.to_thread(detector.detect, data)
    except (_RequestError, FetchError) as exc:
        return gate.rejected(address, exc.status, str(exc))
    except ImageTooLarge as exc:
        return gate.rejected(address, 413, str(exc))
    except BadImage:
        return gate.rejected(address, 400, "the image cannot be decoded")
    gate.metrics.answered((time.perf_counter() - started) * 1000, answer.model_share_ms)
    return JSONResponse({"outputs": [{"predictions": _roboflow_predictions(detector, answer)}]})


async def _stream(websocket: WebSocket, gate: _Gate, detector: Detector) -> None:
    """A phone's WebSocket stream, once the gate lets it in."""
    await websocket.accept()
    address = client_address(websocket.scope)
    key = websocket.query_params.get("api_key")
    refusal = gate.stream_refusal(address, key)
    if refusal is not None:
        gate.metrics.count("rejected")
        log.info("%s: WebSocket closed %d %s", address, *refusal)
        await websocket.close(*refusal)
        return
    assert key is not None  # stream_refusal refuses a missing key
    gate.metrics.clients += 1
    try:
        await _serve_stream(websocket, detector, gate.settings, gate.metrics)
    except Exception as exc:  # one line, and a proper close frame, never a dropped socket
        log.warning("%s: stream failed (%s: %s)", address, type(exc).__name__, exc)
        await _close(websocket, SERVER_ERROR, "server error")
    finally:
        gate.metrics.clients -= 1
        gate.streams.close(key)


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
    arrivals = RateWindow(2 * settings.max_fps_per_client)

    async def receive() -> tuple[int, str] | None:
        """Frames into ``latest`` until the client leaves (None) or must be closed."""
        timeout = settings.first_frame_timeout
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout)
            except TimeoutError:
                return POLICY_VIOLATION, f"no frame for {timeout:g} s"
            timeout = settings.idle_timeout
            if message["type"] == "websocket.disconnect":
                return None
            data: bytes | None = message.get("bytes")
            if data is None:
                return UNSUPPORTED, "send binary frames: a 4-byte id, then a JPEG"
            now = time.perf_counter()
            problem = _frame_problem(data, arrivals.hit(now), settings.max_frame_bytes)
            if problem is not None:
                return problem
            metrics.count("frames_in")
            frame_id = struct.unpack(">I", data[:4])[0]
            if latest.full():  # the latest frame wins
                latest.get_nowait()
                metrics.count("frames_dropped")
            latest.put_nowait((frame_id, data[4:], now))

    async def answer() -> None:
        while True:
            frame_id, data, arrived = await latest.get()
            try:
                result = await asyncio.to_thread(detector.detect, data, tracker)
            except ImageTooLarge:
                await websocket.send_json({"frame_id": frame_id, "error": "image too large"})
                continue
            except BadImage:
                await websocket.send_json({"frame_id": frame_id, "error": "undecodable image"})
                continue
            server_ms = (time.perf_counter() - arrived) * 1000
            metrics.answered(server_ms, result.model_share_ms)
            await websocket.send_json(
                {
                    "frame_id": frame_id,
                    "width": result.width,
                    "height": result.height,
                    "detections": detector.as_json(result.detections),
                    "server_ms": round(server_ms, 2),
                    "model_ms": round(result.model_ms, 2),
                    "batch": result.batch,
                    "dropped": metrics.counters["frames_dropped"],
                }
            )

    await _until_either_ends(
        websocket, asyncio.create_task(receive()), asyncio.create_task(answer())
    )


async def _until_either_ends(
    websocket: WebSocket,
    receiving: asyncio.Task[tuple[int, str] | None],
    answering: asyncio.Task[None],
) -> None:
    """Run both halves of a stream until one ends; close with the receiver's reason."""
    try:
        await asyncio.wait([receiving, answering], return_when=asyncio.FIRST_COMPLETED)
        for task in (receiving, answering):
            error = task.exception() if task.done() else None
            if error is not None and not isinstance(error, WebSocketDisconnect | RuntimeError):
                raise error
        closing = receiving.result() if receiving.done() and not receiving.exception() else None
        if closing is not None:
            log.info("%s: WebSocket closed %d %s", client_address(websocket.scope), *closing)
            await _close(websocket, *closing)
    finally:
        receiving.cancel()
        answering.cancel()


def _frame_problem(data: bytes, too_fast: bool, max_bytes: int) -> tuple[int, str] | None:
    """Why a binary WebSocket message is not a frame the stream may send (a close code
    and reason), or None."""
    if too_fast:
        return POLICY_VIOLATION, "too many frames per second"
    if len(data) > max_bytes + 4:
        return TOO_BIG, "frame too large"
    if len(data) < 4:
        return BAD_DATA, "a frame is a 4-byte id, then a JPEG"
    return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a code; the client may already be gone."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close(code, reason)


class _RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _image_bytes(body: dict[str, Any], settings: ServeConfig) -> bytes:
    inputs = body.get("inputs")
    image = inputs.get("image") if isinstance(inputs, dict) else None
    if not isinstance(image, dict) or not isinstance(image.get("value"), str):
        raise _RequestError(400, "inputs.image must be {'type': 'base64' or 'url', 'value': …}")
    if image.get("type") == "url":
        if not settings.allow_url_images:
            raise _RequestError(400, "image URLs are disabled on this server; send base64")
        data = await fetch_image(
            image["value"],
            settings.max_frame_bytes,
            settings.url_timeout,
            settings.allow_private_image_urls,
        )
    elif image.get("type") == "base64":
        if len(image["value"]) > settings.max_frame_bytes * 4 // 3 + 4:
            raise _RequestError(413, "image too large")
        try:
            data = base64.b64decode(image["value"], validate=True)
        except (binascii.Error, ValueError):
            raise _RequestError(400, "inputs.image.value is not valid base64") from None
    else:
        raise _RequestError(400, "inputs.image.type must be 'base64' or 'url'")
    if not data:
        raise _RequestError(400, "the image is empty")
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
