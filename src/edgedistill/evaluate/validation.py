"""Ultralytics' validator on one split of a YOLO dataset, as plain figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.logs import ultralytics_silenced
from edgedistill.metrics import ClassScores, Comparison, ConfusionMatrix
from edgedistill.project import DatasetRecord


@dataclass(frozen=True)
class Scoring:
    """One evaluation: the loaded student, what it is scored on, where figures go."""

    weights: Path
    model: Any
    record: DatasetRecord
    device: str
    imgsz: int
    directory: Path


def validate(
    model: Any, data: Path, split: str, imgsz: int, device: str, directory: Path
) -> Comparison:
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
    per_class = {
        names[int(class_index)]: ClassScores(
            precision=float(box.p[i]),
            recall=float(box.r[i]),
            ap50=float(box.ap50[i]),
            ap50_95=float(box.ap[i]),
        )
        for i, class_index in enumerate(box.ap_class_index)
    }
    matrix = ConfusionMatrix(
        labels=[*names.values(), "background"],
        rows_predicted_columns_true=results.confusion_matrix.matrix.astype(int).tolist(),
    )
    return Comparison(
        map50=float(box.map50),
        map50_95=float(box.map),
        precision=float(box.mp),
        recall=float(box.mr),
        per_class=per_class,
        confusion_matrix=matrix,
        plots=sorted(str(p.relative_to(directory.parent)) for p in directory.glob("*.png")),
    )
