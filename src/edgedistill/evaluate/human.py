"""Student and teacher against human labels (``eval --gt``), classes matched by name or prompt.

The human labels become a YOLO dataset in the student's classes, which Ultralytics'
validator scores the student on. Where the teacher labelled the same images (frames
ingested from them), pycocotools' COCOeval scores the teacher too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import supervision as sv
import yaml

from edgedistill.coco_eval import coco_map
from edgedistill.config import LabelConfig
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.validation import validate
from edgedistill.metrics import CocoScores, HumanComparison
from edgedistill.ontology import Ontology
from edgedistill.project import Project
from edgedistill.teachers.annotations import AnnotationSet, load_annotations
from edgedistill.teachers.base import FrameInput
from edgedistill.teachers.cache import LabelCache, cache_keys
from edgedistill.teachers.resolve import resolve
from edgedistill.teachers.tracks import track_voting_cache
from edgedistill.yolo_format import YoloWriter

# Human labels are taken as they are: no threshold, no NMS, no minimum size.
_AS_GIVEN = LabelConfig(confidence=0.0, nms="none", min_box_area=0.0)


@dataclass(frozen=True)
class HumanLabels:
    """Ground truth checked before any model runs: its file, labels and images."""

    path: Path
    annotations: AnnotationSet
    images: list[tuple[Path, Any]]


def check_ground_truth(gt: Path) -> HumanLabels:
    """Load ``--gt`` and find its held-out images; one sentence when it cannot be used."""
    gt = gt.expanduser().resolve()
    if not gt.exists():
        raise EdgedistillError(f"{gt}: no such ground-truth file or folder")
    annotations = load_annotations(gt)
    images = _held_out_images(gt, annotations)
    if not images:
        raise EdgedistillError(f"{gt}: no images found for its labels")
    return HumanLabels(gt, annotations, images)


def against_human_labels(
    project: Project,
    model: Any,
    human: HumanLabels,
    imgsz: int,
    device: str,
    directory: Path,
    fingerprint: str,
) -> HumanComparison:
    config = project.config
    annotations, images = human.annotations, human.images
    names = config.ontology.student_names
    writer = YoloWriter(directory / "dataset", names, segments=False)
    unknown: set[str] = set()
    truth: dict[str, Any] = {}
    for index, (path, entry) in enumerate(images):
        frame = _frame(f"gt{index:06d}", path)
        resolution = resolve(annotations.read(entry, frame), config.ontology, _AS_GIVEN, False)
        unknown |= resolution.unknown_labels
        writer.add("test", frame, resolution.detections)
        truth[path.name.lower()] = (frame, resolution.detections)
    data = writer.close(fallback_val=True)
    result = validate(model, data, "test", imgsz, device, directory)
    teacher = _teacher_vs_human(project, config.ontology, config.label, fingerprint, truth, names)
    return HumanComparison(
        **result.model_dump(),
        images=len(images),
        unknown_labels=sorted(unknown),
        teacher=teacher,
    )


def _held_out_images(gt: Path, annotations: AnnotationSet) -> list[tuple[Path, Any]]:
    """The images to score on: a data.yaml's test (else val) split; everything otherwise."""
    items = annotations.images()
    if gt.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(gt.read_text()) or {}
        root = gt.parent / data.get("path", ".")
        for key in ("test", "val"):
            if isinstance(data.get(key), str):
                folder = (root / data[key]).resolve()
                return [(Path(p), e) for p, e in items if Path(p).is_relative_to(folder)]
        return [(Path(p), e) for p, e in items]
    if gt.suffix.lower() == ".json":
        found = []
        for path, entry in items:
            image = _coco_image(gt.parent, path)
            if image is not None:
                found.append((image, entry))
        return found
    return [(Path(p), e) for p, e in items]


def _coco_image(root: Path, name: PurePath) -> Path | None:
    for candidate in (root / name, root / "images" / name, root / "images" / name.name):
        if candidate.is_file():
            return candidate
    return None


def _frame(frame_id: str, path: Path) -> FrameInput:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return FrameInput(frame_id, path, width, height, str(path), ())


def _teacher_vs_human(
    project: Project,
    ontology: Ontology,
    label: LabelConfig,
    fingerprint: str,
    truth: dict[str, Any],
    names: list[str],
) -> CocoScores | None:
    """COCO mAP of the teacher's labels on the ingested frames of the same images."""
    pairs = []
    with project.open_catalog() as catalog:
        prompted = bool(
            catalog.execute(
                "SELECT prompted FROM teachers WHERE fingerprint = ?", (fingerprint,)
            ).fetchone()[0]
        )
        prompts = cache_keys(ontology.prompts, prompted)
        # As the dataset reads them: a tracked object's class is its track's vote.
        cache = (
            track_voting_cache(catalog, fingerprint, prompts, ontology, label)
            if prompted
            else LabelCache(catalog)
        )
        rows = catalog.execute(
            "SELECT f.id, f.width, f.height, s.path FROM frames f "
            "JOIN sources s ON s.id = f.source_id"
        ).fetchall()
        for frame_id, width, height, source in rows:
            match = truth.get(PurePath(source).name.lower())
            raw = cache.frame_detections(fingerprint, frame_id, prompts) if match else None
            if raw is not None:
                teacher = resolve(raw, ontology, label, prompted).detections
                pairs.append((match, teacher, (width, height)))
    if not pairs:
        return None
    sizes = [(frame.width, frame.height) for (frame, _), _, _ in pairs]
    truths = [human for (_, human), _, _ in pairs]
    predictions = []
    for (frame, _), teacher, (width, height) in pairs:
        scale = np.array([frame.width / width, frame.height / height] * 2, dtype=np.float32)
        predictions.append(
            sv.Detections(
                xyxy=teacher.xyxy * scale, confidence=teacher.confidence, class_id=teacher.class_id
            )
        )
    return CocoScores(images=len(pairs), **coco_map(sizes, truths, predictions, names))
