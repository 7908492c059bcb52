"""Training that keeps what the student knew (``train.keep_known``).

The starting weights answer as a second teacher (the Ultralytics backend), cached like
any other teacher: asked once per frame, never again. Their confident detections of the
ontology's classes join the training labels where the teacher is silent on that class in
that frame (and does not already cover the object as another class). Validation and test
labels stay the teacher's, so evaluation is unchanged. The merged labels live in a sibling
folder of the dataset, written once per (dataset, starting weights, settings).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import supervision as sv
import yaml

from edgedistill.catalog import now
from edgedistill.config import ProjectConfig, TrainConfig
from edgedistill.detections import class_ids, subset
from edgedistill.errors import EdgedistillError
from edgedistill.label import label_project
from edgedistill.media.store import link_image
from edgedistill.project import DatasetRecord, Project
from edgedistill.teachers.base import Teacher
from edgedistill.teachers.cache import LabelCache, cache_keys
from edgedistill.teachers.resolve import resolve
from edgedistill.weights import is_architecture, resolve_weights
from edgedistill.yolo_format import box_line, read_labels

log = logging.getLogger(__name__)

OVERLAP_IOU = 0.5
"""A starting-weights box this close to a teacher box is the same object: not added."""
_COMPLETE = ".complete"


def training_data(project: Project, settings: TrainConfig, dataset: str | None) -> Path | None:
    """With ``train.keep_known``: the dataset's copy with the starting weights' own labels
    added, for ``train_student(data=...)``; None otherwise (the dataset as it is)."""
    if not settings.keep_known or is_architecture(settings.model):
        return None
    weights = Path(resolve_weights(settings.model, [project.config.weights_dir]))
    return keep_known(project, project.dataset(dataset), weights, settings)


def keep_known(
    project: Project, record: DatasetRecord, weights: Path, settings: TrainConfig
) -> Path:
    """The ``data.yaml`` of ``record`` with the starting weights' labels merged into train."""
    from edgedistill.teachers.ultralytics_model import UltralyticsTeacher
    from edgedistill.teachers.ultralytics_settings import UltralyticsSettings

    config = project.config
    _check(record, config)
    teacher = UltralyticsTeacher(
        UltralyticsSettings(weights=str(weights), imgsz=settings.imgsz, device=settings.device)
    )
    try:
        _label_as_second_teacher(project, teacher)
    finally:
        teacher.close()
    identity = {
        "dataset": record.version,
        "teacher": teacher.fingerprint,
        "conf": settings.keep_conf,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    root = record.root.with_name(f"{record.root.name}-keep-{digest}")
    if not (root / _COMPLETE).is_file():
        added = _write(project, record, root, config, teacher.fingerprint, settings.keep_conf)
        summary = ", ".join(f"{n} {c}" for n, c in sorted(added.items())) or "none"
        log.warning(
            "keep_known: added the starting weights' confident boxes where the teacher is "
            "silent (%s)",
            summary,
        )
    return root / "data.yaml"


def _check(record: DatasetRecord, config: ProjectConfig) -> None:
    if record.format != "yolo":
        raise EdgedistillError(
            "train.keep_known adds boxes to YOLO detection datasets only; build one with "
            "`edgedistill dataset --format yolo` or set train.keep_known: false"
        )
    names = list(yaml.safe_load(record.data_yaml.read_text())["names"].values())
    if names != config.ontology.student_names:
        raise EdgedistillError(
            f"the ontology changed since dataset {record.version} was built; run "
            "`edgedistill dataset` before training with train.keep_known"
        )


def _label_as_second_teacher(project: Project, teacher: Teacher) -> None:
    """Cache the starting weights' answers; the project's own teacher stays its current one."""
    with project.open_catalog() as catalog:
        current = LabelCache(catalog).last_teacher()
    label_project(project, teacher)
    if current is not None:
        with project.open_catalog() as catalog:
            catalog.execute(
                "UPDATE teachers SET last_used = ? WHERE fingerprint = ?", (now(), current[0])
            )


def _write(
    project: Project,
    record: DatasetRecord,
    root: Path,
    config: ProjectConfig,
    fingerprint: str,
    conf: float,
) -> Counter[str]:
    names = config.ontology.student_names
    label = config.label.model_copy(update={"confidence": conf})
    added: Counter[str] = Counter()
    with project.open_catalog() as catalog:
        cache = LabelCache(catalog)
        for image in sorted((record.root / "images").glob("*/*.jpg")):
            split, frame_id = image.parent.name, image.stem
            link_image(image, root / "images" / split / image.name)
            source = record.root / "labels" / split / f"{frame_id}.txt"
            target = root / "labels" / split / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text() if source.is_file() else ""
            row = catalog.execute(
                "SELECT width, height FROM frames WHERE id = ?", (frame_id,)
            ).fetchone()
            raw = cache.frame_detections(fingerprint, frame_id, cache_keys([], False))
            if split == "train" and row is not None and raw:
                width, height = row
                teacher = read_labels(source, width, height)
                known = resolve(raw, config.ontology, label, False).detections
                extra = silent_class_boxes(teacher, known)
                added.update(names[int(c)] for c in class_ids(extra))
                text += "".join(
                    box_line(int(c), box, width, height) + "\n"
                    for box, c in zip(extra.xyxy, class_ids(extra), strict=True)
                )
            target.write_text(text)
    data = yaml.safe_load(record.data_yaml.read_text())
    (root / "data.yaml").write_text(yaml.safe_dump({**data, "path": str(root)}, sort_keys=False))
    (root / "keep.json").write_text(json.dumps({"added": dict(added)}, indent=2))
    (root / _COMPLETE).write_text(now())
    return added


def silent_class_boxes(teacher: sv.Detections, known: sv.Detections) -> sv.Detections:
    """Boxes of ``known`` whose class the teacher has none of, away from every teacher box."""
    seen = set(class_ids(teacher).tolist())
    silent = np.array([c not in seen for c in class_ids(known)], dtype=np.bool_)
    if len(teacher) and len(known):
        overlap = sv.box_iou_batch(known.xyxy, teacher.xyxy).max(axis=1)
        silent = silent & (overlap < OVERLAP_IOU)
    return subset(known, silent) if len(known) else known
