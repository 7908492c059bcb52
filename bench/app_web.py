"""Frames per second of the app's web build in on-device mode, beside ONNX Runtime in Python.

Headless Chromium opens the exported web app (`make app`) with the dashcam clip as its
camera; onnxruntime-web (WASM, one thread: the page is not cross-origin isolated) runs the
app's student (app/public/model/model.onnx, 480x640) and the HUD core decodes and tracks.
In the same run, ONNX Runtime in Python runs the same file: through the student runtime on
the clip's frames as `edgedistill run` does (all cores), and as a bare session with one
thread, the like-for-like peer of the page. Writes JSON and prints the ratios::

    .venv/bin/python bench/app_web.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import model_alone  # noqa: E402
from edgedistill.config import HudConfig  # noqa: E402
from tests.test_app_web import CHROMIUM, CLIP, DIST, MODEL, StaticSite, dashcam_camera  # noqa: E402
from tests.test_serve_browser import chromium_page  # noqa: E402


def browser_fps(seconds: float, folder: Path) -> dict[str, float]:
    """Median fps and model ms the page reports, sampled each second after a warm-up."""
    camera = dashcam_camera(folder / "camera.y4m", frames=150)
    fps, model_ms = [], []
    with (
        StaticSite(DIST) as site,
        chromium_page(f"{site}/?mode=device", camera, folder / "profile", "960,600") as tools,
    ):
        deadline = time.monotonic() + seconds + 60
        while time.monotonic() < deadline and len(fps) < seconds:
            data = json.loads(tools.evaluate("JSON.stringify(document.body.dataset)") or "{}")
            if data.get("modelMs"):
                model_ms.append(float(data["modelMs"]))
                fps.append(float(data["fps"]))
            time.sleep(1.0)
    if len(fps) < 5:
        raise SystemExit("the page never ran the student: is `make app` done?")
    warm = slice(3, None)  # the first seconds include loading the WASM and the model
    return {"fps": statistics.median(fps[warm]), "model_ms": statistics.median(model_ms[warm])}


def bare_session_ms(threads: int, runs: int = 30) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    image = np.random.default_rng(0).random((1, 3, 480, 640), dtype=np.float32)
    session.run(None, {name: image})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {name: image})
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "app_web.json")
    args = parser.parse_args()
    for need, what in ((CHROMIUM, "Debian's chromium"), (CLIP.is_file(), "../shared/assets")):
        if not need:
            raise SystemExit(f"this benchmark needs {what}")
    if not (DIST / "model" / "model.json").is_file():
        raise SystemExit("no web build with a student: run `make app` first")
    with tempfile.TemporaryDirectory() as folder:
        page = browser_fps(args.seconds, Path(folder))
    python_ms = model_alone(MODEL, HudConfig().width, HudConfig().conf)
    one_thread_ms = bare_session_ms(1)
    info = json.loads((DIST / "model" / "model.json").read_text())
    report = {
        "benchmark": "app_web",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "model": f"app/public/model/model.onnx, {info['output_format']} {info['output_shape']}",
        "browser_on_device": {"fps": round(page["fps"], 2), "model_ms": page["model_ms"]},
        "python_runtime_ms": round(python_ms, 1),
        "python_bare_session_1_thread_ms": round(one_thread_ms, 1),
        "ratio_browser_model_to_python_runtime": round(page["model_ms"] / python_ms, 2),
        "ratio_browser_model_to_python_1_thread": round(page["model_ms"] / one_thread_ms, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"app web build, on-device mode ({os.cpu_count()} cores), JSON in {args.out}")
    print(
        f"browser (onnxruntime-web, wasm, 1 thread): {page['fps']:.1f} fps, "
        f"model {page['model_ms']:.0f} ms/frame"
    )
    print(
        f"python ONNX Runtime, same file: student runtime {python_ms:.0f} ms/frame (all cores), "
        f"bare session 1 thread {one_thread_ms:.0f} ms"
    )
    print(
        f"ratio browser/python: {report['ratio_browser_model_to_python_runtime']}x vs the runtime, "
        f"{report['ratio_browser_model_to_python_1_thread']}x vs one thread"
    )


if __name__ == "__main__":
    main()
