"""The train stage: an Ultralytics YOLO student on the latest dataset.

Each run lives in ``runs/train/<id>/`` with Ultralytics' weights and a
``run.json`` (settings, dataset version, teacher fingerprint, the data.yaml it trains
on); the catalog keeps
the runs, and the latest finished one is what later commands use by default.

While a process trains a run it holds the run's lock (:mod:`edgedistill.run_lock`), so
that a run whose process was killed is seen and recorded as failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edgedistill.catalog import Catalog, now
from edgedistill.config import TrainConfig
from edgedistill.distill import Assistant, check_distillable, find_assistant
from edgedistill.errors import EdgedistillError, Interrupted, disk_full
from edgedistill.project import DatasetRecord, FinishedRun, Project
from edgedistill.run_lock import WITHOUT_LOCK, owning, running_without_lock, settle_killed_runs
from edgedistill.student import load_student, pick_device
from edgedistill.untrained import (
    ensure_masked,
    mask_run,
    trained_data,
    training_box_counts,
    unmask_for_training,
)
from edgedistill.weights import is_architecture, resolve_weights

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, int], None]
"""``(epochs done, epochs in all)``: training's progress."""


@dataclass(frozen=True)
class TrainRun:
    id: str
    dataset: str
    model: str
    directory: Path
    weights: Path | None
    status: str
    metrics: dict[str, float]
    untrained: list[str] = field(default_factory=list)
    """Classes no training label showed: masked out of the student's head
    (:mod:`edgedistill.untrained`)."""
    validated_on: str = "val"
    """What Ultralytics' validation (``metrics``) ran on."""


def train_student(
    project: Project,
    settings: TrainConfig | None = None,
    dataset: str | None = None,
    resume: bool = False,
    assistant: Assistant | None = None,
    data: Path | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainRun:
    """Train (or resume) a student; the run is recorded whether it finishes or fails.

    ``settings`` default to the project's ``train`` section; the model is found by the
    weights rule, the config's ``weights_dir`` included. With ``assistant`` the student
    also learns the assistant's features (Ultralytics' feature distillation). ``data``
    replaces the dataset's ``data.yaml`` (its copy with the starting weights' own labels
    added, see :mod:`edgedistill.keep_known`). ``on_epoch(done, total)`` follows the
    epochs.
    """
    settings = settings or project.config.train
    with project.open_catalog() as catalog:
        if resume:
            return _resume(project, catalog, on_epoch)
        record = project.dataset(dataset)
        run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{Path(settings.model).stem}"
        run_id += "-distilled" if assistant else ""
        plan = _Plan(run_id, settings, record, assistant, data or record.data_yaml)
        return _start(project, catalog, plan, on_epoch)


@dataclass(frozen=True)
class _Plan:
    """What a run trains: its id, settings, dataset, assistant and data.yaml."""

    id: str
    settings: TrainConfig
    record: DatasetRecord
    assistant: Assistant | None
    data: Path


def _start(
    project: Project,
    catalog: Catalog,
    plan: _Plan,
    on_epoch: EpochCallback | None,
    again: bool = False,
) -> TrainRun:
    """Train ``plan`` from its starting weights; ``again``: a recorded run that left no
    checkpoint, trained anew under its own id and folder."""
    settings, record, assistant = plan.settings, plan.record, plan.assistant
    _check_compatible(settings.model, record)
    weights = resolve_weights(settings.model, [project.config.weights_dir])
    model = load_student(weights)
    _follow_epochs(model, on_epoch)
    if assistant is not None:
        check_distillable(catalog, model, assistant, record.version)
    _warn_rare_classes(plan.data, record.version, project.config.dataset.min_instances)
    if unmasked := unmask_for_training(model):
        log.info("the starting weights' masked classes start afresh: %s", ", ".join(unmasked))
    directory = project.runs_dir / plan.id
    device = pick_device(settings.device)
    with owning(directory):
        if again:
            _reopen(catalog, plan.id)
        else:
            catalog.execute(
                "INSERT INTO train_runs (id, dataset, model, settings, directory, status, "
                "started_at, distilled_from, distill_weight, holds_lock) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, 1)",
                (
                    plan.id,
                    record.version,
                    settings.model,
                    settings.model_dump_json(),
                    str(directory),
                    now(),
                    assistant.source if assistant else None,
                    assistant.weight if assistant else None,
                ),
            )
        _write_run_json(directory, plan)
        args = {
            "data": str(plan.data),
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
            "name": plan.id,
            "exist_ok": True,
            "plots": False,
            "verbose": False,
            **(assistant.train_args() if assistant else {}),
        }
        return _run(
            catalog,
            TrainRun(plan.id, record.version, settings.model, directory, None, "running", {}),
            lambda: model.train(**args),
        )


def _warn_rare_classes(data: Path, version: str, min_instances: int) -> None:
    """What the training labels lack: one warning naming the classes they never show
    (the student will not output them), and one per class with fewer than
    ``min_instances`` boxes, with what the user can do."""
    counts = training_box_counts(data)
    missing = [name for name, count in counts.items() if count == 0]
    if missing:
        log.warning(
            "the training labels of dataset %s show no %s: the student will not output "
            "%s (masked out of its head after training); add footage that shows them, or keep "
            "what the starting weights know (train.keep_known: true)",
            version, ", ".join(missing), "it" if len(missing) == 1 else "them",
        )  # fmt: skip
    for name, count in counts.items():
        if 0 < count < min_instances:
            log.warning(
                "class '%s' has %d training %s in dataset %s, fewer than the %d it takes to "
                "learn it (dataset.min_instances): add footage that shows it, label another "
                "source that contains it, or keep what the starting weights know of it "
                "(train.keep_known: true, or train.freeze)",
                name, count, "box" if count == 1 else "boxes", version, min_instances,
            )  # fmt: skip


@dataclass(frozen=True)
class _Unfinished:
    """A ``train_runs`` row that did not finish, as ``--resume`` reads it."""

    id: str
    dataset: str
    model: str
    directory: Path
    status: str
    settings: str
    distilled_from: str | None
    distill_weight: float | None


def _follow_epochs(model: Any, on_epoch: EpochCallback | None) -> None:
    """``on_epoch(done, total)`` as training starts and after each epoch (Ultralytics'
    final validation reports once more, one epoch past the last: counted as the last)."""
    if on_epoch is not None:
        model.add_callback("on_train_start", lambda t: on_epoch(t.start_epoch, t.epochs))
        model.add_callback(
            "on_fit_epoch_end", lambda t: on_epoch(min(t.epoch + 1, t.epochs), t.epochs)
        )


def _resume(project: Project, catalog: Catalog, on_epoch: EpochCallback | None) -> TrainRun:
    """Go on with the last unfinished run, in its own folder and on its own dataset.

    A run that left no checkpoint (stopped or killed before its first epoch ended) is
    trained again from its recorded settings. Ultralytics strips ``last.pt`` when the
    last epoch ends, before the final validation; a run killed then has nothing left to
    resume. It is finished from ``best.pt`` when there is one, else recorded as failed.
    Ultralytics never gets a checkpoint it would treat as a new training on its default
    dataset.
    """
    settle_killed_runs(catalog)
    row = catalog.execute(
        "SELECT id, dataset, model, directory, status, settings, distilled_from, "
        "distill_weight FROM train_runs WHERE status != 'done' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise EdgedistillError("no unfinished training run to resume")
    run = _Unfinished(row[0], row[1], row[2], Path(row[3]), *row[4:])
    if run.id in running_without_lock(catalog):
        raise EdgedistillError(
            f"run {run.id} was {WITHOUT_LOCK}, so whether it still trains cannot be told; "
            "wait for it to finish, or, if its process is gone, start a new run with "
            "`edgedistill train`"
        )
    if run.status == "running":
        raise EdgedistillError(
            f"run {run.id} is still training in another process; wait for it to finish, or "
            "stop it and run `edgedistill train --resume` again"
        )
    run_id, dataset, model_name, directory = run.id, run.dataset, run.model, run.directory
    last, best = directory / "weights" / "last.pt", directory / "weights" / "best.pt"
    if not last.is_file():
        return _restart(project, catalog, run, on_epoch)
    if not _resumable(last, directory.parent):
        if best.is_file():
            log.warning("run %s had finished its epochs; keeping its best.pt", run_id)
            untrained = mask_run(directory)
            catalog.execute(
                "UPDATE train_runs SET status = 'done', error = NULL, weights = ?, "
                "finished_at = ? WHERE id = ?",
                (str(best), now(), run_id),
            )
            return TrainRun(run_id, dataset, model_name, directory, best, "done", {}, untrained)
        catalog.execute(
            "UPDATE train_runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
            ("checkpoint not resumable", now(), run_id),
        )
        raise EdgedistillError(
            f"run {run_id} cannot be resumed: {last} holds no training state and there is "
            "no best.pt; the run is marked failed, start a new one with `edgedistill train`"
        )
    data = _recorded_data(directory, project.dataset(dataset))
    model = load_student(str(last))
    _follow_epochs(model, on_epoch)
    with owning(directory):
        _reopen(catalog, run_id)
        return _run(
            catalog,
            TrainRun(run_id, dataset, model_name, directory, None, "running", {}),
            lambda: model.train(resume=True, data=str(data)),
        )


def _restart(
    project: Project, catalog: Catalog, run: _Unfinished, on_epoch: EpochCallback | None
) -> TrainRun:
    """Train a run that left no checkpoint again from the start: its recorded settings,
    assistant and data.yaml (:func:`_recorded_data`), under its own id and folder."""
    log.warning("run %s left no checkpoint to resume; training it again from the start", run.id)
    try:
        settings = TrainConfig.model_validate_json(run.settings)
    except ValidationError:
        raise EdgedistillError(
            f"run {run.id} left no checkpoint, and its recorded settings no longer fit this "
            "version of edgedistill; start a new run with `edgedistill train`"
        ) from None
    record = project.dataset(run.dataset)
    assistant = None
    if run.distilled_from is not None:
        weight = run.distill_weight if run.distill_weight is not None else settings.distill_weight
        search = [project.config.weights_dir]
        assistant = find_assistant(catalog, run.distilled_from, weight, search)
    plan = _Plan(run.id, settings, record, assistant, _recorded_data(run.directory, record))
    return _start(project, catalog, plan, on_epoch, again=True)


def _recorded_data(directory: Path, record: DatasetRecord) -> Path:
    """The data.yaml the run in ``directory`` was started on, as ``run.json`` records it:
    the dataset's own, or its copy with the starting weights' labels (``train.keep_known``);
    the dataset's own for a run recorded before edgedistill wrote it down."""
    run_json = directory / "run.json"
    saved = json.loads(run_json.read_text()) if run_json.is_file() else {}
    data = Path(saved.get("data") or record.data_yaml)
    if not data.is_file():
        raise EdgedistillError(
            f"run {directory.name} trained on {data}, which is gone; start a new run with "
            "`edgedistill train`"
        )
    return data


def _reopen(catalog: Catalog, run_id: str) -> None:
    """Mark an unfinished run running again, under its lock (recorded as held); refuse
    when another process took it up (or finished it) since it was read."""
    reopened = catalog.execute(
        "UPDATE train_runs SET status = 'running', error = NULL, finished_at = NULL, "
        "holds_lock = 1 WHERE id = ? AND status NOT IN ('running', 'done')",
        (run_id,),
    )
    if reopened.rowcount == 0:
        raise EdgedistillError(
            f"run {run_id} was taken up by another `edgedistill train --resume`; see "
            "`edgedistill status`"
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


def _run(catalog: Catalog, run: TrainRun, train: Any) -> TrainRun:
    """Train, record how it ended, and mask the classes its training labels never showed."""
    run_id, directory = run.id, run.directory
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
        full = disk_full(exc)
        message = full or f"{type(exc).__name__}: {exc}".splitlines()[0]
        catalog.execute(
            "UPDATE train_runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
            (message, now(), run_id),
        )
        if full:
            raise EdgedistillError(
                f"training failed: {full}; free some space and run `edgedistill train "
                f"--resume` to go on from the last finished epoch (the run is in {directory})"
            ) from None
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
    untrained = mask_run(directory)
    validated_on = "val" if _holds_val(trained_data(directory)) else "the training frames"
    return replace(
        run,
        weights=weights,
        status="done",
        metrics=metrics,
        untrained=untrained,
        validated_on=validated_on,
    )


def _holds_val(data_yaml: Path) -> bool:
    """Whether a dataset's val split is frames of its own, not the training frames."""
    data = yaml.safe_load(data_yaml.read_text())
    return bool(data.get("val")) and data.get("val") != data.get("train")


def reused_run(run: FinishedRun) -> TrainRun:
    """A finished run as ``pipeline`` reuses it: masked first if it was trained before
    classes without boxes were masked (its earlier evaluations then no longer describe it)."""
    untrained = ensure_masked(run.directory)
    weights = run.weights
    return TrainRun(run.id, run.dataset, run.model, run.directory, weights, "done", {}, untrained)


def _write_run_json(directory: Path, plan: _Plan) -> None:
    """What the run is, as it starts: settings, dataset, the data.yaml it trains on."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run.json").write_text(
        json.dumps(
            {
                "id": plan.id,
                "settings": plan.settings.model_dump(),
                "dataset": plan.record.version,
                "dataset_format": plan.record.format,
                "teacher_fingerprint": plan.record.fingerprint,
                "data": str(plan.data),
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
