"""The eval stage: the student against the teacher's labels (and human labels), its speed
at 480p, and a report a person wants to read.

Student-vs-teacher accuracy comes from Ultralytics' own validator (mAP50, mAP50-95,
per-class P/R/AP, confusion matrix). On human labels the student, its starting weights
and the teacher are scored on one yardstick (:mod:`edgedistill.evaluate.compare`), and a
class the student lost against its starting weights is flagged and recorded on its run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from edgedistill.catalog import now
from edgedistill.config import ProjectConfig
from edgedistill.dataset.gallery import annotate, thumbnail
from edgedistill.dataset.labels import read_yolo_labels
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.by_name import same_classes, vs_teacher_by_name
from edgedistill.evaluate.compare import (
    Starting,
    on_human_labels,
    on_starting_detections,
    starting_weights,
)
from edgedistill.evaluate.human import HumanLabels, check_ground_truth, human_truth
from edgedistill.evaluate.regression import gate_lines, record_regressions, regressions_of
from edgedistill.evaluate.report import write_reports
from edgedistill.evaluate.speed import SPEED_SIZE, measure_speed
from edgedistill.label.cache import LabelCache, TeacherRecord
from edgedistill.logs import ultralytics_silenced
from edgedistill.project import Project
from edgedistill.train import (
    DatasetRecord,
    latest_dataset,
    latest_weights,
    load_student,
    pick_device,
    provenance_caveats,
)

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
    """Measure the student; write metrics.json, report.md and report.html.

    Inputs are checked before anything runs, and the report folder appears only
    once it is complete: a failure leaves no half-written report behind.
    """
    weights = Path(weights) if weights else latest_weights(project)
    if not weights.is_file():
        raise EdgedistillError(f"{weights}: no such weights file")
    config = project.load_config()
    gt = gt if gt is not None else config.eval.gt
    human = check_ground_truth(gt) if gt is not None else None
    with project.open_catalog() as catalog:
        row = catalog.execute(
            "SELECT dataset, model FROM train_runs WHERE weights = ?", (str(weights),)
        ).fetchone()
        record = latest_dataset(catalog, row[0] if row else None)
        teacher = LabelCache(catalog).about(record.fingerprint)
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    final = project.root / REPORTS_DIR / f"{stamp}-{weights.parent.parent.name}"
    work = final.with_name(f".{final.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        start = starting_weights(config, row[1] if row else None)
        metrics, samples = _measure(
            project, config, weights, record, human, start, speed, device, speed_runs, work
        )
        metrics["teacher_description"] = teacher.description if teacher else record.fingerprint
        metrics["caveats"] = _caveats(teacher, row[1] if row else None, metrics)
        metrics["regressions"] = gate_lines(metrics)
        (work / "metrics.json").write_text(json.dumps(metrics, indent=2))
        write_reports(work, metrics, samples)
        work.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if row is not None:
        record_regressions(project, weights, regressions_of(metrics))
    return EvalReport(final, metrics)


def _measure(
    project: Project,
    config: ProjectConfig,
    weights: Path,
    record: DatasetRecord,
    human: HumanLabels | None,
    start: Starting,
    speed: bool,
    device: str,
    speed_runs: int,
    directory: Path,
) -> tuple[dict[str, Any], list[str]]:
    """Every figure of the report, with plots and sample frames written to ``directory``."""
    device = pick_device(device)
    model = load_student(str(weights))
    split, held_out = _scored_split(record.root)
    imgsz = int(model.ckpt.get("train_args", {}).get("imgsz", 640)) if model.ckpt else 640
    metrics: dict[str, Any] = {
        "weights": str(weights),
        "dataset": record.version,
        "teacher": record.fingerprint,
        "split": split,
        "held_out": held_out,
        "imgsz": imgsz,
        "created_at": now(),
    }
    shown = split if held_out else "train"  # without a val folder, val is the train folder
    metrics["vs_teacher"] = _vs_teacher(
        config, record, split, shown, model, imgsz, device, directory
    )
    if human is not None:
        truth = human_truth(config.ontology, human)
        metrics["vs_human"] = on_human_labels(
            project, config, truth, model, weights, start, record.fingerprint, imgsz, device
        ).to_json()
    else:
        frames = sorted((record.root / "images" / shown).glob("*.jpg"))
        vs_start = on_starting_detections(
            config, frames, model, weights, start, imgsz, device, held_out
        )
        if vs_start is not None:
            metrics["vs_start"] = vs_start.to_json()
    metrics["model"] = model_facts(model, weights, imgsz, SPEED_SIZE)
    if speed:
        metrics["speed"] = measure_speed(model, weights, record, device, speed_runs, directory)
    samples = side_by_side(model, record, shown, imgsz, device, directory)
    return metrics, samples


def _vs_teacher(
    config: ProjectConfig,
    record: DatasetRecord,
    split: str,
    shown: str,
    model: Any,
    imgsz: int,
    device: str,
    directory: Path,
) -> dict[str, Any]:
    """Ultralytics' validator on the teacher's labels; by name for another class list."""
    names = list(yaml.safe_load(record.data_yaml.read_text())["names"].values())
    if not same_classes(model, names):  # the validator would match classes by index
        return vs_teacher_by_name(config.ontology, record.root, shown, names, model, imgsz, device)
    result = validate(model, record.data_yaml, split, imgsz, device, directory / "vs_teacher")
    result["sibling_confusions"] = sibling_confusions(result, config.ontology)
    return result


def _scored_split(root: Path) -> tuple[str, bool]:
    """The split scored (test, else val) and whether it holds frames training never saw."""
    if (root / "images" / "test").is_dir():
        return "test", True
    return "val", (root / "images" / "val").is_dir()


def _caveats(
    teacher: TeacherRecord | None, student_model: str | None, metrics: dict[str, Any]
) -> list[str]:
    """Stand-ins, random weights, and scoring on the training frames, said up front."""
    caveats = provenance_caveats(teacher, student_model)
    if not metrics["held_out"]:
        caveats.append(
            "Scored on the training frames: no source could be held out, so these figures "
            "are optimistic. Add more videos or images."
        )
    if metrics["vs_teacher"].get("matched_by_name"):
        caveats.append(
            "These weights' classes are not the dataset's: their figures match classes by "
            "name through the ontology (pycocotools), without precision or confusion matrix."
        )
    return caveats


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
    with ultralytics_silenced():  # its table and paths repeat what the report says
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


def model_facts(
    model: Any, weights: Path, imgsz: int, flops_size: tuple[int, int]
) -> dict[str, Any]:
    """Parameters, size, classes, and GFLOPs at ``flops_size`` (height, width): the input
    the speed is measured at."""
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    return {
        "parameters": int(get_num_params(model.model)),
        "gflops": round(float(get_flops(model.model, list(flops_size))), 2),
        "gflops_input": f"{flops_size[1]}x{flops_size[0]}",
        "train_imgsz": imgsz,
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
        left = _captioned(thumbnail(annotate(image, teacher, names)), "teacher")
        right = _captioned(thumbnail(annotate(image, student, names)), "student")
        name = f"sample_{image_path.stem[:12]}.jpg"
        cv2.imwrite(str(directory / name), np.hstack([left, right]))
        written.append(name)
    return written


def _captioned(image: np.ndarray, text: str) -> np.ndarray:
    """``text`` in a bar above the image, so that a pair reads without its caption."""
    bar = np.full((24, image.shape[1], 3), 32, dtype=np.uint8)
    cv2.putText(bar, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, image])


def _student_detections(model: Any, image: np.ndarray, imgsz: int, device: str) -> Any:
    import supervision as sv

    result = model.predict(image, imgsz=imgsz, device=device, verbose=False)[0]
    detections = sv.Detections.from_ultralytics(result)
    detections.mask = None
    rles = np.empty(len(detections), dtype=object)
    detections.data = {"rle": rles}
    return detections
