"""What each pipeline stage has produced so far, for ``edgedistill status``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgedistill.catalog import Catalog
from edgedistill.config import ProjectConfig
from edgedistill.distill import DistilledRun, relations
from edgedistill.label.summary import summarize
from edgedistill.project import Project
from edgedistill.run_lock import running_without_lock, settle_killed_runs
from edgedistill.teachers.cache import LabelCache

RUN_STATUSES = ("done", "failed", "interrupted", "running")


@dataclass(frozen=True)
class LabelStatus:
    """The labels of the current teacher, derived with the current ontology."""

    teacher: str
    fingerprint: str
    calls: int
    credits: float
    objects: int
    unknown_labels: list[str]


@dataclass(frozen=True)
class ProjectStatus:
    """Counts of every stage's output; ``to_json()`` is what ``status --json`` prints."""

    project: str
    ontology_classes: int
    ontology_prompts: int
    sources_video: int = 0
    sources_image: int = 0
    sources_incomplete: int = 0
    frames: int = 0
    frames_bytes: int = 0
    labelled_frames: int = 0
    per_class: dict[str, int] = field(default_factory=dict)
    label: LabelStatus | None = None
    datasets: int = 0
    train_runs: dict[str, int] = field(default_factory=dict)
    runs_without_lock: int = 0
    """Of the running runs, those an earlier version started, which took no lock: whether
    they still train cannot be told, so they are never settled as killed."""
    student: str | None = None
    student_regressed: list[str] | None = None
    """Classes the newest student lost against its starting weights (None: not checked)."""
    student_untrained: list[str] = field(default_factory=list)
    """Classes the newest student never outputs: no training box showed them."""
    regressed_runs: int = 0
    distillation: list[DistilledRun] = field(default_factory=list)
    report: str | None = None

    @property
    def sources(self) -> int:
        return self.sources_video + self.sources_image

    def to_json(self) -> str:
        data = asdict(self)
        data["ontology"] = {
            "classes": data.pop("ontology_classes"),
            "prompts": data.pop("ontology_prompts"),
        }
        data["sources"] = self.sources
        data["sources_by_kind"] = {
            "video": data.pop("sources_video"),
            "image": data.pop("sources_image"),
        }
        return json.dumps(data, indent=2)


def project_status(project: Project) -> ProjectStatus:
    """Counts of what each stage has produced so far."""
    config = project.config
    newest = project.newest_report()
    with project.open_catalog() as catalog:
        settle_killed_runs(catalog)
        runs = dict(catalog.execute("SELECT status, COUNT(*) FROM train_runs GROUP BY status"))
        finished = project.finished_runs()
        labelled, per_class, label = _label_status(catalog, config)
        return ProjectStatus(
            project=str(project.root),
            ontology_classes=len(config.ontology.classes),
            ontology_prompts=len(config.ontology.prompts),
            sources_video=catalog.count("sources", kind="video"),
            sources_image=catalog.count("sources", kind="image"),
            sources_incomplete=catalog.count("sources") - catalog.count("sources", status="done"),
            frames=catalog.count("frames"),
            frames_bytes=catalog.frame_bytes(),
            labelled_frames=labelled,
            per_class=per_class,
            label=label,
            datasets=catalog.count("datasets"),
            train_runs={status: runs.get(status, 0) for status in RUN_STATUSES},
            runs_without_lock=len(running_without_lock(catalog)),
            student=str(finished[0].weights) if finished else None,
            student_regressed=_regressed(catalog, finished[0].id) if finished else None,
            student_untrained=_untrained(finished[0].directory) if finished else [],
            regressed_runs=catalog.execute(
                "SELECT COUNT(*) FROM train_runs "
                "WHERE regressions IS NOT NULL AND regressions != '[]'"
            ).fetchone()[0],
            distillation=relations(catalog),
            report=str(newest) if newest else None,
        )


def _label_status(
    catalog: Catalog, config: ProjectConfig
) -> tuple[int, dict[str, int], LabelStatus | None]:
    """Labelled frames and objects per class of the most recently used teacher."""
    cache = LabelCache(catalog)
    last = cache.last_teacher()
    if last is None:
        return 0, {}, None
    summary = summarize(cache, config, *last)
    label = LabelStatus(
        teacher=summary.teacher,
        fingerprint=summary.fingerprint,
        calls=summary.calls,
        credits=round(summary.credits, 6),
        objects=sum(summary.per_class.values()),
        unknown_labels=sorted(summary.unknown_labels),
    )
    return summary.labelled_frames, dict(summary.per_class), label


def _regressed(catalog: Catalog, run_id: str) -> list[str] | None:
    """The classes a run's student lost (its evaluation's gate); None when not checked."""
    row = catalog.execute("SELECT regressions FROM train_runs WHERE id = ?", (run_id,)).fetchone()
    return [r["name"] for r in json.loads(row[0])] if row and row[0] else None


def _untrained(run_directory: Path) -> list[str]:
    """The classes a run masked out of its student (``run.json``, written by train)."""
    run_json = run_directory / "run.json"
    saved = json.loads(run_json.read_text()) if run_json.is_file() else {}
    return list((saved.get("untrained_classes") or {}).get("classes", []))
