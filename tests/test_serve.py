"""The streaming server on loopback: WebSocket frames, the Roboflow-shaped endpoint, limits."""

from __future__ import annotations

import base64
import json
import logging
import socket
import struct
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import onnx
import pytest
import uvicorn
from ultralytics import YOLO
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edgedistill.config import ServeConfig
from edgedistill.runtime import RuntimeLoadError, open_runtime
from edgedistill.serve import create_app
from edgedistill.serve.detector import Detector, decode_jpeg
from edgedistill.serve.transport import server_config
from tests.conftest import coco_yolo11n_onnx
from tests.media import scene
from tests.test_export import confident_student
from tests.test_runtime import CLIP, clip_frames

KEY = "serve-test-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn in a thread on a loopback port, stopped at the end of the test."""

    def __init__(self, model: Path, settings: ServeConfig) -> None:
        self.port = free_port()
        app = create_app(model, settings)
        config = server_config(app, settings, "127.0.0.1", self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, key: str = KEY) -> str:
        return f"ws://127.0.0.1:{self.port}/ws?api_key={key}"


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    return confident_student(tmp_path_factory.mktemp("student") / "student.pt")


def jpeg(seed: int = 1) -> bytes:
    return cv2.imencode(".jpg", scene(seed, (640, 480)))[1].tobytes()


def frame(frame_id: int, data: bytes) -> bytes:
    return struct.pack(">I", frame_id) + data


@pytest.fixture
def server(student):
    with Server(student, ServeConfig(api_keys=[KEY], max_clients=2)) as running:
        yield running


def test_health_and_metrics(server) -> None:
    health = httpx.get(f"{server.http}/health").json()
    assert health["status"] == "ok" and len(health["classes"]) == 80
    assert health["max_batch"] == 1  # a .pt student runs one frame at a time
    text = httpx.get(f"{server.http}/metrics").text
    assert "edgedistill_frames_in_total 0" in text and "edgedistill_clients 0" in text
    assert "getUserMedia" in httpx.get(server.http).text


def test_websocket_round_trip_with_real_jpegs(server) -> None:
    with connect(server.ws()) as ws:
        answers = []
        for i in range(1, 4):
            ws.send(frame(i, jpeg(i)))
            answers.append(json.loads(ws.recv(timeout=30)))
    assert [a["frame_id"] for a in answers] == [1, 2, 3]
    last = answers[-1]
    assert (last["width"], last["height"]) == (640, 480)
    assert last["detections"] and last["server_ms"] > 0 and last["model_ms"] > 0
    assert last["batch"] == 1
    box = last["detections"][0]
    assert {"x1", "y1", "x2", "y2", "class", "class_id", "confidence"} <= set(box)
    assert any("track_id" in d for a in answers[1:] for d in a["detections"])
    text = httpx.get(f"{server.http}/metrics").text
    assert "edgedistill_frames_answered_total 3" in text and 'quantile="0.95"' in text


def test_the_latest_frame_wins_when_the_model_is_busy(server) -> None:
    with connect(server.ws()) as ws:
        for i in range(1, 13):
            ws.send(frame(i, jpeg(i)))
        answers = [json.loads(ws.recv(timeout=30))]
        while answers[-1]["frame_id"] != 12:
            answers.append(json.loads(ws.recv(timeout=30)))
    assert len(answers) < 12 and answers[-1]["dropped"] > 0
    assert [a["frame_id"] for a in answers] == sorted(a["frame_id"] for a in answers)


def close_code(url: str, messages: list[bytes] = ()) -> int:
    with connect(url) as ws:
        try:
            for message in messages:
                ws.send(message)
            while True:
                ws.recv(timeout=30)
        except ConnectionClosed as closed:
            return closed.rcvd.code


def test_bad_clients_get_close_codes_and_the_server_lives_on(server) -> None:
    assert close_code(server.ws("wrong-key")) == 1008
    assert close_code(server.ws(), [frame(1, b"x" * 2_100_000)]) == 1009
    assert close_code(server.ws(), [frame(i, b"not a jpeg") for i in range(40)]) == 1008
    with connect(server.ws()) as one, connect(server.ws()) as two:
        assert close_code(server.ws()) == 1013
        one.send(frame(1, b"not a jpeg"))
        assert json.loads(one.recv(timeout=30)) == {"frame_id": 1, "error": "undecodable image"}
        two.send(frame(2, jpeg()))
        assert json.loads(two.recv(timeout=30))["frame_id"] == 2


def roboflow_body(value: str, kind: str = "base64", key: str = KEY) -> dict:
    return {"api_key": key, "inputs": {"image": {"type": kind, "value": value}}}


def test_roboflow_shaped_endpoint(server) -> None:
    url = f"{server.http}/acme/workflows/driving"
    answer = httpx.post(url, json=roboflow_body(base64.b64encode(jpeg()).decode()), timeout=30)
    assert answer.status_code == 200
    predictions = answer.json()["outputs"][0]["predictions"]
    assert predictions["image"] == {"width": 640, "height": 480}
    first = predictions["predictions"][0]
    assert {"x", "y", "width", "height", "confidence", "class", "class_id", "detection_id"} <= set(
        first
    )
    assert 0 <= first["x"] <= 640 and first["width"] > 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (roboflow_body("aGVsbG8=", key="wrong"), 401),
        ({"inputs": {}}, 401),
        (roboflow_body("%%% not base64 %%%"), 400),
        (roboflow_body(base64.b64encode(b"not an image").decode()), 400),
        (roboflow_body("http://127.0.0.1:9/x.jpg", kind="url"), 400),
        (roboflow_body(base64.b64encode(b"x" * 2_100_000).decode()), 413),
    ],
)
def test_roboflow_endpoint_rejects_bad_requests(server, body, status) -> None:
    answer = httpx.post(f"{server.http}/acme/workflows/driving", json=body, timeout=30)
    assert answer.status_code == status and "message" in answer.json()
    assert httpx.get(f"{server.http}/health").status_code == 200


def test_serve_needs_api_keys(cli, tmp_path, student, monkeypatch) -> None:
    monkeypatch.delenv("EDGEDISTILL_API_KEYS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = cli("serve", "--model", str(student))
    assert result.code == 2 and "no API keys: set EDGEDISTILL_API_KEYS" in result.err


def test_serve_refuses_a_batch_under_one(cli, tmp_path, student, monkeypatch) -> None:
    monkeypatch.setenv("EDGEDISTILL_API_KEYS", KEY)
    monkeypatch.chdir(tmp_path)
    result = cli("serve", "--model", str(student), "--max-batch", "0")
    assert result.code == 2 and "max_batch" in result.err and "Traceback" not in result.err


def test_a_dynamic_batch_export_is_served_in_batches(tmp_path) -> None:
    """Three phones at once against COCO YOLO11n with a dynamic batch, on dashcam frames:
    every answer holds the boxes of its own frame run alone, and says how many frames
    shared its model call."""
    if not CLIP.is_file():
        pytest.skip("../shared/assets is not present")
    exported = coco_yolo11n_onnx(tmp_path, dynamic=True)
    jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for f in clip_frames(every=20)[:6]]
    alone = open_runtime(exported)
    expected = [alone.detect(decode_jpeg(data), 0.25) for data in jpegs]
    settings = ServeConfig(  # no tracking: the boxes come back exactly as detected
        api_keys=[KEY],
        max_clients=3,
        max_clients_per_key=3,
        max_batch=4,
        tracking=False,
    )
    with Server(exported, settings) as server:
        health = httpx.get(f"{server.http}/health").json()
        assert health["max_batch"] == 4 and health["model_workers"] == 1
        answers: list[tuple[int, dict]] = []

        def phone(first: int) -> None:
            with connect(server.ws()) as ws:
                for i in range(4):
                    index = (first + i) % len(jpegs)
                    ws.send(frame(index, jpegs[index]))
                    answers.append((index, json.loads(ws.recv(timeout=60))))

        phones = [threading.Thread(target=phone, args=(2 * n,)) for n in range(3)]
        for thread in phones:
            thread.start()
        for thread in phones:
            thread.join(120)
    assert len(answers) == 12
    for index, answer in answers:
        assert answer["frame_id"] == index and 1 <= answer["batch"] <= 3
        boxes = [[d["x1"], d["y1"], d["x2"], d["y2"]] for d in answer["detections"]]
        assert len(boxes) == len(expected[index]) > 0
        assert np.allclose(boxes, expected[index].xyxy, atol=0.06)  # the JSON rounds to 0.1
        assert [d["class_id"] for d in answer["detections"]] == list(expected[index].class_id)


def test_a_batch_the_export_cannot_run_is_one_sentence_and_a_fixed_one_is_logged(
    tmp_path, caplog
) -> None:
    weights = confident_student(tmp_path / "student.pt")
    fixed = Path(YOLO(str(weights)).export(format="onnx", imgsz=(480, 640), verbose=False))
    with caplog.at_level(logging.WARNING, logger="edgedistill.serve"):
        detector = Detector(fixed, ServeConfig(max_batch=2, model_workers=2))
    assert detector.max_batch == 1 and detector.workers == 2
    assert "has a fixed batch of 1" in caplog.text
    proto = onnx.load(str(fixed))  # a dynamic batch axis over a graph fixed to one frame
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    batch.ClearField("dim_value")
    batch.dim_param = "batch"
    onnx.save(proto, str(tmp_path / "pretends.onnx"))
    with pytest.raises(RuntimeLoadError, match="cannot run 2 frames at once"):
        Detector(tmp_path / "pretends.onnx", ServeConfig(max_batch=2))
    assert Detector(tmp_path / "pretends.onnx", ServeConfig(max_batch=1)).max_batch == 1


def test_http_clients_over_their_frame_rate_get_429(student) -> None:
    settings = ServeConfig(api_keys=[KEY], max_fps_per_client=2)
    with Server(student, settings) as server:
        body = roboflow_body(base64.b64encode(b"tiny").decode())
        codes = [
            httpx.post(f"{server.http}/a/workflows/b", json=body, timeout=30).status_code
            for _ in range(6)
        ]
    assert codes[:4] == [400] * 4 and 429 in codes[4:]


def test_image_urls_only_when_enabled(student, tmp_path) -> None:
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    (tmp_path / "frame.jpg").write_bytes(jpeg())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    images = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{images.server_address[1]}/frame.jpg"
    try:
        settings = ServeConfig(api_keys=[KEY], allow_url_images=True, allow_private_image_urls=True)
        with Server(student, settings) as server:
            answer = httpx.post(
                f"{server.http}/a/workflows/b", json=roboflow_body(url, kind="url"), timeout=30
            )
    finally:
        images.shutdown()
    assert answer.status_code == 200
    assert answer.json()["outputs"][0]["predictions"]["image"] == {"width": 640, "height": 480}


def test_the_cars_own_hood_is_dropped_before_tracking(assets, tmp_path) -> None:
    """An app model folder's model.json gives the ego mask: the hood a COCO student sees
    as a car never reaches the phone, the car ahead does."""
    import shutil

    from tests.conftest import coco_yolo11n_onnx
    from tests.media import hooded_clip

    clip = hooded_clip(assets, tmp_path / "hooded.mp4", seconds=0.2)
    capture = cv2.VideoCapture(str(clip))
    ok, image = capture.read()
    assert ok
    data = cv2.imencode(".jpg", image)[1].tobytes()
    folder = tmp_path / "app-model"
    folder.mkdir()
    shutil.copyfile(coco_yolo11n_onnx(tmp_path), folder / "model.onnx")
    mask = [[0.08, 0.8], [0.92, 0.8], [0.92, 1.0], [0.08, 1.0]]
    onnx = {"path": "model.onnx", "sha256": "0" * 64, "bytes": 1}  # /model is not asked here
    manifest = {"version": "v", "names": [], "hud": {"ego_mask": mask}, "files": {"onnx": onnx}}
    (folder / "model.json").write_text(json.dumps(manifest))
    body = roboflow_body(base64.b64encode(data).decode())

    def bottoms(settings: ServeConfig, model: Path) -> tuple[list, list[float]]:
        with Server(model, settings) as running:
            url = f"{running.http}/acme/workflows/driving"
            answer = httpx.post(url, json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            health = httpx.get(f"{running.http}/health").json()
        found = answer.json()["outputs"][0]["predictions"]["predictions"]
        return health["ego_mask"], [p["y"] + p["height"] / 2 for p in found]

    settings = ServeConfig(api_keys=[KEY])
    shown, found = bottoms(settings, folder / "model.onnx")
    assert shown == [list(p) for p in mask] and found
    assert all(bottom < 0.9 * image.shape[0] for bottom in found)
    plain = tmp_path / "plain.onnx"
    shutil.copyfile(folder / "model.onnx", plain)
    assert any(bottom > 0.95 * image.shape[0] for bottom in bottoms(settings, plain)[1])
