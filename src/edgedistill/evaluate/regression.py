"""The regression gate: a class the starting weights detected that the student lost.

Against human labels when there are any; without them, against the starting weights'
own confident detections on held-out frames, or on the training frames when nothing is
held out (what the starting model saw there, the student should still see). A class
counts when the starting weights reach ``eval.regression_min_ap`` AP50 on at least
:data:`MIN_BOXES` boxes of it, and regresses when the student loses more than
``eval.regression_tolerance`` of that AP50.

The AP compared is **name-matched**: for a scored class such as ``car``, the student's AP
for ``car`` against the starting weights' AP for ``car``, both from the yardstick
(:mod:`edgedistill.evaluate.yardstick`) on the same images. A model's detections count for
``car`` when its class is named ``car`` through the ontology (class name, prompt or
rename: never its index, which differs between a COCO model and a student), or is a
sub-class of ``car`` (``police car``, ``van``) that the truth does not score on its own.
Those are merged into ``car`` and only then de-duplicated (class-aware NMS at IoU 0.7),
for every model alike. Why: a student knows sub-classes its starting weights never had.
Scoring only its class named ``car`` would charge it for every police car it rightly
calls a police car; merging without suppressing would charge it a false positive for each
object it gives two names (``car`` and ``police car`` on one car), which the starting
weights, with one name per object, can never be charged. Either way the gate would cry
regression where the student found the same objects as well as before.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edgedistill.evaluate.yardstick import ModelScore
from edgedistill.metrics import EvalMetrics
from edgedistill.project import Project

MIN_BOXES = 3
"""Fewer boxes of a class than this make its AP too noisy to judge."""


@dataclass(frozen=True)
class Regression:
    """A class whose AP50 fell from ``before`` (starting weights) to ``after`` (student)."""

    name: str
    before: float
    after: float
    boxes: int
    basis: str

    @property
    def loss(self) -> float:
        return 1.0 - self.after / self.before

    def line(self) -> str:
        return (
            f"regressed: {self.name} AP50 {self.before:.3f} -> {self.after:.3f} "
            f"(-{self.loss:.0%}) against {self.basis} ({self.boxes} boxes); the starting "
            "weights found it better than the student does"
        )


def find_regressions(
    base: ModelScore, student: ModelScore, tolerance: float, min_ap: float, basis: str
) -> list[Regression]:
    """Classes the starting weights detected and the student lost more than ``tolerance`` of."""
    found = []
    for name, before in base.per_class.items():
        if before is None or before.instances < MIN_BOXES or before.ap50 < min_ap:
            continue
        after = student.per_class.get(name)
        ap = after.ap50 if after is not None else 0.0
        if ap < before.ap50 * (1.0 - tolerance):
            found.append(Regression(name, before.ap50, ap, before.instances, basis))
    return found


def record_regressions(
    project: Project, weights: Path, regressions: list[Regression] | None
) -> None:
    """Mark the training run of these weights as regressed, or as checked and clean."""
    if regressions is None:  # an earlier check stands
        return
    found = json.dumps([asdict(r) for r in regressions])
    with project.open_catalog() as catalog:
        catalog.execute(
            "UPDATE train_runs SET regressions = ? WHERE weights = ?", (found, str(weights))
        )


def regressions_of(metrics: EvalMetrics) -> list[Regression] | None:
    """The regressions an evaluation found; None when nothing could be checked (no
    starting weights to compare with)."""
    comparison = metrics.vs_human or metrics.vs_start
    if comparison is None or "starting weights" not in comparison.models:
        return None
    return [Regression(r.name, r.before, r.after, r.boxes, r.basis) for r in comparison.regressions]


def gate_lines(metrics: EvalMetrics) -> list[str]:
    """One line per regressed class, for the report and the terminal."""
    return [r.line() for r in regressions_of(metrics) or []]
