"""Teacher-assistant distillation: SAM3's labels → a larger "assistant" YOLO → the student.

SAM3 cannot teach the student's features (another architecture), but a larger YOLO of
the student's own family, trained on SAM3's labels, can: Ultralytics' ``distill_model``
matches the student's neck features to the assistant's through a projector, with an L2
loss weighted by the assistant's class confidence (``dis`` is its weight). An assistant
fits a student only when both are of one family (YOLO26 with YOLO26, YOLO11 with
YOLO11), do one task and know the same classes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.catalog import Catalog
from edgedistill.config import TrainConfig
from edgedistill.errors import EdgedistillError, UsageError
from edgedistill.project import FinishedRun, Project
from edgedistill.student import load_yolo
from edgedistill.weights import resolve_weights

_FAMILY = re.compile(r"^(yolo(?:v)?\d+)[nsmlx]?(?:-|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Assistant:
    """The model a student is distilled from, and how strongly."""

    weights: Path
    source: str
    """The assistant's training run id, or its weights path when it is not a run here."""
    weight: float

    def train_args(self) -> dict[str, Any]:
        """Ultralytics' training arguments for feature distillation."""
        return {"distill_model": str(self.weights), "dis": self.weight}


@dataclass(frozen=True)
class ModelKind:
    """What decides whether two YOLOs can be distilled into one another."""

    family: str
    task: str
    names: tuple[str, ...]

    def describe(self) -> str:
        return f"a {self.family} {self.task} model"


def find_assistant(
    catalog: Catalog, given: str, weight: float, search: Sequence[Path | None] = ()
) -> Assistant:
    """``given`` as a finished training run of this project (by id), else as weights found
    by the weights rule; one sentence when it is neither."""
    row = catalog.execute(
        "SELECT id, status, weights FROM train_runs WHERE id = ?", (given,)
    ).fetchone()
    if row is not None:
        if row[1] != "done" or not row[2] or not Path(row[2]).is_file():
            raise EdgedistillError(
                f"training run {given} has no finished weights to distil from ({row[1]})"
            )
        return Assistant(Path(row[2]), row[0], weight)
    if not given.endswith(".pt"):
        raise UsageError(
            f"--distill-from {given}: neither a training run of this project nor a .pt file; "
            "see `edgedistill status` for the runs"
        )
    return Assistant(Path(resolve_weights(given, search, download=False)), given, weight)


def model_kind(model: Any) -> ModelKind:
    """Family, task and class names of a loaded Ultralytics model."""
    yaml_file = str((getattr(model.model, "yaml", None) or {}).get("yaml_file", ""))
    match = _FAMILY.match(Path(yaml_file).stem)
    family = match.group(1).lower() if match else (Path(yaml_file).stem or "unknown")
    names = tuple(str(n) for n in model.names.values())
    return ModelKind(family, str(model.task), names)


def check_fit(student: ModelKind, assistant: ModelKind, assistant_name: str) -> None:
    """One sentence (exit 2) when the assistant cannot teach this student's features."""
    if assistant.task != student.task or assistant.family != student.family:
        raise UsageError(
            f"the assistant {assistant_name} is {assistant.describe()} and the student "
            f"{student.describe()}: Ultralytics distils only within one family and task, "
            f"so use a larger {student.family} {student.task} model as the assistant"
        )


def check_classes(assistant: ModelKind, dataset_names: Sequence[str], assistant_name: str) -> None:
    """The assistant must have learnt the dataset's classes (it is trained on the teacher's
    labels first), else its confidence weights the wrong objects."""
    if list(assistant.names) != list(dataset_names):
        shown = ", ".join(assistant.names[:6]) + (" …" if len(assistant.names) > 6 else "")
        raise UsageError(
            f"the assistant {assistant_name} knows other classes ({shown}) than this dataset "
            f"({', '.join(dataset_names)}); train it on this dataset first "
            "(`edgedistill train --model ASSISTANT`, or `train.assistant` in the config)"
        )


def check_distillable(catalog: Catalog, student: Any, assistant: Assistant, dataset: str) -> None:
    """Everything that must hold before a distilled run starts, each as one sentence."""
    kind = model_kind(load_yolo(assistant.weights))
    check_fit(model_kind(student), kind, assistant.source)
    check_classes(kind, dataset_names(catalog, dataset), assistant.source)


def dataset_names(catalog: Catalog, version: str) -> list[str]:
    row = catalog.execute(
        "SELECT class_names FROM datasets WHERE version = ?", (version,)
    ).fetchone()
    return list(json.loads(row[0])) if row else []


def assistant_settings(settings: TrainConfig) -> TrainConfig:
    """The assistant trains like the student (same epochs, size, seed), on its own model."""
    if settings.assistant is None:
        raise UsageError("train.assistant is not set")
    return settings.model_copy(update={"model": settings.assistant, "assistant": None})


def counterpart(project: Project, run: FinishedRun) -> FinishedRun | None:
    """The newest finished run trained the other way with otherwise the same settings
    (model, dataset, epochs, size, seed …): the plain twin of a distilled student, or the
    distilled twin of a plain one."""
    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT id, settings FROM train_runs WHERE dataset = ?", (run.dataset,)
        ).fetchall()
    settings = {row[0]: _schedule(row[1]) for row in rows}
    for other in project.finished_runs(run.dataset):
        other_way = (other.distilled_from is None) == (run.distilled_from is not None)
        if other.id != run.id and other_way and settings[other.id] == settings[run.id]:
            return other
    return None


def _schedule(settings: str) -> dict[str, Any]:
    """A run's training settings without what only distillation sets."""
    values = json.loads(settings)
    return {k: v for k, v in values.items() if k not in ("assistant", "distill_weight")}


@dataclass(frozen=True)
class DistilledRun:
    """A distilled student's run and its assistant, as ``edgedistill status`` lists them."""

    student_run: str
    student_model: str
    status: str
    assistant: str
    distill_weight: float


def relations(catalog: Catalog) -> list[DistilledRun]:
    """Every distilled student with its assistant, for ``edgedistill status``."""
    rows = catalog.execute(
        "SELECT id, model, status, distilled_from, distill_weight FROM train_runs "
        "WHERE distilled_from IS NOT NULL ORDER BY started_at"
    ).fetchall()
    return [DistilledRun(*row) for row in rows]
