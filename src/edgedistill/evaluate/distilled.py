"""The report's distillation table: the student with and without feature distillation.

When the evaluated student was distilled from an assistant (or has a distilled twin),
its counterpart — the same model trained on the same dataset the other way — is scored
on the same split (and the same human labels), so the two stand side by side.
"""

from __future__ import annotations

from edgedistill.distill import counterpart
from edgedistill.evaluate.validation import Scoring, validate
from edgedistill.metrics import (
    Comparison,
    Distillation,
    DistilledStudent,
    MapPair,
    Yardstick,
)
from edgedistill.project import FinishedRun, Project
from edgedistill.student import load_student


def compare_distillation(
    project: Project,
    scoring: Scoring,
    split: str,
    vs_teacher: Comparison,
    vs_human: Yardstick | None,
) -> Distillation | None:
    """Both students' mAP, the distilled one first; None when there is nothing to compare.

    The counterpart is validated here on the same split of the teacher's labels; the
    human-label figures are the evaluated student's only.
    """
    run = project.run_of(scoring.weights)
    if run is None:
        return None
    other = counterpart(project, run)
    if other is None and run.distilled_from is None:
        return None
    rows = [_row(run, vs_teacher, vs_human)]
    if other is not None:
        model = load_student(str(other.weights))
        twin = scoring.directory / "twin"
        theirs = validate(
            model, scoring.record.data_yaml, split, scoring.imgsz, scoring.device, twin
        )
        rows.append(_row(other, theirs, None))
    rows.sort(key=lambda row: row.distilled_from is None)
    return Distillation(students=rows)


def _row(run: FinishedRun, vs_teacher: Comparison, vs_human: Yardstick | None) -> DistilledStudent:
    def pair(figures: Comparison | Yardstick | None) -> MapPair | None:
        if figures is None:
            return None
        return MapPair(map50=round(figures.map50, 4), map50_95=round(figures.map50_95, 4))

    return DistilledStudent(
        run=run.id,
        weights=str(run.weights),
        distilled_from=run.distilled_from,
        distill_weight=run.distill_weight,
        vs_teacher=pair(vs_teacher),
        vs_human=pair(vs_human),
    )
