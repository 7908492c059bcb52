"""The app's TypeScript clients (jest) against a live `edgedistill serve` with the app model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edgedistill.config import ServeConfig
from tests.test_serve import KEY, Server

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
MODEL = APP / "public" / "model" / "model.onnx"
STILL = ROOT.parent / "shared" / "assets" / "images" / "dashcam_stills" / "test1.jpg"

pytestmark = [
    pytest.mark.skipif(shutil.which("npx") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(not (APP / "node_modules").is_dir(), reason="run `make app` first"),
    pytest.mark.skipif(not MODEL.is_file(), reason="no app model: run `make app`"),
    pytest.mark.skipif(not STILL.is_file(), reason="../shared/assets is not beside the repo"),
]


def test_typescript_clients_against_a_live_server() -> None:
    with Server(MODEL, ServeConfig(api_keys=[KEY])) as server:
        env = {
            **os.environ,
            "EDGEDISTILL_SERVE_URL": server.http,
            "EDGEDISTILL_SERVE_KEY": KEY,
            "EDGEDISTILL_TEST_JPEG": str(STILL),
        }
        run = subprocess.run(
            ["npx", "jest", "src/modes/__tests__/live.test.ts"],
            cwd=APP,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "2 passed" in output, output[-3000:]
