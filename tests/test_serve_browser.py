"""The browser HUD in headless Chromium with a fake camera fed from a video file."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from edgedistill.config import ServeConfig
from tests.media import scene, write_camera
from tests.test_serve import KEY, Server, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def fake_camera(path: Path) -> Path:
    """A y4m clip that Chromium plays as the camera."""
    return write_camera(path, (scene(i // 5, (640, 480)) for i in range(30)), (640, 480))


class DevTools:
    """Just enough of the Chrome DevTools protocol: evaluate, screenshot."""

    def __init__(self, url: str) -> None:
        self.socket = connect(url, max_size=2**26)
        self.calls = 0

    def call(self, method: str, **params: object) -> dict:
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.calls:
                return message.get("result", {})

    def evaluate(self, expression: str) -> object:
        return self.call("Runtime.evaluate", expression=expression)["result"].get("value")


@contextmanager
def chromium_page(
    url: str, camera: Path, profile: Path, window: str = "900,700"
) -> Iterator[DevTools]:
    """Headless Chromium on ``url`` with ``camera`` as its fake camera; DevTools to drive it."""
    port = free_port()
    browser = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
            f"--remote-debugging-port={port}",
            f"--window-size={window}",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield DevTools(_page_socket(port))
    finally:
        browser.kill()
        browser.wait()


def _wait_for(tools: DevTools, expression: str, seconds: float = 60) -> object:
    value = None
    deadline = time.monotonic() + seconds
    while not value and time.monotonic() < deadline:
        value = tools.evaluate(expression)
        time.sleep(0.3)
    return value


def test_phone_page_streams_the_camera_and_draws_detections(tmp_path) -> None:
    from tests.test_export import confident_student

    student = confident_student(tmp_path / "student.pt")
    camera = fake_camera(tmp_path / "camera.y4m")
    with (
        Server(student, ServeConfig(api_keys=[KEY])) as server,
        chromium_page(f"{server.http}/?key={KEY}&autostart", camera, tmp_path / "p") as tools,
    ):
        detections = _wait_for(tools, "document.body.dataset.detections || ''")
        status = tools.evaluate("document.getElementById('bar').textContent")
        shot = tools.call("Page.captureScreenshot", format="png")["data"]
        (tmp_path / "hud.png").write_bytes(base64.b64decode(shot))
    assert detections and int(detections) > 0, status
    assert "objects" in status and "round trip" in status
    assert (tmp_path / "hud.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("query", "said"),
    [("?key=wrong-key&autostart", "refused the API key"), ("?autostart", "No API key")],
)
def test_phone_page_says_what_is_wrong_with_the_key(tmp_path, query: str, said: str) -> None:
    from tests.test_export import confident_student

    student = confident_student(tmp_path / "student.pt")
    camera = fake_camera(tmp_path / "camera.y4m")
    with (
        Server(student, ServeConfig(api_keys=[KEY])) as server,
        chromium_page(f"{server.http}/{query}", camera, tmp_path / "p") as tools,
    ):
        problem = _wait_for(tools, "document.body.dataset.problem || ''", seconds=30)
    assert said in str(problem)


def _page_socket(port: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            pages = httpx.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
            return next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        except (httpx.HTTPError, StopIteration, ValueError):
            time.sleep(0.2)
    raise AssertionError("Chromium's DevTools endpoint did not come up")
