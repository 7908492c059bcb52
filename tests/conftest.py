from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgedistill.cli import main
from edgedistill.project import Project, init_project
from tests.fake_roboflow import FakeRoboflow

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
os.environ.setdefault("YOLO_OFFLINE", "true")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``edgedistill ARGS`` in-process, as the console script would."""

    def run(*args: str) -> CliResult:
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return init_project(tmp_path / "project", "driving")


@pytest.fixture
def assets() -> Path:
    """``../shared/assets`` beside the checkout; tests using it skip when it is absent."""
    if not ASSETS.is_dir():
        pytest.skip("../shared/assets is not present")
    return ASSETS


def coco_yolo11n_onnx(folder: Path, **options: object) -> Path:
    """COCO-pretrained YOLO11n from ``../shared/assets`` exported to ONNX at the phone's
    input (Ultralytics export ``options`` added); skips the test when the assets are absent."""
    import shutil

    from ultralytics import YOLO

    from edgedistill.student import PHONE_INPUT

    weights = ASSETS / "weights" / "yolo11n-coco.pt"
    if not weights.is_file():
        pytest.skip("../shared/assets is not present")
    local = shutil.copyfile(weights, folder / "yolo11n.pt")
    exported = YOLO(str(local)).export(
        format="onnx", imgsz=PHONE_INPUT, device="cpu", verbose=False, **options
    )
    return Path(exported)


ROBOFLOW_KEY = "stand-in-key-0123456789"


@pytest.fixture
def server(monkeypatch):
    """The local Roboflow stand-in, with the environment pointing at it."""
    with FakeRoboflow(key=ROBOFLOW_KEY, object_share=0.2) as fake:
        monkeypatch.setenv("ROBOFLOW_API_KEY", ROBOFLOW_KEY)
        monkeypatch.setenv("ROBOFLOW_API_URL", fake.url)
        yield fake
