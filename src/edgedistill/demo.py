"""``edgedistill demo``: the whole chain on real footage with the best models found here.

Footage: the clip given, else one made from Ultralytics' sample photos. Teacher:
Roboflow's hosted SAM3 when ``ROBOFLOW_API_KEY`` is set, else local SAM3 weights from
the config, else a COCO-pretrained YOLO standing in for SAM3 (run at twice the
student's resolution and mapped through the driving ontology), else — said loudly —
a YOLO with random weights. Student: a COCO-pretrained YOLO11n fine-tuned briefly.
Models are found by the weights rule (:mod:`edgedistill.weights`). Each clip gets a
project of its own; a second run reuses every stage, the export and the HUD video.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import yaml
from rich.markup import escape

from edgedistill.config import ProjectConfig
from edgedistill.display import PipelineProgress, err, out, print_export_report, print_run_stats
from edgedistill.errors import EdgedistillError
from edgedistill.export import export_student
from edgedistill.hud import run_hud
from edgedistill.media.images import read_image
from edgedistill.media.store import file_sha256
from edgedistill.metrics import EvalMetrics
from edgedistill.pipeline import run_pipeline
from edgedistill.project import CONFIG_NAME, Project, init_project, open_project
from edgedistill.teachers import budget_credits
from edgedistill.teachers.roboflow_api import API_KEY_VARIABLE
from edgedistill.weights import WEIGHTS_DIR_VARIABLE, WeightsNotFoundError, resolve_weights

CLIP_SIZE = (960, 540)
CLIP_FPS = 25
DEMO_BUDGET_USD = 0.5
STUDENT_IMGSZ = 416
TEACHER_IMGSZ = 2 * STUDENT_IMGSZ
STAND_IN_TEACHERS = ("yolo11x.pt", "yolo11l.pt", "yolo11m.pt", "yolo11s.pt", "yolo11n.pt")
"""COCO-pretrained detectors that stand in for SAM3, best first."""
STUDENT = "yolo11n.pt"
TRAIN = {"imgsz": STUDENT_IMGSZ, "batch": 8, "patience": 0}
EPOCHS = 3
INGEST_FPS = 5.0
GET_REAL_WEIGHTS = (
    f"for real ones put COCO-pretrained yolo11n.pt in a folder named by {WEIGHTS_DIR_VARIABLE} "
    f"(make demo uses ../shared/assets/weights when it is there), set {API_KEY_VARIABLE} for "
    "Roboflow's hosted SAM3, or run once with internet so that Ultralytics downloads them"
)


@dataclass(frozen=True)
class ModelChoice:
    """A model the demo will use, and what the user should know about it."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    stand_in: bool = False


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
            image = read_image(photo)
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


def pick_teacher(config: ProjectConfig) -> ModelChoice:
    """The best teacher available here, by the order in the module docstring."""
    if os.environ.get(API_KEY_VARIABLE):
        return ModelChoice("roboflow-sam3", note=f"Roboflow's hosted SAM3 ({API_KEY_VARIABLE} set)")
    if config.teacher_settings("sam3").get("weights"):
        return ModelChoice("sam3", note="local SAM3 (teachers.sam3.weights)")
    found = _first_found(STAND_IN_TEACHERS, config)
    if found is not None:
        return ModelChoice(
            "ultralytics",
            {"weights": found, "imgsz": TEACHER_IMGSZ},
            f"{Path(found).name} at {TEACHER_IMGSZ} px, a COCO-pretrained detector standing in "
            "for SAM3 (no Roboflow key or SAM3 weights here)",
            stand_in=True,
        )
    return ModelChoice(
        "ultralytics",
        {"weights": "yolo11n.yaml", "imgsz": TEACHER_IMGSZ},
        f"[bold yellow]a YOLO11n with random weights: its labels are meaningless[/]; "
        f"{GET_REAL_WEIGHTS}",
        stand_in=True,
    )


def pick_student(config: ProjectConfig) -> ModelChoice:
    """A COCO-pretrained YOLO11n when one is found; random weights (said so) otherwise."""
    found = _first_found((STUDENT,), config)
    if found is not None:
        return ModelChoice(found, note=f"{Path(found).name}, COCO-pretrained, fine-tuned")
    return ModelChoice(
        "yolo11n.yaml",
        note=f"[bold yellow]YOLO11n from random weights[/] (no {STUDENT} here); {GET_REAL_WEIGHTS}",
        stand_in=True,
    )


def _first_found(names: tuple[str, ...], config: ProjectConfig) -> str | None:
    """The first of ``names`` on this machine; downloads only the last, smallest one."""
    for index, name in enumerate(names):
        try:
            return resolve_weights(name, [config.weights_dir], download=index == len(names) - 1)
        except WeightsNotFoundError:
            continue
    return None


def run_demo(directory: Path, video: Path | None, epochs: int = EPOCHS) -> Path:
    """The whole loop on a clip; returns the report's path."""
    video = _demo_video(directory, video)
    workspace = directory.resolve() / _workspace_name(video)
    project = _demo_project(workspace / "project", video)
    out.print(f"Footage: {video}\nProject: {project.root}")
    config = project.config
    teacher, student = pick_teacher(config), pick_student(config)
    out.print(f"Teacher: {teacher.note}\nStudent: {student.note}")
    budget, _ = budget_credits(config, teacher.name, teacher.settings, DEMO_BUDGET_USD)
    with PipelineProgress() as progress:
        result = run_pipeline(
            project,
            [str(video)],
            teacher.name,
            teacher.settings,
            budget,
            {"model": student.name, "epochs": epochs, **TRAIN},
            announce=progress.announce,
            on_epoch=progress.update,
        )
    weights = result.train.weights
    if weights is None:
        raise EdgedistillError("training produced no weights; see the run folder")
    onnx = _export(project, weights)
    hud = _hud(project, video, onnx, workspace / "hud.mp4")
    _closing(result.evaluation.metrics, teacher, student, hud)
    out.print(f"\n[bold]Report:[/] {result.evaluation.html}")
    return result.evaluation.html


def _demo_video(directory: Path, video: Path | None) -> Path:
    if video is None:
        video = directory / "generated" / "demo_clip.mp4"
        if not video.exists():
            out.print("No clip given: making a 20 s clip from Ultralytics' sample photos…")
            make_demo_clip(video, sample_photos())
        return video.resolve()
    if not video.is_file():
        raise EdgedistillError(f"{video}: no such video file")
    return video.resolve()


def _workspace_name(video: Path) -> str:
    """One workspace per clip, named after it and its content."""
    return f"{video.stem}-{file_sha256(video)[:8]}"


def _demo_project(root: Path, video: Path) -> Project:
    """The clip's own project: the driving ontology, sampling a short clip densely."""
    if (root / CONFIG_NAME).exists():
        return open_project(root)
    project = init_project(root, "driving")
    data = yaml.safe_load(project.config_path.read_text())
    data["ingest"].update(fps=INGEST_FPS, sources=[str(video)])
    header = "# The demo's project (edgedistill demo): the driving preset, sampling densely.\n"
    project.config_path.write_text(header + yaml.safe_dump(data, sort_keys=False))
    return open_project(root)


def _export(project: Project, weights: Path) -> Path:
    """The student as ONNX with its parity check and card; reused when the weights match."""
    out.rule("[bold]export")
    stamp = {"weights": file_sha256(weights)}
    onnx = project.exports_dir / weights.parent.parent.name / f"{weights.stem}.onnx"
    if _fresh(onnx, stamp):
        out.print(f"ONNX already exported from these weights: {onnx}")
        return onnx
    report = export_student(project, ["onnx"], weights)
    print_export_report(report)
    if not report.ok:
        raise EdgedistillError("the ONNX export does not match the student; see the parity line")
    onnx = report.directory / report.files[0].file
    _stamp(onnx, stamp)
    return onnx


def _hud(project: Project, video: Path, onnx: Path, output: Path) -> Path:
    """The HUD video of the student on the clip; reused when model, clip and HUD match."""
    out.rule("[bold]run")
    settings = project.hud_settings(onnx)
    stamp = {
        "model": file_sha256(onnx),
        "video": str(video),
        "hud": settings.model_dump(mode="json"),
    }
    if _fresh(output, stamp):
        out.print(f"HUD video already made with this student and clip: {output}")
        return output
    events = output.with_suffix(".events.jsonl")
    stats = run_hud(str(video), onnx, settings, output=output, events=events)
    print_run_stats(stats, output)
    out.print(f"Driving log (a JSON line per frame): {events}")
    _stamp(output, stamp)
    return output


def _stamp_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.inputs.json")


def _fresh(output: Path, inputs: dict[str, Any]) -> bool:
    """True when ``output`` exists and was made from exactly ``inputs``."""
    stamp = _stamp_path(output)
    return output.exists() and stamp.is_file() and json.loads(stamp.read_text()) == inputs


def _stamp(output: Path, inputs: dict[str, Any]) -> None:
    _stamp_path(output).write_text(json.dumps(inputs, sort_keys=True))


def _closing(metrics: EvalMetrics, teacher: ModelChoice, student: ModelChoice, hud: Path) -> None:
    """What the demo did, and — where it had to — what it stood in for, said last."""
    out.print(
        "\n[bold]What this demo did:[/] sampled the clip and dropped near-duplicate frames, "
        "labelled them with the teacher above through the driving ontology (cached: a second "
        "run pays nothing), wrote a dataset with a review gallery, fine-tuned the student, "
        f"scored it against the teacher on {escape(metrics.scored_on())} and timed it at 480p, "
        "exported it to ONNX with a parity check and a model card, and ran the driver HUD on "
        f"the clip ({hud}).\n"
        "Next: `edgedistill serve` streams from a phone's browser, `edgedistill cost` prices "
        "a minute of streaming."
    )
    caveats = metrics.caveats
    if caveats or teacher.stand_in or student.stand_in:
        err.print("\n[bold yellow]Read before trusting these figures:[/]")
        for caveat in caveats:
            err.print(f"[yellow]- {caveat}[/]")
