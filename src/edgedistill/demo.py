"""``edgedistill demo``: everything built so far, on a clip made offline."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from edgedistill.config import ProjectConfig
from edgedistill.display import out, print_export_report, print_run_stats, print_stage
from edgedistill.errors import EdgedistillError
from edgedistill.export import export_student
from edgedistill.hud import run_hud
from edgedistill.pipeline import run_pipeline
from edgedistill.project import Project, init_project
from edgedistill.teachers import build_teacher
from edgedistill.teachers.roboflow_api import API_KEY_VARIABLE

CLIP_SIZE = (960, 540)
CLIP_FPS = 25
DEMO_BUDGET_USD = 0.5


def sample_photos() -> list[Path]:
    """Street photos shipped inside the Ultralytics package (bus.jpg, zidane.jpg)."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise EdgedistillError(
            "the demo clip is made from Ultralytics' sample photos; "
            "install ultralytics or pass --video PATH"
        )
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
    photos = [assets / "bus.jpg", assets / "zidane.jpg"]
    missing = [p.name for p in photos if not p.is_file()]
    if missing:
        raise EdgedistillError(f"Ultralytics ships no {', '.join(missing)} here; pass --video PATH")
    return photos


def make_demo_clip(
    path: Path, photos: list[Path], seconds_per_photo: float = 6.0, stop_seconds: float = 4.0
) -> Path:
    """A dashcam-like clip: the camera pans and zooms over each photo, then stands still.

    The still part stands for waiting at a red light: ingest should keep a frame
    or two of it, not one per sample.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = CLIP_SIZE
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for photo in photos:
            image = cv2.imread(str(photo))
            moving = round(seconds_per_photo * CLIP_FPS)
            for step in range(moving):
                view = _camera_view(image, step / max(moving - 1, 1), (width, height))
                _encode(container, stream, view)
            for _ in range(round(stop_seconds * CLIP_FPS)):
                _encode(container, stream, view)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _camera_view(image: np.ndarray, t: float, size: tuple[int, int]) -> np.ndarray:
    """The crop of ``image`` a camera sees at time ``t`` in [0, 1]: zoom in while panning."""
    out_w, out_h = size
    img_h, img_w = image.shape[:2]
    scale = max(out_w / img_w, out_h / img_h) * (1.0 + 0.6 * t)
    view_w, view_h = out_w / scale, out_h / scale
    x0 = (img_w - view_w) * t
    y0 = (img_h - view_h) * 0.5
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float32)
    return cv2.warpAffine(
        image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def _encode(
    container: av.container.OutputContainer, stream: av.VideoStream, image: np.ndarray
) -> None:
    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
    for packet in stream.encode(frame):
        container.mux(packet)


def pick_teacher(config: ProjectConfig) -> tuple[str, dict[str, Any], str]:
    """The best teacher available here: ``(name, settings, what the user should know)``."""
    if os.environ.get(API_KEY_VARIABLE):
        return "roboflow-sam3", {}, f"Roboflow's hosted SAM3 ({API_KEY_VARIABLE} is set)"
    if config.teacher_settings("sam3").get("weights"):
        return "sam3", {}, "local SAM3 (teachers.sam3.weights)"
    for weights in ("yolo11x.pt", "yolo11n.pt"):
        if Path(weights).is_file():
            return "ultralytics", {"weights": weights}, f"Ultralytics {weights} (found here)"
    return (
        "ultralytics",
        {"weights": "yolo11n.yaml", "imgsz": 320},
        (
            "[bold yellow]a YOLO11n with random weights: its labels are meaningless[/]. "
            f"For real labels set {API_KEY_VARIABLE} (Roboflow's hosted SAM3), configure local "
            "SAM3 weights (teachers.sam3.weights, from the gated facebook/sam3 repository), or put "
            "yolo11x.pt here"
        ),
    )


def student_model() -> str:
    """yolo11n.pt when it is here (pretrained), else the architecture from its YAML."""
    return "yolo11n.pt" if Path("yolo11n.pt").is_file() else "yolo11n.yaml"


def run_demo(directory: Path, video: Path | None) -> Path:
    """The whole loop on a short clip; returns the report's path."""
    if video is None:
        video = directory / "demo_clip.mp4"
        if not video.exists():
            out.print("Making a 20 s demo clip from Ultralytics' sample photos…")
            make_demo_clip(video, sample_photos())
    elif not video.is_file():
        raise EdgedistillError(f"{video}: no such video file")
    root = directory / "project"
    project = Project(root.resolve()) if (root / "edgedistill.yaml").exists() else None
    project = project or init_project(root, "driving")
    out.print(f"Project: {project.root} (preset 'driving')")
    name, settings, note = pick_teacher(project.load_config())
    out.print(f"Teacher: {note}")
    model = student_model()
    if model.endswith(".yaml"):
        out.print("Student: YOLO11n from random weights (no yolo11n.pt here), 3 epochs at 320 px")
    teacher = build_teacher(project.load_config(), name, settings)
    budget = teacher.credits_for_usd(DEMO_BUDGET_USD)
    teacher.close()
    result = run_pipeline(
        project,
        [str(video.resolve())],
        name,
        settings,
        budget,
        {"model": model, "epochs": 3, "imgsz": 320, "batch": 8, "patience": 0},
        announce=print_stage,
    )
    out.rule("[bold]export")
    exported = export_student(project, ["onnx"], result.train.weights)
    print_export_report(exported)
    onnx = exported.directory / exported.files[0]["file"]
    out.rule("[bold]run")
    hud = directory.resolve() / "hud.mp4"
    stats = run_hud(str(video), onnx, project.load_config().hud, output=hud)
    print_run_stats(stats, hud)
    out.print(
        "\n[bold]What this demo did:[/] sampled the clip, dropped near-duplicate frames (the still "
        "parts), labelled the rest with the teacher above through the driving ontology (cached: "
        "a second run pays nothing), wrote a dataset split by source with a review gallery, "
        "trained a student briefly, measured it against the teacher and for speed at 480p, "
        "exported it to ONNX with a parity check and a model card, and ran the driver HUD on "
        "the clip.\nNext: `edgedistill serve` streams from a phone's browser, and "
        "`edgedistill cost` prices a minute of streaming."
    )
    out.print(f"\n[bold]Report:[/] {result.evaluation.html}")
    return result.evaluation.html
