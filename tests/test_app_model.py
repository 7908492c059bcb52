"""`edgedistill export-app` and the server's `GET /model`: what the Expo app loads and updates."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import httpx
import pytest

from edgedistill.config import ServeConfig
from tests.media import scene
from tests.test_export import confident_student
from tests.test_serve import KEY, Server

WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "assets" / "weights"


@pytest.fixture(scope="module")
def app_model(tmp_path_factory) -> Path:
    """A YOLO11-architecture student exported for the app (random weights, lifted class 0)."""
    from edgedistill.config import HudConfig
    from edgedistill.export.app import export_app_model

    tmp = tmp_path_factory.mktemp("app")
    out = tmp / "model"
    frames = []
    for seed in (1, 2):
        frames.append(tmp / f"frame{seed}.jpg")
        cv2.imwrite(str(frames[-1]), scene(seed, (640, 480)))
    export_app_model(confident_student(tmp / "student.pt"), out, HudConfig(), (480, 640), frames)
    return out


def test_export_app_writes_what_the_app_reads(app_model) -> None:
    info = json.loads((app_model / "model.json").read_text())
    onnx = app_model / "model.onnx"
    assert info["files"]["onnx"]["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    assert info["version"] == info["files"]["onnx"]["sha256"][:12]
    # YOLO11's NMS is in the graph (ONNX Runtime runs it): the phone reads 300 rows.
    assert info["output_format"] == "end2end" and info["output_shape"] == [1, 300, 6]
    assert info["input_size"] == [480, 640] and len(info["names"]) == 80
    assert info["hud"]["vehicle_widths_m"]["car"] == 1.8 and info["iou"] == 0.7
    assert "AGPL-3.0" in info["licence"]
    assert info["parity"].startswith("parity: onnx (app) on 2 frames:") and "ok" in info["parity"]


@pytest.mark.skipif(not (WEIGHTS / "yolo26n-coco.pt").is_file(), reason="no ../shared weights")
def test_export_app_keeps_yolo26_end_to_end(cli, tmp_path) -> None:
    result = cli(
        "export-app", "--weights", str(WEIGHTS / "yolo26n-coco.pt"), "--out", str(tmp_path)
    )
    assert result.code == 0, result.out
    info = json.loads((tmp_path / "model.json").read_text())
    assert info["output_format"] == "end2end" and info["output_shape"] == [1, 300, 6]


def test_export_app_problems_are_one_sentence(cli, tmp_path) -> None:
    missing = cli("export-app", "--weights", str(tmp_path / "nope.pt"), "--out", str(tmp_path))
    assert missing.code == 1 and "no such model file" in missing.out + missing.err
    outside = cli("export-app", "-p", str(tmp_path), "--out", str(tmp_path))
    assert outside.code != 0 and "Traceback" not in outside.out + outside.err


def test_server_offers_the_app_model_with_a_checksum(app_model) -> None:
    with Server(app_model / "model.onnx", ServeConfig(api_keys=[KEY])) as server:
        refused = httpx.get(f"{server.http}/model")
        offer = httpx.get(f"{server.http}/model", params={"api_key": KEY}).json()
        download = httpx.get(f"{server.http}{offer['url']}")
        stolen = httpx.get(f"{server.http}/model/model.onnx")
    assert refused.status_code == 401 and stolen.status_code == 401
    assert offer["version"] == json.loads((app_model / "model.json").read_text())["version"]
    assert hashlib.sha256(download.content).hexdigest() == offer["sha256"]
    assert offer["model"]["names"] == json.loads((app_model / "model.json").read_text())["names"]


def test_a_plain_model_offers_nothing(tmp_path) -> None:
    with Server(confident_student(tmp_path / "s.pt"), ServeConfig(api_keys=[KEY])) as server:
        assert httpx.get(f"{server.http}/model", params={"api_key": KEY}).status_code == 404
