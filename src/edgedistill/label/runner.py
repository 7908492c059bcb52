"""The label stage: ask the teacher for every prompt a frame is missing, cache the answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

from edgedistill.errors import NO_FRAMES, EdgedistillError
from edgedistill.label.lock import project_label_lock
from edgedistill.project import Project
from edgedistill.teachers.base import (
    CostEstimate,
    FrameInput,
    Teacher,
    TeacherResult,
)
from edgedistill.teachers.cache import LabelCache, cache_keys

ProgressCallback = Callable[[int, int], None]
"""Called as ``(frames answered, frames pending)``."""


@dataclass
class LabelReport:
    """What a label run did, or would do (``dry_run``)."""

    teacher: str
    fingerprint: str
    frames_total: int
    frames_pending: int
    calls_pending: int
    estimate: CostEstimate | None
    dry_run: bool = False
    frames_labelled: int = 0
    calls: int = 0
    credits: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    stopped: str | None = None
    dropped_detections: int = 0
    """Detections with non-finite coordinates or scores, dropped before caching."""


@dataclass
class Budget:
    """Stop submitting frames once spent credits plus those in flight would pass the cap."""

    max_credits: float | None = None
    per_frame_estimate: float = 0.0
    spent: float = 0.0

    def allows_another(self, in_flight: int) -> bool:
        if self.max_credits is None:
            return True
        committed = self.spent + (in_flight + 1) * self.per_frame_estimate
        return committed <= self.max_credits + 1e-12

    def stop_message(self) -> str:
        return (
            f"stopped at the budget of {self.max_credits:g} credits "
            f"({self.spent:.4f} spent); run again with a higher cap to go on"
        )


Engine = Callable[
    [Teacher, LabelCache, Project, tuple[str, ...], Budget, LabelReport, ProgressCallback | None],
    None,
]
"""What asks the teacher and caches the answers: in this process, or on a Ray cluster."""


def label_project(
    project: Project,
    teacher: Teacher,
    *,
    dry_run: bool = False,
    max_credits: float | None = None,
    on_progress: ProgressCallback | None = None,
    engine: Engine | None = None,
) -> LabelReport:
    """Label every frame the teacher has not answered yet; resumable at any moment.

    A real run holds the project's label lock (:mod:`edgedistill.label.lock`), so
    that a second run refuses instead of paying for the same calls again. ``engine``
    runs the teacher elsewhere (:mod:`edgedistill.label.ray_runner`); the default runs
    it in this process.
    """
    config = project.config
    prompts = cache_keys(config.ontology.prompts, teacher.prompted)
    if not prompts:
        raise EdgedistillError(
            "the ontology has no classes; add some under 'ontology.classes' in edgedistill.yaml"
        )
    lock = nullcontext() if dry_run else project_label_lock(project)
    with lock, project.open_catalog() as catalog:
        cache = LabelCache(catalog)
        frames_total = catalog.count("frames")
        if frames_total == 0:
            raise EdgedistillError(NO_FRAMES)
        pending_frames = cache.count_pending(teacher.fingerprint, prompts)
        calls = pending_frames * teacher.calls_for(prompts)
        calls_done, credits_done = cache.spend(teacher.fingerprint)
        measured = credits_done / calls_done if calls_done else None
        report = LabelReport(
            teacher=teacher.name,
            fingerprint=teacher.fingerprint,
            frames_total=frames_total,
            frames_pending=pending_frames,
            calls_pending=calls,
            estimate=teacher.estimate(pending_frames, calls, measured),
            dry_run=dry_run,
        )
        if dry_run:
            return report
        cache.register(teacher)  # status follows the teacher used last, once it has answered
        if pending_frames == 0:
            return report
        per_frame = report.estimate.credits / pending_frames if report.estimate else 0.0
        budget = Budget(max_credits, per_frame)
        (engine or _run)(teacher, cache, project, prompts, budget, report, on_progress)
    return report


def _run(  # noqa: C901 — one loop hands out frames and drains paid answers on every exit
    teacher: Teacher,
    cache: LabelCache,
    project: Project,
    prompts: tuple[str, ...],
    budget: Budget,
    report: LabelReport,
    on_progress: ProgressCallback | None,
) -> None:
    """Feed the teacher lazily and cache each answer as it arrives.

    When anything stops the run (Ctrl-C, a fatal teacher error, a failed write),
    no new frame is handed out and the answers still in flight are cached before
    the error goes on: a paid answer is never thrown away.
    """
    in_flight = 0
    stopping = False

    def frames() -> Iterator[FrameInput]:
        nonlocal in_flight
        pending = cache.pending(
            teacher.fingerprint, prompts, project.root, in_video_order=teacher.propagates
        )
        for frame in pending:
            if stopping:
                return
            if not budget.allows_another(in_flight):
                report.stopped = budget.stop_message()
                return
            problem = unreadable(frame)
            if problem is not None:
                report.failures.append((frame.id, problem))
                continue
            in_flight += 1
            yield frame

    answered = 0

    def record(result: TeacherResult) -> None:
        nonlocal in_flight, answered
        in_flight -= 1
        answered += 1
        budget.spent += result.credits
        record_answer(cache, teacher.fingerprint, report, result)
        if on_progress is not None:
            on_progress(answered, report.frames_pending)

    results = teacher.predict(frames())
    try:
        for result in results:
            record(result)
    except BaseException:
        stopping = True
        for result in results:  # empty when the teacher itself raised: it drained already
            record(result)
        raise


def record_answer(
    cache: LabelCache, fingerprint: str, report: LabelReport, result: TeacherResult
) -> None:
    """Cache one frame's answer (one transaction) and count it in the report."""
    report.calls += result.calls
    report.credits += result.credits
    if result.prompts or result.calls:
        report.dropped_detections += cache.store(fingerprint, result)
    if result.error is not None:
        report.failures.append((result.frame.id, result.error))
    else:
        report.frames_labelled += 1


def unreadable(frame: FrameInput) -> str | None:
    """Why a frame's JPEG cannot be sent to a teacher, or None when it decodes."""
    if not frame.path.is_file():
        return (
            f"the frame file {frame.path.name} is missing; `edgedistill ingest "
            f"{frame.source_path}` restores it"
        )
    import cv2  # only labelling decodes frames; `status` imports this module too

    if cv2.imread(str(frame.path), cv2.IMREAD_REDUCED_GRAYSCALE_2) is None:
        return f"the frame file {frame.path.name} cannot be decoded"
    return None
