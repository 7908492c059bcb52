"""The HUD beside its peers and its floor, on the real dashcam clip, each in its own process.

Contenders, per model (COCO-pretrained YOLO11n and YOLO26n exported to ONNX at 480x640:
YOLO11n with its anchor output and NMS after, YOLO26n with its end-to-end head):

- ``session``: ONNX Runtime's ``session.run`` alone on tensors made beforehand, with the
  runtime's session settings (the floor);
- ``session-default``: the same with ONNX Runtime's default settings (its threads spin);
- ``bare``: a bare loop: OpenCV decode, resize, letterbox, ``session.run``, OpenCV NMS;
- ``ultralytics``: Ultralytics' ``YOLO(onnx).track(stream=True)`` (decode, predict, ByteTrack);
- ``hud``: ``run_hud`` with one copy of the student on every core (what a camera, a
  stream and ``--realtime`` get): decode ahead, student, ByteTrack, lead vehicle, HUD;
- ``hud+write``: the same writing the HUD video too;
- ``hud x2``, ``hud x2+write``: two copies of the student on two frames at once, each
  on its share of the cores (``hud.model_workers: 2``, the default for a file).

Each contender runs in a fresh process; the order rotates every repetition, and the
ratios are taken within a repetition. ms/frame is the steady loop: from the first frame
out to the last, over the frames between (start-up and warm-up are not in it). The floor
of a repetition is the faster of ``session`` and ``session-default``. Goals (issue 17),
checked for one copy and for two: the HUD within 10 % of the floor, writing within 20 %,
faster than ``ultralytics`` in every repetition. Writes JSON and prints a summary::

    .venv/bin/python bench/realtime.py [--reps 5] [--models yolo11n yolo26n]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import CLIP, EXPORTS, coco_onnx, peak_rss_mb  # noqa: E402

CONTENDERS = (
    "session",
    "session-default",
    "bare",
    "ultralytics",
    "hud",
    "hud+write",
    "hud x2",
    "hud x2+write",
)
WIDTH = 640
"""Frames are fitted to the HUD's width (``hud.width``) before the model, as ``run_hud`` does."""
CONF = 0.25


def frames_fitted() -> list:
    import cv2

    capture, frames = cv2.VideoCapture(str(CLIP)), []
    while (read := capture.read())[0]:
        image = read[1]
        height = round(image.shape[0] * WIDTH / image.shape[1])
        frames.append(cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA))
    return frames


def steady_ms(stamps: list[float]) -> float:
    """ms/frame from the first frame out to the last."""
    return (stamps[-1] - stamps[0]) * 1000 / (len(stamps) - 1)


def run_session(model: Path, default_settings: bool = False) -> float:
    import onnxruntime as ort

    from edgedistill.runtime import OnnxStudent

    student = OnnxStudent(model, iou=0.7)
    session = student.session
    if default_settings:
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    tensors = [student.preprocess(image)[0].copy() for image in frames_fitted()]
    session.run(None, {student.input_name: tensors[0]})
    stamps = [time.perf_counter()]
    for tensor in tensors:
        session.run(None, {student.input_name: tensor})
        stamps.append(time.perf_counter())
    return steady_ms(stamps)


def run_bare(model: Path) -> float:
    """The least a program can do per frame: decode, resize, letterbox, run, NMS."""
    import cv2
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    end_to_end = session.get_outputs()[0].shape[-1] == 6
    capture, stamps = cv2.VideoCapture(str(CLIP)), []
    while (read := capture.read())[0]:
        image = read[1]
        height = round(image.shape[0] * WIDTH / image.shape[1])
        image = cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA)
        top = (480 - height) // 2
        image = cv2.copyMakeBorder(
            image, top, 480 - height - top, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114)
        )
        output = session.run(None, {name: cv2.dnn.blobFromImage(image, 1 / 255, swapRB=True)})
        rows = output[0][0]
        if end_to_end:
            _kept = rows[rows[:, 4] > CONF]
        else:
            scores = rows[4:].max(axis=0)
            keep = scores > CONF
            boxes = rows[:4, keep].T.copy()
            boxes[:, :2] -= boxes[:, 2:] / 2
            classes = rows[4:, keep].argmax(axis=0)
            cv2.dnn.NMSBoxesBatched(boxes, scores[keep], classes, CONF, 0.7)
        stamps.append(time.perf_counter())
    return steady_ms(stamps)


def run_ultralytics(model: Path) -> float:
    from ultralytics import YOLO

    stamps = []
    tracker = YOLO(str(model), task="detect")
    for _ in tracker.track(str(CLIP), stream=True, imgsz=(480, 640), conf=CONF, verbose=False):
        stamps.append(time.perf_counter())
    return steady_ms(stamps)


def run_hud_loop(model: Path, output: Path | None, copies: int = 1) -> float:
    from edgedistill.config import HudConfig
    from edgedistill.hud import run_hud

    settings = HudConfig(width=WIDTH, conf=CONF, model_workers=copies)
    stats = run_hud(str(CLIP), model, settings, output=output)
    return stats.seconds * 1000 / stats.frames


def contender(name: str, model: Path, folder: Path) -> dict[str, float]:
    """One contender in this process: its ms/frame and this process's peak RSS."""
    runners = {
        "session": lambda: run_session(model),
        "session-default": lambda: run_session(model, default_settings=True),
        "bare": lambda: run_bare(model),
        "ultralytics": lambda: run_ultralytics(model),
        "hud": lambda: run_hud_loop(model, None),
        "hud+write": lambda: run_hud_loop(model, folder / "hud.mp4"),
        "hud x2": lambda: run_hud_loop(model, None, copies=2),
        "hud x2+write": lambda: run_hud_loop(model, folder / "hud.mp4", copies=2),
    }
    ms = runners[name]()
    return {"ms": ms, "peak_rss_mb": peak_rss_mb()}


def in_process(name: str, model: Path, folder: Path) -> dict[str, float]:
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--contender", name, "--model", str(model)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "YOLO_OFFLINE": "true"},
    )
    if result.returncode:
        raise SystemExit(f"{name} on {model.name} failed:\n{result.stderr[-2000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {**figures, "process_s": time.perf_counter() - began}


def spread(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def measure(model: Path, reps: int, folder: Path) -> dict[str, object]:
    runs: list[dict[str, dict[str, float]]] = []
    for rep in range(reps):
        order = CONTENDERS[rep % len(CONTENDERS) :] + CONTENDERS[: rep % len(CONTENDERS)]
        runs.append({name: in_process(name, model, folder) for name in order})
    floors = [min(r["session"]["ms"], r["session-default"]["ms"]) for r in runs]
    ratios = {
        "hud / floor": [r["hud"]["ms"] / f for r, f in zip(runs, floors, strict=True)],
        "hud+write / floor": [r["hud+write"]["ms"] / f for r, f in zip(runs, floors, strict=True)],
        "hud / session": [r["hud"]["ms"] / r["session"]["ms"] for r in runs],
        "hud+write / session": [r["hud+write"]["ms"] / r["session"]["ms"] for r in runs],
        "hud / ultralytics": [r["hud"]["ms"] / r["ultralytics"]["ms"] for r in runs],
        "hud x2 / floor": [r["hud x2"]["ms"] / f for r, f in zip(runs, floors, strict=True)],
        "hud x2+write / floor": [
            r["hud x2+write"]["ms"] / f for r, f in zip(runs, floors, strict=True)
        ],
        "hud x2 / hud": [r["hud x2"]["ms"] / r["hud"]["ms"] for r in runs],
        "hud x2 / ultralytics": [r["hud x2"]["ms"] / r["ultralytics"]["ms"] for r in runs],
        "hud / bare": [r["hud"]["ms"] / r["bare"]["ms"] for r in runs],
        "bare / session": [r["bare"]["ms"] / r["session"]["ms"] for r in runs],
        "ultralytics / session": [r["ultralytics"]["ms"] / r["session"]["ms"] for r in runs],
        "session-default / session": [
            r["session-default"]["ms"] / r["session"]["ms"] for r in runs
        ],
    }
    return {
        "ms_per_frame": {n: spread([r[n]["ms"] for r in runs], 2) for n in CONTENDERS},
        "peak_rss_mb": {n: spread([r[n]["peak_rss_mb"] for r in runs], 0) for n in CONTENDERS},
        "process_s": {n: spread([r[n]["process_s"] for r in runs], 2) for n in CONTENDERS},
        "ratios": {
            name: {**spread(v), "each": [round(x, 3) for x in v]} for name, v in ratios.items()
        },
        "goals_met": {
            f"{hud} within 10 % of the floor": statistics.median(ratios[f"{hud} / floor"]) <= 1.10
            for hud in ("hud", "hud x2")
        }
        | {
            f"{hud}+write within 20 % of the floor": statistics.median(
                ratios[f"{hud}+write / floor"]
            )
            <= 1.20
            for hud in ("hud", "hud x2")
        }
        | {
            f"{hud} faster than ultralytics every repetition": max(ratios[f"{hud} / ultralytics"])
            < 1
            for hud in ("hud", "hud x2")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=list(EXPORTS), default=list(EXPORTS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "realtime.json")
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        print(json.dumps(contender(args.contender, args.model, Path.cwd())))
        return
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP} is missing: this benchmark needs ../shared/assets")
    os.environ["YOLO_OFFLINE"] = "true"
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            results[model] = measure(coco_onnx(model, Path(folder)), args.reps, Path(folder))
    report = {
        "benchmark": "realtime",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "clip": f"{CLIP.name}, every frame, fitted to {WIDTH} px wide",
        "repetitions": args.reps,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"realtime benchmark ({os.cpu_count()} cores, {args.reps} reps), JSON in {args.out}")
    for model, result in results.items():
        ms = result["ms_per_frame"]
        print(f"{model}: ms/frame median [min-max], peak RSS MB")
        for name in CONTENDERS:
            rss = result["peak_rss_mb"][name]["median"]
            print(
                f"  {name:12} {ms[name]['median']:7.2f} [{ms[name]['min']}-{ms[name]['max']}]"
                f"  {rss:5.0f} MB"
            )
        for name, ratio in result["ratios"].items():
            print(f"  {name:22} {ratio['median']:.3f} [{ratio['min']}-{ratio['max']}]")
        print(
            "  goals: "
            + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in result["goals_met"].items())
        )


if __name__ == "__main__":
    main()
