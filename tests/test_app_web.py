"""The app's web build in headless Chromium, with the real dashcam clip as the camera.

On-device mode runs the exported student in the page (onnxruntime-web); server mode streams
to a live `edgedistill serve`. Both must draw boxes and a lead vehicle. Screenshots are kept
in app/test-results/ to be looked at. Needs the web build (`make app`), Debian's chromium and
../shared/assets; skips cleanly without them.
"""

from __future__ import annotations

import base64
import functools
import json
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest

from edgedistill.config import HudConfig, ServeConfig
from edgedistill.export.app import export_app_model
from tests.media import write_camera
from tests.test_serve import KEY, Server, free_port
from tests.test_serve_browser import DevTools, chromium_page

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "app" / "dist"
MODEL = ROOT / "app" / "public" / "model" / "model.onnx"
CLIP = ROOT.parent / "shared" / "assets" / "videos" / "dashcam_highway_960x540.mp4"
SHOTS = ROOT / "app" / "test-results"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not CLIP.is_file(), reason="../shared/assets is not beside the repo"),
    pytest.mark.skipif(
        not (DIST / "index.html").is_file() or not (DIST / "model" / "model.json").is_file(),
        reason="the app's web build with a student is missing: run `make app`",
    ),
]


def dashcam_camera(path: Path, frames: int = 90) -> Path:
    """The clip's first frames as a 640x360 y4m that Chromium plays as the camera, looped."""
    with av.open(str(CLIP)) as clip:
        images = (
            frame.to_ndarray(width=640, height=360, format="bgr24")
            for _, frame in zip(range(frames), clip.decode(video=0), strict=False)
        )
        return write_camera(path, images, (640, 360))


class StaticSite:
    """The exported web app on a loopback port, with the MIME types WASM needs."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
    }

    def log_message(self, *_: object) -> None:
        pass


def drive(
    url: str, camera: Path, profile: Path, shot: Path, settings_shot: Path | None = None
) -> dict[str, str]:
    """Opens the HUD, waits for boxes and a lead vehicle, saves a screenshot (and one of the
    settings screen)."""
    with chromium_page(url, camera, profile, window="960,600") as tools:
        state: dict[str, str] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = json.loads(tools.evaluate("JSON.stringify(document.body.dataset)") or "{}")
            if int(state.get("detections") or 0) > 0 and state.get("lead"):
                break
            time.sleep(0.5)
        time.sleep(1.0)  # a few more frames, so the TTC has samples in the picture
        state["text"] = tools.evaluate("document.body.innerText") or ""
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.write_bytes(
            base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"])
        )
        if settings_shot is not None:
            tools.evaluate(OPEN_SETTINGS)
            time.sleep(1.0)
            state["settings"] = tools.evaluate("document.body.innerText") or ""
            screenshot = tools.call("Page.captureScreenshot", format="png")["data"]
            settings_shot.write_bytes(base64.b64decode(screenshot))
    return state


OPEN_SETTINGS = (
    "[...document.querySelectorAll('[role=button]')].find(e => e.innerText === 'Settings').click()"
)


def test_on_device_mode_runs_the_student_in_the_page(tmp_path) -> None:
    camera = dashcam_camera(tmp_path / "camera.y4m")
    with StaticSite(DIST) as site:
        state = drive(
            f"{site}/?mode=device",
            camera,
            tmp_path / "p",
            SHOTS / "on-device.png",
            SHOTS / "settings.png",
        )
    assert int(state.get("detections") or 0) > 0, state
    assert state.get("lead", "").endswith(" m"), state
    assert "onnxruntime-web" in state["text"] and "on this device" in state["text"], state
    assert (SHOTS / "on-device.png").stat().st_size > 20_000
    assert "Roboflow workflow" in state["settings"] and "can be extracted" in state["settings"]


WEIGHTS = ROOT.parent / "shared" / "assets" / "weights"


def test_settings_are_remembered_across_reloads(tmp_path) -> None:
    """Choose Roboflow at 3 fps, save, reload without a query string: the HUD starts in
    that mode (and says which settings are missing), and shows the key warning."""
    camera = dashcam_camera(tmp_path / "camera.y4m", frames=5)
    with (
        StaticSite(DIST) as site,
        chromium_page(f"{site}/?mode=device", camera, tmp_path / "p", window="960,600") as tools,
    ):
        _wait_for(tools, "document.body.innerText.includes('Settings')")
        tools.evaluate(OPEN_SETTINGS)
        _wait_for(tools, "document.body.innerText.includes('Roboflow workflow')")
        tools.evaluate(
            "[...document.querySelectorAll('[role=button]')]"
            ".find(e => e.innerText.startsWith('Roboflow')).click()"
        )
        tools.evaluate("document.querySelector('[data-testid=input-roboflowFps]').select()")
        tools.call("Input.insertText", text="3")
        tools.evaluate(
            "[...document.querySelectorAll('[role=button]')]"
            ".find(e => e.innerText === 'Save').click()"
        )
        time.sleep(1.0)
        tools.call("Page.navigate", url=f"{site}/")
        _wait_for(tools, "document.body.innerText.includes('Roboflow workflow at')")
        text = tools.evaluate("document.body.innerText")
    assert "Roboflow workflow at 3 fps" in text, text
    assert "set the Roboflow workspace and workflow id in Settings" in text, text


def _wait_for(tools: DevTools, condition: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not tools.evaluate(condition):
        text = tools.evaluate("document.body.innerText")
        assert time.monotonic() < deadline, f"timed out waiting for {condition}: {text}"
        time.sleep(0.3)


def test_on_device_mode_takes_a_newer_student_from_the_server(tmp_path) -> None:
    """The page downloads the server's YOLO11 student (another version than the bundled
    YOLO26), verifies its checksum and runs it: the NMS decode path, in the browser."""
    newer = export_app_model(WEIGHTS / "yolo11n-coco.pt", tmp_path / "newer", HudConfig())
    camera = dashcam_camera(tmp_path / "camera.y4m")
    model = tmp_path / "newer" / "model.onnx"
    with Server(model, ServeConfig(api_keys=[KEY])) as server, StaticSite(DIST) as site:
        url = f"{site}/?mode=device&server={server.http}&key={KEY}&update=1"
        state = drive(url, camera, tmp_path / "p", SHOTS / "updated.png")
    assert f"student {newer.version} (from the server, checksum verified)" in state["text"]
    assert int(state.get("detections") or 0) > 0 and state.get("lead", "").endswith(" m"), state


def test_server_mode_streams_to_edgedistill_serve(tmp_path) -> None:
    camera = dashcam_camera(tmp_path / "camera.y4m")
    with Server(MODEL, ServeConfig(api_keys=[KEY])) as server, StaticSite(DIST) as site:
        url = f"{site}/?mode=server&server={server.http}&key={KEY}"
        state = drive(url, camera, tmp_path / "p", SHOTS / "server.png")
    assert int(state.get("detections") or 0) > 0, state
    assert state.get("lead", "").endswith(" m"), state
    assert "my server" in state["text"] and "model" in state["text"], state
    assert KEY not in state["text"]
