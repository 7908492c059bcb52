"""Student, starting weights and teacher side by side on one yardstick, and the gate.

``vs_human``: on human labels (``eval --gt`` or ``eval.gt``). ``vs_start``: without human
labels, on the held-out frames (the training frames when nothing is held out, said in its
basis) with the starting weights' own confident detections as the reference, so that a
student that forgot what it started with is still caught.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgedistill.config import ProjectConfig
from edgedistill.detections import class_ids, confidences, subset
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.regression import Regression, find_regressions
from edgedistill.evaluate.teacher_scores import teacher_on_truth
from edgedistill.evaluate.validation import Scoring
from edgedistill.metrics import ScoringProtocol, Yardstick
from edgedistill.project import Project
from edgedistill.weights import is_architecture, resolve_weights
from edgedistill.yardstick import (
    ModelScore,
    Truth,
    predict_ultralytics,
    protocol,
    score,
    truth_from_labels,
)

HUMAN_BASIS = "human labels"
START_BASIS = "the starting weights' confident detections on {} frames"
START_CONF = 0.5
"""Score from which the starting weights' detections stand as the reference (``vs_start``)."""
START_FRAMES = 200
"""Held-out frames the starting weights and the student are compared on, at most."""


@dataclass
class Comparison:
    """The models on one truth, what could not be compared, and the classes that regressed."""

    basis: str
    truth: Truth
    protocol: ScoringProtocol
    models: list[ModelScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    regressions: list[Regression] = field(default_factory=list)

    def role(self, role: str) -> ModelScore | None:
        return next((m for m in self.models if m.role == role), None)

    def to_record(self) -> Yardstick:
        """What ``metrics.json`` keeps of this comparison."""
        student = self.role("student")
        assert student is not None  # every comparison scores the student
        teacher = self.role("teacher")
        return Yardstick.model_validate(
            {
                "basis": self.basis,
                "images": len(self.truth.images),
                "classes": self.truth.names,
                "instances": {
                    name: sum(int((class_ids(i.boxes) == k).sum()) for i in self.truth.images)
                    for k, name in enumerate(self.truth.names)
                },
                "unmatched_labels": self.truth.unmatched,
                "unknown_labels": sorted(self.truth.unmatched),
                "models": {m.role: m.to_json() for m in self.models},
                "notes": self.notes,
                "regressions": [{**asdict(r), "line": r.line()} for r in self.regressions],
                "map50": student.map50,
                "map50_95": student.map50_95,
                "per_class": student.to_json()["per_class"],
                "teacher": teacher.to_json() if teacher else None,
                "protocol": self.protocol.model_dump(),
            }
        )


@dataclass(frozen=True)
class Starting:
    """The weights a student was fine-tuned from, loaded, or why they cannot be compared."""

    name: str | None
    model: Any | None
    note: str | None


def starting_weights(config: ProjectConfig, name: str | None) -> Starting:
    """Load the run's starting weights (``train_runs.model``) by the weights rule."""
    from edgedistill.student import load_student

    if name is None:
        return Starting(
            None,
            None,
            "these weights were not trained in this project, so "
            "there are no starting weights to compare with",
        )
    if is_architecture(name):
        return Starting(
            name,
            None,
            f"the student started from random weights ({name}): "
            "there is nothing it could have forgotten",
        )
    try:
        path = resolve_weights(name, [config.weights_dir])
        return Starting(name, load_student(path), None)
    except EdgedistillError as exc:
        return Starting(name, None, f"the starting weights cannot be loaded ({exc})")


def on_human_labels(
    project: Project, truth: Truth, scoring: Scoring, start: Starting
) -> Comparison:
    """The three models on the human labels, and the classes the student lost."""
    config = project.config
    student, weights, imgsz, device = scoring.model, scoring.weights, scoring.imgsz, scoring.device
    fingerprint = scoring.record.fingerprint
    paths = [i.path for i in truth.images]
    names = list(student.names.values())
    found = predict_ultralytics(student, paths, imgsz, device)
    comparison = Comparison(HUMAN_BASIS, truth, protocol(config.hud.conf))
    comparison.models.append(
        score("student", weights.name, truth, config.ontology, names, found, config.hud.conf)
    )
    _add_start(comparison, config, start, paths, imgsz, device)
    teacher = teacher_on_truth(project, config, fingerprint, truth, device)
    if teacher.score is not None:
        comparison.models.append(teacher.score)
    if teacher.note:
        comparison.notes.append(teacher.note)
    _gate(comparison, config)
    return comparison


def on_starting_detections(
    config: ProjectConfig,
    frames: list[Path],
    scoring: Scoring,
    start: Starting,
    held_out: bool = True,
) -> Comparison | None:
    """Student vs its starting weights where no human labels exist; None without them.

    ``held_out``: the frames are held out (else training frames, said in the basis)."""
    student, weights, imgsz, device = scoring.model, scoring.weights, scoring.imgsz, scoring.device
    if start.model is None or not frames:
        return None
    from PIL import Image

    frames = frames[:START_FRAMES]
    base_names = list(start.model.names.values())
    base = predict_ultralytics(start.model, frames, imgsz, device)
    rows = []
    for path, found in zip(frames, base, strict=True):
        with Image.open(path) as image:
            width, height = image.size
        confident = subset(found, confidences(found) >= START_CONF)
        labels = [
            (base_names[int(c)], tuple(b))
            for b, c in zip(confident.xyxy, class_ids(confident), strict=True)
        ]
        rows.append((path, width, height, labels))
    truth = truth_from_labels(config.ontology, rows)
    student_names = list(student.names.values())
    answers = predict_ultralytics(student, frames, imgsz, device)
    conf = config.hud.conf
    comparison = Comparison(
        START_BASIS.format("held-out" if held_out else "training"),
        truth,
        protocol(conf),
        [
            score("student", weights.name, truth, config.ontology, student_names, answers, conf),
            score(
                "starting weights", str(start.name), truth, config.ontology, base_names, base, conf
            ),
        ],
    )
    _gate(comparison, config)
    return comparison


def _add_start(
    comparison: Comparison,
    config: ProjectConfig,
    start: Starting,
    paths: list[Path],
    imgsz: int,
    device: str,
) -> None:
    if start.model is None:
        if start.note:
            comparison.notes.append(f"Starting weights not scored: {start.note}.")
        return
    names = list(start.model.names.values())
    found = predict_ultralytics(start.model, paths, imgsz, device)
    comparison.models.append(
        score(
            "starting weights",
            str(start.name),
            comparison.truth,
            config.ontology,
            names,
            found,
            config.hud.conf,
        )
    )


def _gate(comparison: Comparison, config: ProjectConfig) -> None:
    base, student = comparison.role("starting weights"), comparison.role("student")
    if base is None or student is None:
        return
    comparison.regressions = find_regressions(
        base,
        student,
        config.eval.regression_tolerance,
        config.eval.regression_min_ap,
        comparison.basis,
    )
