"""Recorded camera frames for the iPhone's frame pipeline test, with what the Python HUD draws.

A few frames of the real dashcam clip, cropped to the road ahead (a small camera with a narrow
field of view: the lead car is as many pixels wide as in the full frame), go through the
phone's preprocessing as VisionCamera's GPU resizer does it (bilinear with half-pixel centres,
in float, into the letterbox's inner size; Ultralytics' grey 114 around it), then through the
exported student (the file `edgedistill export-app` writes) and the Python HUD: the student
runtime's decode and box scaling, the runner's ByteTrack and the LeadTracker.

Written beside the jest test (app/src/camera/__tests__/):
- ``frames.bin``: the frames' RGB bytes, each row stored as differences to the pixel on its
  left, all deflated (a few frames in ~100 kB);
- ``camera.json``: per frame its time, a fingerprint of the input tensor (channel means and
  sampled values), the raw output rows that can matter, the tracked boxes and the lead, and
  the HUD settings (the field of view narrowed to the crop).

    make golden   # rewrites them together with golden.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgedistill.app_model import NMS_IOU
from edgedistill.config import HudConfig
from edgedistill.export.app import export_app_model
from edgedistill.hud.overlay import LeadTracker
from edgedistill.hud.runner import new_tracker
from edgedistill.hud.sources import open_source
from edgedistill.runtime import OnnxStudent
from edgedistill.runtime.letterbox import place
from edgedistill.student import PHONE_INPUT

sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_vectors import ASSETS, CLIP, boxes, lead_json, sparse_output  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "app" / "src" / "camera" / "__tests__"
PAD = 114 / 255
SAMPLES = 96  # tensor values the fingerprint keeps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--frames", type=int, default=10, help="frames to record")
    parser.add_argument("--start", type=int, default=8, help="first clip frame")
    parser.add_argument("--step", type=int, default=1, help="take every STEP-th clip frame")
    parser.add_argument(
        "--crop",
        type=int,
        nargs=4,
        default=(203, 162, 160, 90),
        metavar=("X", "Y", "W", "H"),
        help="the part of the 640-wide frame the small camera sees (the road ahead)",
    )
    args = parser.parse_args()
    if not CLIP.is_file():
        print(f"error: {CLIP} is missing: golden frames need ../shared/assets", file=sys.stderr)
        return 1
    settings = HudConfig()
    x, y, width, height = args.crop
    # A camera that sees only the crop has the same focal length in pixels: a narrower FOV.
    half = np.tan(np.radians(settings.horizontal_fov_deg / 2)) * width / settings.width
    fov = float(np.degrees(2 * np.arctan(half)))
    settings = settings.model_copy(update={"horizontal_fov_deg": fov})
    times, images = read_frames(settings, args.start, args.frames, args.step, (x, y, width, height))
    with tempfile.TemporaryDirectory() as tmp:
        info = export_app_model(
            ASSETS / "weights" / "yolo26n-coco.pt", Path(tmp), settings, PHONE_INPUT
        )
        student = OnnxStudent(Path(tmp) / "model.onnx", NMS_IOU)
        names = info.names
        frames = run_hud(student, names, settings, times, images)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "frames.bin").write_bytes(encode_frames(images))
    record = {
        "source": f"{CLIP.name}: every {args.step}th frame, {width}x{height} at ({x}, {y})",
        "weights": "yolo26n-coco.pt",
        "frame_size": [width, height],
        "input_size": list(PHONE_INPUT),
        "names": names,
        "tracker_fps": settings.target_fps,
        "hud": settings.model_dump(),
        "frames": frames,
    }
    (args.out / "camera.json").write_text(json.dumps(record, separators=(",", ":")) + "\n")
    kb = (args.out / "frames.bin").stat().st_size / 1000
    print(f"wrote {args.out}/camera.json and frames.bin ({kb:.0f} kB)")
    return 0


def read_frames(
    settings: HudConfig, start: int, count: int, step: int, crop: tuple[int, int, int, int]
) -> tuple[list[float], list[np.ndarray]]:
    """From frame `start` on, every `step`-th frame of `edgedistill run`'s frame source,
    cropped to the road ahead, as RGB."""
    x, y, width, height = crop
    times: list[float] = []
    images: list[np.ndarray] = []
    source = open_source(str(CLIP), settings.width, settings.target_fps)
    for i, frame in enumerate(source.frames):
        if len(images) == count:
            break
        if i >= start and (i - start) % step == 0:
            images.append(np.ascontiguousarray(frame.image[y : y + height, x : x + width, ::-1]))
            times.append(round(frame.time_s, 6))
    return times, images


def model_input(image: np.ndarray) -> np.ndarray:
    """The [1, 3, H, W] tensor the phone builds: GPU-style bilinear resize into the letterbox."""
    placement = place(image.shape[:2], PHONE_INPUT)
    (inner_h, inner_w), pad_y, pad_x = placement.inner, placement.top, placement.left
    rgb = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    inner = F.interpolate(rgb, size=(inner_h, inner_w), mode="bilinear", align_corners=False)
    tensor = torch.full((1, 3, *PHONE_INPUT), PAD)
    tensor[:, :, pad_y : pad_y + inner_h, pad_x : pad_x + inner_w] = inner
    return tensor.numpy()


def fingerprint(tensor: np.ndarray) -> dict:
    """Channel means and fixed sampled values: enough to tell which frame, placed how."""
    flat = tensor.ravel()
    rng = np.random.default_rng(0)
    index = np.sort(rng.choice(flat.size, SAMPLES, replace=False))
    return {
        "mean": [round(float(tensor[0, c].mean(dtype=np.float64)), 7) for c in range(3)],
        "index": index.tolist(),
        "values": [round(float(v), 7) for v in flat[index]],
    }


def run_hud(
    student: OnnxStudent,
    names: list[str],
    settings: HudConfig,
    times: list[float],
    images: list[np.ndarray],
) -> list[dict]:
    """The student and the Python HUD on each frame, in order."""
    tracker = new_tracker(settings, settings.target_fps)
    leads = LeadTracker(settings)
    frames = []
    for time_s, image in zip(times, images, strict=True):
        tensor = model_input(image)
        raw = student.infer(tensor)
        sparse, rebuilt = sparse_output(raw, "end2end")
        height, width = image.shape[:2]
        placement = place((height, width), PHONE_INPUT)
        detections = student.postprocess(rebuilt[0], placement, settings.conf)
        tracked = tracker.update(detections)
        tracked = tracked[tracked.tracker_id >= 0]
        lead = leads.update(tracked, names, time_s, (width, height))
        frames.append(
            {
                "time_s": time_s,
                "tensor": fingerprint(tensor),
                "raw": sparse,
                "tracked": boxes(tracked),
                "lead": lead_json(lead),
            }
        )
    return frames


def encode_frames(images: list[np.ndarray]) -> bytes:
    """Each row as differences to the left pixel (mod 256), then deflated."""
    deltas = [np.diff(i.astype(np.int16), axis=1, prepend=0).astype(np.uint8) for i in images]
    return zlib.compress(b"".join(d.tobytes() for d in deltas), 9)


if __name__ == "__main__":
    sys.exit(main())
