"""The train stage: an Ultralytics YOLO student on the latest dataset.

Each run lives in ``runs/train/<id>/`` with Ultralytics' weights and a
``run.json`` (settings, dataset version, teacher fingerprint); the catalog keeps
the runs, and the latest finished one is what later commands use by default.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgedistill.catalog import Catalog, now
from edgedistill.config import TrainConfig
from edgedistill.devices import resolve_device
from edgedistill.errors import EdgedistillError, Interrupted
from edgedistill.label.cache import TeacherRecord
from edgedistill.project import Project
from edgedistill.weights import WEIGHTS_DIR_VARIABLE, is_architecture, resolve_weights

log = logging.getLogger(__name__)

RUNS_DIR = Path("runs") / "train"
PRETRAINED_HINT = (
    f"pretrained weights train far better: put yolo11n.pt in a folder named by "
    f"{WEIGHTS_DIR_VARIABLE}, run once with internet so that Ultralytics downloads it, or "
    "download it from github.com/ultralytics/assets/releases and pass its path"
)


@dataclass(frozen=True)
class DatasetRecord:
    version: str
    format: str
    root: Path
    fingerprint: str

    @property
    def data_yaml(self) -> Path:
        return self.root / "data.yaml"


@dataclass(frozen=True)
class TrainRun:
    id: str
    dataset: str
    model: str
    directory: Path
    weights: Path | None
    status: str
    metrics: dict[str, float]


def latest_dataset(catalog: Catalog, version: str | None = None) -> DatasetRecord:
    query = "SELECT version, format, path, fingerprint FROM datasets"
    row = catalog.execute(
        query + (" WHERE version = ?" if version else " ORDER BY created_at DESC LIMIT 1"),
        (version,) if version else (),
    ).fetchone()
    if row is None:
        if version:
            raise EdgedistillError(
                f"no dataset {version} in this project; see `edgedistill status`"
            )
        raise EdgedistillError("no dataset in this project yet; run `edgedistill dataset` first")
    return DatasetRecord(row[0], row[1], Path(row[2]), row[3])


def latest_weights(project: Project) -> Path:
    """Best weights of the most recent finished run."""
    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT weights FROM train_runs WHERE status = 'done' ORDER BY finished_at DESC"
        ).fetchall()
    for row in rows:
        if row[0] and Path(row[0]).is_file():
            return Path(row[0])
    raise EdgedistillError("no trained student in this project; run `edgedistill train` first")


def train_student(
    project: Project,
    settings: TrainConfig,
    dataset: str | None = None,
    resume: bool = False,
    search: Sequence[Path | None] = (),
) -> TrainRun:
    """Train (or resume) a student; the run is recorded whether it finishes or fails.

    ``search`` adds folders where ``settings.model`` is looked for by name (the
    config's ``weights_dir``).
    """
    with project.open_catalog() as catalog:
        if resume:
            return _resume(project, catalog)
        record = latest_dataset(catalog, dataset)
        _check_compatible(settings.model, record)
        weights = resolve_weights(settings.model, search)
        model = load_student(weights)
        data = _training_data(project, catalog, record, Path(weights), settings)
        run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{Path(settings.model).stem}"
        directory = project.root / RUNS_DIR / run_id
        device = pick_device(settings.device)
        catalog.execute(
            "INSERT INTO train_runs (id, dataset, model, settings, directory, status, started_at) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?)",
            (
                run_id,
                record.version,
                settings.model,
                settings.model_dump_json(),
                str(directory),
                now(),
            ),
        )
        _write_run_json(directory, run_id, settings, record)
        args = {
            "data": str(data),
            "epochs": settings.epochs,
            "imgsz": settings.imgsz,
            "batch": settings.batch,
            "patience": settings.patience,
            "device": device,
            "workers": settings.workers,
            "seed": settings.seed,
            "freeze": 0 if is_architecture(settings.model) else settings.freeze,
            "cls_pw": settings.cls_pw,
            "project": str(directory.parent),
            "name": run_id,
            "exist_ok": True,
            "plots": False,
            "verbose": False,
        }
        return _run(
            catalog, run_id, record.version, settings.model, directory, lambda: model.train(**args)
        )


def _training_data(
    project: Project, catalog: Catalog, record: DatasetRecord, weights: Path, settings: TrainConfig
) -> Path:
    """Warn about classes too rare to learn; the dataset, or with ``keep_known`` its copy
    with the starting weights' labels added (see :mod:`edgedistill.keep_known`)."""
    from edgedistill.keep_known import keep_known
    from edgedistill.train_checks import rare_classes

    for warning in rare_classes(
        catalog, record.version, project.load_config().dataset.min_instances
    ):
        log.warning(warning)
    if settings.keep_known and not is_architecture(settings.model):
        return keep_known(project, record, weights, settings)
    return record.data_yaml


def _resume(project: Project, catalog: Catalog) -> TrainRun:
    """Go on with the last unfinished run, in its own folder and on its own dataset.

    Ultralytics strips ``last.pt`` when the last epoch ends, before the final
    validation; a run killed then has nothing left to resume. It is finished from
    ``best.pt`` when there is one, else recorded as failed. Ultralytics never gets
    a checkpoint it would treat as a new training on its default dataset.
    """
    row = catalog.execute(
        "SELECT id, dataset, model, directory FROM train_runs WHERE status != 'done' "
        "ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise EdgedistillError("no unfinished training run to resume")
    run_id, dataset, model_name, directory = row[0], row[1], row[2], Path(row[3])
    last, best = directory / "weights" / "last.pt", directory / "weights" / "best.pt"
    if not last.is_file():
        raise EdgedistillError(f"run {run_id} has no checkpoint to resume ({last} is missing)")
    if not _resumable(last, directory.parent):
        if best.is_file():
            log.warning("run %s had finished its epochs; keeping its best.pt", run_id)
            catalog.execute(
                "UPDATE train_runs SET status = 'done', error = NULL, weights = ?, "
                "finished_at = ? WHERE id = ?",
                (str(best), now(), run_id),
            )
            return TrainRun(run_id, dataset, model_name, directory, best, "done", {})
        catalog.execute(
            "UPDATE train_runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
            ("checkpoint not resumable", now(), run_id),
        )
        raise EdgedistillError(
            f"run {run_id} cannot be resumed: {last} holds no training state and there is "
            "no best.pt; the run is marked failed, start a new one with `edgedistill train`"
        )
    data = latest_dataset(catalog, dataset).data_yaml
    catalog.execute(
        "UPDATE train_runs SET status = 'running', error = NULL WHERE id = ?", (run_id,)
    )
    model = load_student(str(last))
    return _run(
        catalog,
        run_id,
        dataset,
        model_name,
        directory,
        lambda: model.train(resume=True, data=str(data)),
    )


def _resumable(checkpoint: Path, runs_folder: Path) -> bool:
    """True when ``checkpoint`` holds optimizer state and trains into ``runs_folder``."""
    import torch

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception:  # a checkpoint cut short by the kill, or not one at all
        return False
    if not isinstance(state, dict):
        return False
    args = state.get("train_args") or {}
    inside = Path(str(args.get("project", ""))).resolve() == runs_folder.resolve()
    return state.get("epoch", -1) >= 0 and state.get("optimizer") is not None and inside


def _run(
    catalog: Catalog, run_id: str, dataset: str, model_name: str, directory: Path, train: Any
) -> TrainRun:
    try:
        results = train()
    except KeyboardInterrupt:
        catalog.execute(
            "UPDATE train_runs SET status = 'interrupted', error = 'interrupted (Ctrl-C)' "
            "WHERE id = ?",
            (run_id,),
        )
        raise Interrupted(
            "training interrupted; run `edgedistill train --resume` to go on from the last "
            "finished epoch"
        ) from None
    except Exception as exc:  # Ultralytics raises many kinds; record it, then say it in one line
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        catalog.execute(
            "UPDATE train_runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
            (message, now(), run_id),
        )
        raise EdgedistillError(
            f"training failed ({message}); the run is kept in {directory}"
        ) from None
    weights = directory / "weights" / "best.pt"
    weights = weights if weights.is_file() else directory / "weights" / "last.pt"
    metrics = {k: float(v) for k, v in (getattr(results, "results_dict", None) or {}).items()}
    catalog.execute(
        "UPDATE train_runs SET status = 'done', weights = ?, finished_at = ? WHERE id = ?",
        (str(weights), now(), run_id),
    )
    return TrainRun(run_id, dataset, model_name, directory, weights, "done", metrics)


def _write_run_json(
    directory: Path, run_id: str, settings: TrainConfig, record: DatasetRecord
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run.json").write_text(
        json.dumps(
            {
                "id": run_id,
                "settings": settings.model_dump(),
                "dataset": record.version,
                "dataset_format": record.format,
                "teacher_fingerprint": record.fingerprint,
                "started_at": now(),
            },
            indent=2,
        )
    )


def _check_compatible(model: str, record: DatasetRecord) -> None:
    if record.format == "coco":
        raise EdgedistillError(
            "Ultralytics trains on YOLO datasets; run "
            "`edgedistill dataset --format yolo` (or yolo-seg) first"
        )
    if "-seg" in Path(model).stem and record.format != "yolo-seg":
        raise EdgedistillError(
            f"{model} is a segmentation model; build the dataset with "
            "`edgedistill dataset --format yolo-seg`"
        )


def load_student(model: str, search: Sequence[Path | None] = ()) -> Any:
    """An Ultralytics model from weights (found by the weights rule, ``search`` adding
    folders) or from a YAML (random init, with a warning)."""
    from ultralytics import YOLO

    if is_architecture(model):
        log.warning("building %s with random weights; %s", model, PRETRAINED_HINT)
    path = resolve_weights(model, search)
    try:
        return YOLO(path)
    except Exception as exc:  # a failed download or an unreadable checkpoint
        raise EdgedistillError(
            f"cannot load the student '{model}' ({type(exc).__name__}); without internet use a "
            f"local .pt or a model YAML such as yolo11n.yaml; {PRETRAINED_HINT}"
        ) from None


def provenance_caveats(teacher: TeacherRecord | None, student_model: str | None) -> list[str]:
    """What a reader of a report or model card must know first: a teacher that only
    stands in for SAM3, and a student trained from random weights."""
    caveats = []
    if teacher is not None and teacher.caveat:
        caveats.append(f"Teacher: {teacher.caveat}.")
    if student_model is not None and is_architecture(student_model):
        caveats.append(
            f"Student: trained from random weights ({student_model}), so it has learnt little; "
            f"{PRETRAINED_HINT}."
        )
    return caveats


def pick_device(device: str) -> str:
    """``auto``: the first CUDA GPU, else the CPU (with a loud warning)."""
    resolved = resolve_device(device)
    if device == "auto" and resolved == "cpu":
        log.warning(
            "no CUDA GPU: training on the CPU is slow (minutes per epoch for real datasets); "
            "use a GPU machine for real training"
        )
    return resolved
