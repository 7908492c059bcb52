"""Students the benchmarks run: COCO-pretrained nano models from ../shared/assets as ONNX."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

PHONE_INPUT = (480, 640)

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT.parent / "shared" / "assets"
CLIP = ASSETS / "videos" / "dashcam_highway_960x540.mp4"

EXPORTS = {
    # YOLO11n: anchors out, NMS after (as `edgedistill export onnx` writes it).
    "yolo11n": ("yolo11n-coco.pt", {}),
    # YOLO26n: its end-to-end head, no NMS (as `edgedistill export-app` writes it).
    "yolo26n": ("yolo26n-coco.pt", {"nms": False}),
}


def coco_onnx(model: str, folder: Path, batch: int = 1, dynamic: bool = False) -> Path:
    """``model``'s COCO checkpoint exported to ONNX at the phone's 480x640, ``batch`` frames
    at a time, or any number with ``dynamic`` (as ``edgedistill export --dynamic`` writes it)."""
    from ultralytics import YOLO

    weights, options = EXPORTS[model]
    source = ASSETS / "weights" / weights
    if not source.is_file():
        raise SystemExit(f"{source} is missing: this benchmark needs ../shared/assets")
    tag = "dynamic" if dynamic else f"b{batch}"
    local = shutil.copyfile(source, folder / f"{model}-{tag}.pt")
    exported = YOLO(str(local)).export(
        format="onnx", imgsz=PHONE_INPUT, batch=batch, dynamic=dynamic, verbose=False, **options
    )
    return Path(exported)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak RSS (``VmHWM``: unlike ``ru_maxrss`` it does not carry over the
    parent's peak across ``exec``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def random_yolo11n_onnx(folder: Path) -> Path:
    """A YOLO11n-sized student (random weights: the same compute) exported at 480x640."""
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)
    model = YOLO("yolo11n.yaml")
    model.save(str(folder / "yolo11n.pt"))
    return Path(
        YOLO(str(folder / "yolo11n.pt")).export(format="onnx", imgsz=PHONE_INPUT, verbose=False)
    )


def model_alone(model_path: Path, width: int = 640, conf: float = 0.25) -> float:
    """Median ms of the student runtime's ``detect`` on the clip's frames, decoded beforehand."""
    from edgedistill.media.video import VideoReader
    from edgedistill.runtime import open_runtime

    student = open_runtime(model_path)
    with VideoReader(CLIP) as reader:
        frames = [frame.image for frame in reader.sample(fps=0, max_side=width)]
    times = []
    for image in frames:
        start = time.perf_counter()
        student.detect(image, conf)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
