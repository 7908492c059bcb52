"""The eval stage: the student against the teacher's labels (and human labels), its speed
at 480p, and a report a person wants to read.

Student-vs-teacher accuracy comes from Ultralytics' own validator (mAP50, mAP50-95,
per-class P/R/AP, confusion matrix). On human labels the student, its starting weights
and the teacher are scored on one yardstick (:mod:`edgedistill.evaluate.compare`), and a
class the student lost against its starting weights is flagged and recorded on its run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import yaml

from edgedistill.catalog import now
from edgedistill.config import ProjectConfig
from edgedistill.devices import resolve_device
from edgedistill.drawing import annotate, captioned, thumbnail
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.by_name import by_name, on_teacher_labels, same_classes
from edgedistill.evaluate.compare import (
    Starting,
    on_human_labels,
    on_starting_detections,
    starting_weights,
)
from edgedistill.evaluate.distilled import compare_distillation
from edgedistill.evaluate.regression import gate_lines, record_regressions, regressions_of
from edgedistill.evaluate.report import write_reports
from edgedistill.evaluate.speed import measure_speed
from edgedistill.evaluate.validation import Scoring, validate
from edgedistill.ground_truth import HumanLabels, check_ground_truth
from edgedistill.metrics import Comparison, EvalMetrics, ModelFacts, RelatedConfusion
from edgedistill.ontology import Ontology
from edgedistill.project import DatasetRecord, HoldOutSummary, Project
from edgedistill.student import PHONE_INPUT, load_student, provenance_caveats
from edgedistill.teachers.cache import LabelCache, TeacherRecord
from edgedistill.untrained import ensure_masked
from edgedistill.yolo_format import read_labels


@dataclass
class EvalReport:
    directory: Path
    metrics: EvalMetrics

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
    weights = Path(weights) if weights else project.latest_weights()
    if not weights.is_file():
        raise EdgedistillError(f"{weights}: no such weights file")
    gt = gt if gt is not None else project.config.eval.gt
    human = check_ground_truth(gt) if gt is not None else None
    trained = project.run_of(weights)
    if trained is not None:  # a run trained before masking existed is masked first
        ensure_masked(trained.directory)
    record = project.dataset(trained.dataset if trained else None)
    with project.open_catalog() as catalog:
        teacher = LabelCache(catalog).about(record.fingerprint)
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    final = project.reports_dir / f"{stamp}-{weights.parent.parent.name}"
    work = final.with_name(f".{final.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        model = load_student(str(weights))
        imgsz = int(model.ckpt.get("train_args", {}).get("imgsz", 640)) if model.ckpt else 640
        run = Scoring(weights, model, record, resolve_device(device), imgsz, work)
        start = starting_weights(project.config, trained.model if trained else None)
        metrics = _measure(project, run, human, start, speed_runs if speed else 0)
        metrics = metrics.model_copy(
            update={
                "teacher_description": teacher.description if teacher else record.fingerprint,
                "caveats": _caveats(
                    teacher, trained.model if trained else None, metrics, record.holdout()
                ),
                "regressions": gate_lines(metrics),
            }
        )
        samples = side_by_side(run, "train" if not metrics.held_out else metrics.split)
        (work / "metrics.json").write_text(metrics.to_json())
        write_reports(work, metrics, samples)
        work.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if trained is not None:
        record_regressions(project, weights, regressions_of(metrics))
    return EvalReport(final, metrics)


def _measure(
    project: Project,
    run: Scoring,
    human: HumanLabels | None,
    start: Starting,
    speed_runs: int,
) -> EvalMetrics:
    """Every figure of the report, with plots written to the run's folder; no speed
    figures when ``speed_runs`` is 0."""
    split, held_out_by = _scored_split(run.record)
    held_out = held_out_by is not None
    shown = split if held_out else "train"  # without a val folder, val is the train folder
    vs_teacher = _vs_teacher(project.config, run, split, shown)
    vs_human = vs_start = None
    if human is not None:
        truth = human.truth(project.config.ontology)
        vs_human = on_human_labels(project, truth, run, start).to_record()
    else:
        frames = sorted((run.record.root / "images" / shown).glob("*.jpg"))
        found = on_starting_detections(project.config, frames, run, start, held_out)
        vs_start = found.to_record() if found is not None else None
    distillation = compare_distillation(project, run, split, vs_teacher, vs_human)
    speed = None
    if speed_runs:
        speed = measure_speed(
            run.model, run.weights, run.record, run.device, speed_runs, run.directory
        )
    return EvalMetrics(
        weights=str(run.weights),
        dataset=run.record.version,
        teacher=run.record.fingerprint,
        split=split,
        held_out=held_out,
        held_out_by=held_out_by,
        imgsz=run.imgsz,
        created_at=now(),
        vs_teacher=vs_teacher,
        vs_human=vs_human,
        vs_start=vs_start,
        model=model_facts(run.model, run.weights, run.imgsz, PHONE_INPUT),
        speed=speed,
        distillation=distillation,
    )


def _vs_teacher(config: ProjectConfig, run: Scoring, split: str, shown: str) -> Comparison:
    """Ultralytics' validator on the teacher's labels; by name for another class list. The
    false positives per class come from the yardstick on the same labels."""
    names = list(yaml.safe_load(run.record.data_yaml.read_text())["names"].values())
    scored = on_teacher_labels(config.ontology, run, shown, names, config.hud.conf)
    if not same_classes(run.model, names):  # the validator would match classes by index
        return by_name(scored)
    result = validate(
        run.model, run.record.data_yaml, split, run.imgsz, run.device, run.directory / "vs_teacher"
    )
    related = sibling_confusions(result, config.ontology)
    return result.model_copy(
        update={"sibling_confusions": related, "false_positives": scored.false_positives}
    )


def _scored_split(record: DatasetRecord) -> tuple[str, Literal["sources", "time segments"] | None]:
    """The split scored (test, else val) and how it was held out; None when nothing was
    (``val`` is then the training frames)."""
    split = record.scored_split()
    if split is None:
        return "val", None
    return split, "time segments" if record.holdout().by == "time segments" else "sources"


def _caveats(
    teacher: TeacherRecord | None,
    student_model: str | None,
    metrics: EvalMetrics,
    holdout: HoldOutSummary,
) -> list[str]:
    """Stand-ins, random weights, scoring on the training frames or on time segments of the
    training videos, and classes matched by name, said up front."""
    caveats = provenance_caveats(teacher.caveat if teacher else None, student_model)
    if not metrics.held_out:
        caveats.append(
            f"Scored on the training frames ({holdout.sentence}), so these figures are "
            "optimistic. Add more videos or images."
        )
    elif metrics.held_out_by == "time segments":
        caveats.append(
            f"Held out by time, not by source: the {metrics.split} frames are other moments of "
            "the footage the student trained on, nearer to its training frames than new "
            f"footage would be, so these figures are likely optimistic. Split: {holdout.sentence}."
        )
    if metrics.vs_teacher.matched_by_name:
        caveats.append(
            "These weights' classes are not the dataset's: their figures match classes by "
            "name through the ontology (pycocotools), without precision or confusion matrix."
        )
    return caveats


def sibling_confusions(result: Comparison, ontology: Ontology) -> list[RelatedConfusion]:
    """Confusions between related classes (a class and its parent, or two children of one)."""
    if result.confusion_matrix is None:  # classes matched by name: no confusion matrix
        return []
    labels = result.confusion_matrix.labels[:-1]
    matrix = result.confusion_matrix.rows_predicted_columns_true
    related = []
    for true_index, true_name in enumerate(labels):
        for predicted_index, predicted_name in enumerate(labels):
            count = matrix[predicted_index][true_index]
            if true_index == predicted_index or not count:
                continue
            if _related(ontology, true_name, predicted_name):
                related.append(
                    RelatedConfusion(true=true_name, predicted=predicted_name, count=count)
                )
    return sorted(related, key=lambda c: -c.count)


def _related(ontology: Ontology, a: str, b: str) -> bool:
    classes = {ontology.output_name(c.name): c for c in ontology.classes}
    if a not in classes or b not in classes:
        return False
    parent_a, parent_b = classes[a].parent, classes[b].parent
    return (
        (parent_a is not None and ontology.output_name(parent_a) == b)
        or (parent_b is not None and ontology.output_name(parent_b) == a)
        or (parent_a is not None and parent_a == parent_b)
    )


def model_facts(model: Any, weights: Path, imgsz: int, flops_size: tuple[int, int]) -> ModelFacts:
    """Parameters, size, classes, and GFLOPs at ``flops_size`` (height, width): the input
    the speed is measured at."""
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    return ModelFacts(
        parameters=int(get_num_params(model.model)),
        gflops=round(float(get_flops(model.model, list(flops_size))), 2),
        gflops_input=f"{flops_size[1]}x{flops_size[0]}",
        train_imgsz=imgsz,
        weights_mb=round(weights.stat().st_size / 1e6, 2),
        classes=list(model.names.values()),
    )


def side_by_side(run: Scoring, split: str, count: int = 4) -> list[str]:
    """A few frames of ``split`` (held out, else training frames): the teacher's labels on
    the left, the student's on the right."""
    names = list(run.model.names.values())
    images = sorted((run.record.root / "images" / split).glob("*.jpg"))[:count]
    written = []
    for image_path in images:
        image = cv2.imread(str(image_path))
        if image is None:  # a frame removed since the dataset was written
            continue
        label = run.record.root / "labels" / split / f"{image_path.stem}.txt"
        teacher = read_labels(label, image.shape[1], image.shape[0])
        student = _student_detections(run.model, image, run.imgsz, run.device)
        left = captioned(thumbnail(annotate(image, teacher, names)), "teacher")
        right = captioned(thumbnail(annotate(image, student, names)), "student")
        name = f"sample_{image_path.stem[:12]}.jpg"
        cv2.imwrite(str(run.directory / name), np.hstack([left, right]))
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
