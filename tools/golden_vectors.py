"""Golden vectors for the app's TypeScript HUD, from the real Python HUD on a real clip.

For each student — YOLO26 end-to-end exported exactly as `edgedistill export-app` does, and
YOLO11 with its raw head (the older `yolo` format that the app still decodes, NMS in
TypeScript; export-app now puts YOLO11's NMS in the graph, giving YOLO26's format) — the
frames of the dashcam clip go through the same steps as `edgedistill run`: the frame source,
the student runtime (the HUD's and the server's), the runner's ByteTrack and the LeadTracker.
Per frame the file keeps the raw ONNX output (only the rows or columns that can matter,
rounded), the detections, the tracked boxes and the lead vehicle. The TypeScript decodes the
raw output and tracks it; jest compares (app/src/hud/__tests__/golden.test.ts).

    make golden   # rewrites app/src/hud/__tests__/golden.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import supervision as sv

from edgedistill.app_model import NMS_IOU
from edgedistill.config import HudConfig
from edgedistill.cost import CostInputs, estimate_costs
from edgedistill.ego import outside_mask, share_inside
from edgedistill.export.app import export_app_model, onnx_output_shape
from edgedistill.hud.overlay import LeadTracker
from edgedistill.hud.runner import new_tracker
from edgedistill.hud.sources import open_source
from edgedistill.runtime import OnnxStudent
from edgedistill.runtime.letterbox import place
from edgedistill.student import PHONE_INPUT

ASSETS = Path(__file__).resolve().parents[1].parent / "shared" / "assets"
CLIP = ASSETS / "videos" / "dashcam_highway_960x540.mp4"
OUT = Path(__file__).resolve().parents[1] / "app" / "src" / "hud" / "__tests__" / "golden.json"
RAW_FLOOR = 0.1  # raw rows/columns scoring below this cannot reach conf = 0.25
LETTERBOX_FRAMES = [(640, 360), (960, 540), (1280, 720), (480, 640), (641, 359), (640, 480)]
EGO_MASK = [(0.0, 0.5), (0.1, 0.5), (0.1, 1.0), (0.0, 1.0)]
"""An ego mask over the left edge of the clip, which the car in the next lane drives out of:
its box is dropped while at least half inside, so the app must drop the same boxes."""
MIN_LEAD_DISTANCE_M = 43.0
"""Far above the real default (3 m), inside the 40-50 m the clip's cars in the lane are
estimated at, so that a track first seen closer is refused (and one seen farther first is
not) and the app must pick the same lead, or none."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--frames", type=int, default=60, help="YOLO26 frames to track")
    parser.add_argument("--yolo11-frames", type=int, default=4)
    args = parser.parse_args()
    if not CLIP.is_file():
        print(f"error: {CLIP} is missing: golden vectors need ../shared/assets", file=sys.stderr)
        return 1
    settings = HudConfig(ego_mask=EGO_MASK, min_lead_distance_m=MIN_LEAD_DISTANCE_M)
    golden = {
        "source": f"{CLIP.name}, frames fitted to {settings.width} px wide",
        "hud": settings.model_dump(),
        "iou": NMS_IOU,
        "letterbox": [letterbox_case(w, h) for w, h in LETTERBOX_FRAMES],
        "ego": ego_cases(),
        "cost": [
            {
                "fps": fps,
                "per_minute_usd": estimate_costs(CostInputs(fps=fps), None)
                .streaming[0]
                .per_minute_usd,
            }
            for fps in (1.0, 2.0, 15.0)
        ],
        "students": [
            run_student("yolo26n-coco.pt", settings, args.frames),
            run_student("yolo11n-coco.pt", settings, args.yolo11_frames, raw_head=True),
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1000:.0f} kB)")
    return 0


def letterbox_case(width: int, height: int) -> dict:
    placement = place((height, width), PHONE_INPUT)
    box = np.array([[100.0, 80.0, 300.0, 400.0]])
    back = placement.to_frame(box)[0]
    return {
        "frame": [width, height],
        "resized": [placement.inner[1], placement.inner[0]],
        "pad": [placement.left, placement.top],
        "input_box": box[0].tolist(),
        "frame_box": [round(float(v), 4) for v in back],
    }


def ego_cases(count: int = 40) -> list[dict]:
    """Boxes against polygons (convex, concave, partly outside the frame): the share of each
    box inside, as the app must compute it."""
    rng = np.random.default_rng(7)
    polygons = [
        EGO_MASK,
        [(0.1, 0.7), (0.9, 0.75), (1.0, 1.0), (0.0, 1.0)],
        [(0.2, 0.6), (0.5, 0.9), (0.8, 0.6), (0.8, 1.0), (0.2, 1.0)],  # concave: a notch
    ]
    cases = []
    for i in range(count):
        polygon = polygons[i % len(polygons)]
        x1, y1 = rng.uniform(-0.1, 0.9), rng.uniform(0.3, 0.95)
        box = [x1, y1, x1 + rng.uniform(0.01, 0.6), y1 + rng.uniform(0.01, 0.4)]
        box = [round(float(v), 4) for v in box]
        cases.append({"box": box, "polygon": polygon, "share": share_inside(box, polygon)})
    return cases


def run_student(weights: str, settings: HudConfig, limit: int, raw_head: bool = False) -> dict:
    """`raw_head`: the older `yolo` format, [1, 4+nc, N] without NMS, that the app still decodes
    (export-app now puts a YOLO11 student's NMS in the graph)."""
    with tempfile.TemporaryDirectory() as tmp:
        if raw_head:
            onnx_path = raw_export(ASSETS / "weights" / weights, Path(tmp))
            output_format, output_shape = "yolo", onnx_output_shape(onnx_path)
        else:
            info = export_app_model(ASSETS / "weights" / weights, Path(tmp), settings, PHONE_INPUT)
            onnx_path = Path(tmp) / "model.onnx"
            output_format, output_shape = info.output_format, info.output_shape
        student = OnnxStudent(onnx_path, NMS_IOU)
        source = open_source(str(CLIP), settings.width, settings.target_fps)
        tracker = new_tracker(settings, source.fps)
        leads = LeadTracker(settings)
        names = student.names
        frames = []
        for frame in source.frames:
            if len(frames) >= limit:
                break
            tensor, placement = student.preprocess(frame.image)
            raw = student.infer(tensor)
            detections = student.postprocess(raw[0], placement, settings.conf)
            sparse, rebuilt = sparse_output(raw, output_format)
            check_rebuilt(student.postprocess(rebuilt[0], placement, settings.conf), detections)
            height, width = frame.image.shape[:2]
            kept = outside_mask(detections, settings.ego_polygon, (width, height))
            tracked = tracker.update(kept)
            tracked = tracked[tracked.tracker_id >= 0]
            lead = leads.update(tracked, names, frame.time_s, (width, height))
            frames.append(
                {
                    "time_s": round(frame.time_s, 6),
                    "size": [width, height],
                    "raw": sparse,
                    "detections": boxes(detections),
                    "tracked": boxes(tracked),
                    "ego_dropped": len(detections) - len(kept),
                    "lead": lead_json(lead),
                    "refused": list(leads.refused),
                }
            )
    return {
        "weights": weights,
        "output_format": output_format,
        "output_shape": output_shape,
        "names": names,
        "fps": source.fps,
        "frames": frames,
    }


def raw_export(weights: Path, folder: Path) -> Path:
    """The student's ONNX file with its raw head (no NMS in the graph)."""
    from ultralytics import YOLO

    local = folder / weights.name
    shutil.copyfile(weights, local)
    return Path(YOLO(str(local)).export(format="onnx", imgsz=PHONE_INPUT, device="cpu", nms=False))


def sparse_output(raw: np.ndarray, output_format: str) -> tuple[dict, np.ndarray]:
    """The raw rows (end2end) or columns (yolo) that score at least RAW_FLOOR, rounded, and the
    full tensor rebuilt from them with zeros elsewhere."""
    rebuilt = np.zeros_like(raw)
    if output_format == "end2end":
        keep = np.where(raw[0, :, 4] >= RAW_FLOOR)[0]
        rows = np.round(raw[0, keep].astype(np.float64), 3)
        rebuilt[0, keep] = rows
        return {"index": keep.tolist(), "rows": rows.tolist()}, rebuilt
    scores = raw[0, 4:]
    keep = np.where(scores.max(0) >= RAW_FLOOR)[0]
    columns = []
    for i in keep:
        box = np.round(raw[0, :4, i].astype(np.float64), 4)
        classes = np.where(scores[:, i] >= RAW_FLOOR / 10)[0]
        values = np.round(scores[classes, i].astype(np.float64), 5)
        rebuilt[0, :4, i] = box
        rebuilt[0, 4 + classes, i] = values
        columns.append([box.tolist(), classes.tolist(), values.tolist()])
    return {"index": keep.tolist(), "columns": columns}, rebuilt


def check_rebuilt(rebuilt: sv.Detections, expected: sv.Detections) -> None:
    """The sparse, rounded tensor must give the full tensor's answer, or the file is no golden."""
    if len(rebuilt) != len(expected) or not np.allclose(rebuilt.xyxy, expected.xyxy, atol=0.05):
        raise SystemExit("the rounded raw output no longer reproduces predict(); raise precision")


def boxes(detections: sv.Detections) -> list[list[float]]:
    rows = []
    for i in range(len(detections)):
        row = [round(float(v), 2) for v in detections.xyxy[i]]
        row += [round(float(detections.confidence[i]), 4), int(detections.class_id[i])]
        if detections.tracker_id is not None:
            row.append(int(detections.tracker_id[i]))
        rows.append(row)
    return rows


def lead_json(lead) -> dict | None:
    if lead is None:
        return None
    return {
        "index": lead.index,
        "track_id": lead.track_id,
        "class": lead.class_name,
        "distance_m": None if lead.distance_m is None else float(lead.distance_m),
        "ttc_s": None if lead.ttc_s is None else float(lead.ttc_s),
        "warning": bool(lead.warning),
    }


if __name__ == "__main__":
    sys.exit(main())
