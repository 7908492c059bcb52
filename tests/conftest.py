from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgedistill.cli import main
from edgedistill.project import Project, init_project

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
os.environ.setdefault("YOLO_AUTOINSTALL", "false")  # tests never install packages
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
