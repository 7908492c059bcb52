"""``edgedistill pipeline``: ingest → label → dataset → train → eval from the config.

Every stage resumes: ingest adds only new frames, label asks only for what the
cache lacks, an unchanged dataset is reused, a finished training run on the same
dataset and settings is reused, and so is its evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.config import TrainConfig, override
from edgedistill.dataset import DatasetReport, build_dataset
from edgedistill.distill import Assistant, assistant_settings, check_fit, model_kind
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate import EvalReport, evaluate
from edgedistill.ingest import IngestReport, ingest
from edgedistill.keep_known import training_data
from edgedistill.label import LabelReport, label_project
from edgedistill.project import Project
from edgedistill.student import load_student
from edgedistill.teachers import build_teacher, teacher_settings, with_teacher_flags
from edgedistill.train import EpochCallback, TrainRun, reused_run, train_student
from edgedistill.untrained import masked_at


@dataclass
class PipelineResult:
    ingest: IngestReport
    label: LabelReport
    dataset: DatasetReport
    train: TrainRun
    evaluation: EvalReport


def run_pipeline(  # noqa: PLR0913 — the stages' inputs, then the two display hooks
    project: Project,
    sources: Sequence[str] = (),
    teacher: str | None = None,
    teacher_options: dict[str, Any] | None = None,
    max_credits: float | None = None,
    train_overrides: dict[str, Any] | None = None,
    announce: Callable[[str, object], None] = lambda stage, result: None,
    on_epoch: EpochCallback | None = None,
) -> PipelineResult:
    """Run every stage in order; ``announce(stage, result)`` after each one, and
    ``on_epoch(done, total)`` through each training (as ``train_student`` calls it)."""
    config = project.config
    sources = list(sources) or [str(_from_project(project, s)) for s in config.ingest.sources]
    if not sources:
        raise EdgedistillError(
            "nothing to ingest: list sources under 'ingest.sources' in "
            "edgedistill.yaml or pass them to `edgedistill pipeline`"
        )
    config = with_teacher_flags(config, teacher, teacher_options)
    teacher_settings(config, teacher)  # a bad teacher fails before ingest
    ingested = ingest(project, sources, config.ingest)
    announce("ingest", ingested)
    model = build_teacher(config, teacher)
    try:
        labelled = label_project(project, model, max_credits=max_credits)
    finally:
        model.close()
    announce("label", labelled)
    dataset = build_dataset(project)
    announce("dataset", dataset)
    settings = override(config, "train", train_overrides or {}).train
    run = _train(project, settings, dataset.version, announce, on_epoch)
    announce("train", run)
    evaluation = _finished_evaluation(project, run) or evaluate(project, run.weights)
    announce("eval", evaluation)
    return PipelineResult(ingested, labelled, dataset, run, evaluation)


def _train(
    project: Project,
    settings: TrainConfig,
    dataset: str,
    announce: Callable[[str, object], None],
    on_epoch: EpochCallback | None,
) -> TrainRun:
    """The student, reused when finished. With ``train.assistant``: the assistant on the
    teacher's labels, the plain student (for the report's comparison), then the student
    distilled from the assistant, which is returned."""

    def trained(chosen: TrainConfig, assistant: Assistant | None = None) -> TrainRun:
        finished = project.finished_runs(dataset, chosen.model_dump_json())
        if finished:
            return reused_run(finished[0])
        data = training_data(project, chosen, dataset)
        return train_student(
            project, chosen, dataset, assistant=assistant, data=data, on_epoch=on_epoch
        )

    if settings.assistant is None:
        return trained(settings)
    search = [project.config.weights_dir]
    student = model_kind(load_student(settings.model, search))  # a misfit stops before training
    check_fit(student, model_kind(load_student(settings.assistant, search)), settings.assistant)
    helper = trained(assistant_settings(settings))
    announce("assistant", helper)
    announce("plain student", trained(settings.model_copy(update={"assistant": None})))
    if helper.weights is None:
        raise EdgedistillError(f"the assistant's run {helper.id} left no weights")
    return trained(settings, Assistant(helper.weights, helper.id, settings.distill_weight))


def _from_project(project: Project, source: str) -> Path:
    path = Path(source).expanduser()
    return path if path.is_absolute() else project.root / path


def _finished_evaluation(project: Project, run: TrainRun) -> EvalReport | None:
    """The newest complete evaluation of the run's weights as they are now (made after
    their untrained classes were masked)."""
    if run.weights is None:
        return None
    since = masked_at(run.directory) or ""
    for folder, metrics in project.reports_of(run.weights):
        if (folder / "report.html").exists() and metrics.created_at >= since:
            return EvalReport(folder, metrics)
    return None
