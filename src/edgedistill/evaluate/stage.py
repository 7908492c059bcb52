"""The eval stage: the student against the teacher's labels (and human labels), its speed
at 480p, and a report a person wants to read.

Accuracy comes from Ultralytics' own validator (mAP50, mAP50-95, per-class P/R/AP,
confusion matrix); teacher-vs-human accuracy from pycocotools' COCOeval.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgedistill.catalog import now
from edgedistill.dataset.gallery import annotate, thumbnail
from edgedistill.dataset.labels import read_yolo_labels
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.human import against_human_labels
from edgedistill.evaluate.report import write_reports
from edgedistill.evaluate.speed import measure_speed
from edgedistill.project import Project
from edgedistill.train import latest_dataset, latest_weights, load_student, pick_device

REPORTS_DIR = "reports"


@dataclass
class EvalReport:
    directory: Path
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def html(self) -> Path:
        return self.directory / "report.html"


def evaluate(
    project: Project,
    weights: Path | None = None,
    gt: Path | None = None,
    speed: bool = True,
    device: str = "auto",
    speed_runs: int = 20,
) -> EvalReport:
    """Measure the student; write metrics.json, report.md and report.html."""
    weights = Path(weights) if weights else latest_weights(project)
    if not weights.is_file():
        raise EdgedistillError(f"{weights}: no such weights file")
    config = project.load_config()
    with project.open_catalog() as catalog:
        row = catalog.execute(
            "SELECT dataset FROM train_runs WHERE weights = ?", (str(weights),)
        ).fetchone()
        record = latest_dataset(catalog, row[0] if row else None)
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    report = EvalReport(project.root / REPORTS_DIR / f"{stamp}-{weights.parent.parent.name}")
    report.directory.mkdir(parents=True, exist_ok=True)
    device = pick_device(device)
    model = load_student(str(weights))
    split = "test" if (record.root / "images" / "test").is_dir() else "val"
    imgsz = int(model.ckpt.get("train_args", {}).get("imgsz", 640)) if model.ckpt else 640
    metrics: dict[str, Any] = {
        "weights": str(weights),
        "dataset": record.version,
        "teacher": record.fingerprint,
        "split": split,
        "imgsz": imgsz,
        "created_at": now(),
    }
    metrics["vs_teacher"] = validate(
        model, record.data_yaml, split, imgsz, device, report.directory / "vs_teacher"
    )
    metrics["vs_teacher"]["sibling_confusions"] = sibling_confusions(
        metrics["vs_teacher"], config.ontology
    )
    if gt is not None:
        metrics["vs_human"] = against_human_labels(
            project, model, gt, imgsz, device, report.directory / "vs_human", record.fingerprint
        )
    metrics["model"] = model_facts(model, weights, imgsz)
    if speed:
        metrics["speed"] = measure_speed(
            model, weights, record, device, speed_runs, report.directory
        )
    samples = side_by_side(model, record, split, imgsz, device, report.directory)
    report.metrics = metrics
    (report.directory / "metrics.json").write_text(json.dumps(metrics, indent=2))
    write_reports(report.directory, metrics, samples)
    return report


def reports_of(project: Project, weights: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """``(folder, metrics)`` of each evaluation of these weights, newest first."""
    for path in sorted((project.root / REPORTS_DIR).glob("*/metrics.json"), reverse=True):
        metrics = json.loads(path.read_text())
        if metrics.get("weights") == str(weights):
            yield path.parent, metrics


def validate(
    model: Any, data: Path, split: str, imgsz: int, device: str, directory: Path
) -> dict[str, Any]:
    """Ultralytics' validator on one split: overall and per-class figures, confusions."""
    results = model.val(
        data=str(data),
        split=split,
        imgsz=imgsz,
        batch=8,
        device=device,
        plots=True,
        project=str(directory.parent),
        name=directory.name,
        exist_ok=True,
        verbose=False,
    )
    box = results.box
    names = results.names
    per_class = {}
    for i, class_index in enumerate(box.ap_class_index):
        per_class[names[int(class_index)]] = {
            "precision": float(box.p[i]),
            "recall": float(box.r[i]),
            "ap50": float(box.ap50[i]),
            "ap50_95": float(box.ap[i]),
        }
    matrix = results.confusion_matrix.matrix
    return {
        "map50": float(box.map50),
        "map50_95": float(box.map),
        "precision": float(box.mp),
        "recall": float(box.mr),
        "per_class": per_class,
        "confusion_matrix": {
            "labels": [*names.values(), "background"],
            "rows_predicted_columns_true": matrix.astype(int).tolist(),
        },
        "plots": sorted(str(p.relative_to(directory.parent)) for p in directory.glob("*.png")),
    }


def sibling_confusions(result: dict[str, Any], ontology: Any) -> list[dict[str, Any]]:
    """Confusions between related classes (a class and its parent, or two children of one)."""
    labels = result["confusion_matrix"]["labels"][:-1]
    matrix = result["confusion_matrix"]["rows_predicted_columns_true"]
    related = []
    for true_index, true_name in enumerate(labels):
        for predicted_index, predicted_name in enumerate(labels):
            count = matrix[predicted_index][true_index]
            if true_index == predicted_index or not count:
                continue
            if _related(ontology, true_name, predicted_name):
                related.append({"true": true_name, "predicted": predicted_name, "count": count})
    return sorted(related, key=lambda c: -c["count"])


def _related(ontology: Any, a: str, b: str) -> bool:
    classes = {ontology.output_name(c.name): c for c in ontology.classes}
    if a not in classes or b not in classes:
        return False
    parent_a, parent_b = classes[a].parent, classes[b].parent
    return (
        (parent_a is not None and ontology.output_name(parent_a) == b)
        or (parent_b is not None and ontology.output_name(parent_b) == a)
        or (parent_a is not None and parent_a == parent_b)
    )


def model_facts(model: Any, weights: Path, imgsz: int) -> dict[str, Any]:
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    return {
        "parameters": int(get_num_params(model.model)),
        "gflops": round(float(get_flops(model.model, imgsz)), 2),
        "weights_mb": round(weights.stat().st_size / 1e6, 2),
        "classes": list(model.names.values()),
    }


def side_by_side(
    model: Any, record: Any, split: str, imgsz: int, device: str, directory: Path, count: int = 4
) -> list[str]:
    """A few held-out frames: the teacher's labels on the left, the student's on the right."""
    names = list(model.names.values())
    images = sorted((record.root / "images" / split).glob("*.jpg"))[:count]
    written = []
    for image_path in images:
        image = cv2.imread(str(image_path))
        label = record.root / "labels" / split / f"{image_path.stem}.txt"
        teacher = read_yolo_labels(label, image.shape[1], image.shape[0])
        student = _student_detections(model, image, imgsz, device)
        left = thumbnail(annotate(image, teacher, names))
        right = thumbnail(annotate(image, student, names))
        name = f"sample_{image_path.stem[:12]}.jpg"
        cv2.imwrite(str(directory / name), np.hstack([left, right]))
        written.append(name)
    return written


def _student_detections(model: Any, image: np.ndarray, imgsz: int, device: str) -> Any:
    import supervision as sv

    result = model.predict(image, imgsz=imgsz, device=device, verbose=False)[0]
    detections = sv.Detections.from_ultralytics(result)
    detections.mask = None
    rles = np.empty(len(detections), dtype=object)
    detections.data = {"rle": rles}
    return detections
