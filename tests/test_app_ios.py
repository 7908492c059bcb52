"""The app's iOS build configuration, checked without a Mac: `expo prebuild` writes the Xcode
project in a temporary copy, and `expo export -p ios` bundles the JavaScript."""

from __future__ import annotations

import json
import os
import plistlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
SOURCES = ["App.tsx", "app.json", "app.config.js", "index.ts", "package.json", "tsconfig.json"]
# The pods the on-device path needs: VisionCamera's frame output, its GPU resizer, the worklet
# runtime its frame processors run on, Nitro under all three, and ONNX Runtime.
FRAME_PIPELINE_PODS = {
    "VisionCamera",
    "VisionCameraResizer",
    "VisionCameraWorklets",
    "RNWorklets",
    "NitroModules",
    "onnxruntime-react-native",
}

pytestmark = [
    pytest.mark.skipif(shutil.which("npx") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(not (APP / "node_modules").is_dir(), reason="run `make app` first"),
]


def _copy(tmp_path: Path, with_model: bool) -> Path:
    copy = tmp_path / "app"
    copy.mkdir()
    for name in SOURCES:
        shutil.copy(APP / name, copy / name)
    for folder in ("assets", "src", "plugins"):
        shutil.copytree(APP / folder, copy / folder)
    (copy / "node_modules").symlink_to(APP / "node_modules")
    if with_model:
        model = copy / "public" / "model"
        model.mkdir(parents=True)
        (model / "model.onnx").write_bytes(b"onnx bytes stand-in")
        (model / "model.json").write_text('{"names": ["car"]}')
    return copy


def _expo(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "1", "EXPO_OFFLINE": "1", "EXPO_NO_TELEMETRY": "1"}
    return subprocess.run(
        ["npx", "expo", *args], cwd=copy, env=env, capture_output=True, text=True, timeout=300
    )


def test_prebuild_writes_an_ios_project_with_camera_and_model(tmp_path) -> None:
    copy = _copy(tmp_path, with_model=True)
    run = _expo(copy, "prebuild", "--platform", "ios", "--no-install")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    ios = copy / "ios"
    plist = plistlib.loads(next(ios.glob("*/Info.plist")).read_bytes())
    assert "camera" in plist["NSCameraUsageDescription"]
    project = next(ios.glob("*.xcodeproj")).joinpath("project.pbxproj").read_text()
    targets = {float(v) for v in re.findall(r"IPHONEOS_DEPLOYMENT_TARGET = ([\d.]+);", project)}
    assert targets and min(targets) >= 15.1  # VisionCamera 5 and ONNX Runtime's minimum
    assert "model.onnx" in project and "model.json" in project  # plugins/withStudentModel.js
    podfile = (ios / "Podfile").read_text()
    assert "onnxruntime" in podfile  # the runtime's config plugin
    assert _autolinked_pods(copy, podfile) >= FRAME_PIPELINE_PODS


def _autolinked_pods(copy: Path, podfile: str) -> set[str]:
    """The pods `use_native_modules!` adds at `pod install`: the Podfile's own config command."""
    command = re.search(r"else\s*config_command = \[\s*(.*?)\s*\]\s*end", podfile, re.S)
    assert command, "the Podfile no longer names its autolinking command"
    args = [a.strip().strip("'").replace("\\'", "'") for a in command.group(1).split(",\n")]
    run = subprocess.run(args, cwd=copy / "ios", capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    dependencies = json.loads(run.stdout)["dependencies"].values()
    podspecs = [(d["platforms"].get("ios") or {}).get("podspecPath") for d in dependencies]
    return {Path(p).stem for p in podspecs if p}


def test_prebuild_without_an_exported_model_still_works(tmp_path) -> None:
    copy = _copy(tmp_path, with_model=False)
    run = _expo(copy, "prebuild", "--platform", "ios", "--no-install")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    project = next((copy / "ios").glob("*.xcodeproj")).joinpath("project.pbxproj").read_text()
    assert "model.onnx" not in project


def test_export_bundles_the_ios_javascript(tmp_path) -> None:
    copy = _copy(tmp_path, with_model=False)
    run = _expo(copy, "export", "-p", "ios", "--output-dir", str(tmp_path / "dist"))
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    bundles = list((tmp_path / "dist").rglob("*.hbc")) + list((tmp_path / "dist").rglob("*.js"))
    assert bundles and max(b.stat().st_size for b in bundles) > 100_000
    # babel-preset-expo ran react-native-worklets' plugin: the frame processor became worklets
    # that can run on the camera thread (without it, useFrameOutput throws on the phone).
    code = b"".join(b.read_bytes() for b in bundles)
    for worklet in (b"takeFrame_framePipelineTs", b"uprightSize_framePipelineTs"):
        assert worklet in code
