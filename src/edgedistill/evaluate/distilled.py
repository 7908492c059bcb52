"""The report's distillation table: the student with and without feature distillation.

When the evaluated student was distilled from an assistant (or has a distilled twin),
its counterpart — the same model trained on the same dataset the other way — is scored
on the same split (and the same human labels), so the two stand side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgedistill.distill import RunRelation, counterpart, run_of
from edgedistill.project import Project

_FIGURES = ("map50", "map50_95")


def compare_distillation(
    project: Project,
    weights: Path,
    measured: dict[str, Any],
    data: Path,
    split: str,
    imgsz: int,
    device: str,
    directory: Path,
) -> dict[str, Any] | None:
    """Both students' mAP, the distilled one first; None when there is nothing to compare.

    ``measured`` holds the evaluated student's figures (``vs_teacher``, maybe
    ``vs_human``); the counterpart is validated here on ``data``'s ``split`` and on the
    human-label dataset written under ``directory / "vs_human"``.
    """
    from edgedistill.evaluate.stage import validate
    from edgedistill.train import load_student

    run = run_of(project, weights)
    if run is None:
        return None
    other = counterpart(project, run)
    if other is None and run.distilled_from is None:
        return None
    rows = [_row(run, measured)]
    if other is not None:
        model = load_student(str(other.weights))
        figures = {"vs_teacher": validate(model, data, split, imgsz, device, directory / "twin")}
        human_data = directory / "vs_human" / "dataset" / "data.yaml"
        if "vs_human" in measured and human_data.is_file():
            figures["vs_human"] = validate(
                model, human_data, "test", imgsz, device, directory / "twin_vs_human"
            )
        rows.append(_row(other, figures))
    rows.sort(key=lambda row: row["distilled_from"] is None)
    return {"students": rows}


def _row(run: RunRelation, figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": run.id,
        "weights": str(run.weights),
        "distilled_from": run.distilled_from,
        "distill_weight": run.distill_weight,
        **{
            key: {name: round(float(figures[key][name]), 4) for name in _FIGURES}
            for key in ("vs_teacher", "vs_human")
            if key in figures
        },
    }
