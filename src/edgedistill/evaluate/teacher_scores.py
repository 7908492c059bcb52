"""The teacher on the yardstick: its cached answers where they cover the labelled images,
else the teacher itself where it runs here for free (never a paid API).

Its raw answers are read down to their score floor (no confidence threshold) so that its
AP is measured like any model's; the ontology, NMS and parents apply as when labelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from edgedistill.config import LabelConfig, ProjectConfig
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate.yardstick import ModelScore, Truth, TruthImage, score
from edgedistill.ontology import Ontology
from edgedistill.project import Project
from edgedistill.teachers.base import FrameInput, RawDetection
from edgedistill.teachers.cache import LabelCache, TeacherRecord, cache_keys
from edgedistill.teachers.resolve import resolve
from edgedistill.teachers.tracks import track_voting_cache

_LOCAL = ("ultralytics",)
"""Backends run on the labelled images when their answers are not cached: free and quick
on a CPU. Local SAM3 joins them on a CUDA GPU; paid APIs never do."""


@dataclass(frozen=True)
class TeacherOnTruth:
    """The teacher's score, or why there is none."""

    score: ModelScore | None
    note: str | None


def teacher_on_truth(
    project: Project, config: ProjectConfig, fingerprint: str, truth: Truth, device: str
) -> TeacherOnTruth:
    with project.open_catalog() as catalog:
        cache = LabelCache(catalog)
        record = cache.about(fingerprint)
        row = catalog.execute(
            "SELECT prompted FROM teachers WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        if record is None or row is None:
            return TeacherOnTruth(None, "the teacher of this dataset is not in the catalog")
        prompted = bool(row[0])
        if prompted:  # as the dataset reads them: a tracked object's class is its track's vote
            prompts = cache_keys(config.ontology.prompts, prompted)
            cache = track_voting_cache(catalog, fingerprint, prompts, config.ontology, config.label)
        raw = _cached(cache, config.ontology, fingerprint, prompted, truth)
    how = "cached answers"
    if raw is None:
        raw, why = _run_here(config, record, truth, device)
        how = "run here"
        if raw is None:
            return TeacherOnTruth(None, why)
    ontology, label = _at_score_floor(config.ontology, config.label)
    predictions = [resolve(r, ontology, label, prompted).detections for r in raw]
    described = f"{record.description} ({how})"
    names = config.ontology.student_names
    return TeacherOnTruth(
        score("teacher", described, truth, config.ontology, names, predictions), None
    )


def _cached(
    cache: LabelCache, ontology: Ontology, fingerprint: str, prompted: bool, truth: Truth
) -> list[list[RawDetection]] | None:
    """Answers for every labelled image, from frames ingested from files of the same name
    (boxes scaled to the image's size), or None when any image has none."""
    by_name = {image.path.name.lower(): image for image in truth.images}
    found: dict[str, list[RawDetection]] = {}
    prompts = cache_keys(ontology.prompts, prompted)
    rows = cache.catalog.execute(
        "SELECT f.id, f.width, f.height, s.path FROM frames f JOIN sources s ON s.id = f.source_id"
    ).fetchall()
    for frame_id, width, height, source in rows:
        image = by_name.get(PurePath(source).name.lower())
        if image is None:
            continue
        raw = cache.frame_detections(fingerprint, frame_id, prompts)
        if raw is not None:
            found[image.path.name.lower()] = [_scaled(d, image, width, height) for d in raw]
    if len(found) < len(truth.images):
        return None
    return [found[image.path.name.lower()] for image in truth.images]


def _scaled(detection: RawDetection, image: TruthImage, width: int, height: int) -> RawDetection:
    sx, sy = image.width / width, image.height / height
    x1, y1, x2, y2 = detection.box
    return RawDetection(detection.label, detection.score, (x1 * sx, y1 * sy, x2 * sx, y2 * sy))


def _run_here(
    config: ProjectConfig, record: TeacherRecord, truth: Truth, device: str
) -> tuple[list[list[RawDetection]] | None, str | None]:
    """The teacher run on the labelled images when it is free and quick here."""
    from edgedistill.teachers import build_teacher

    local = record.name in _LOCAL or (record.name == "sam3" and device.startswith("cuda"))
    if not local:
        return None, (
            f"the teacher ({record.description}) has not labelled these images, and eval "
            "runs only the ultralytics teacher, or SAM3 on a GPU, itself (never a paid API): "
            "ingest and label the images to score it"
        )
    try:
        teacher = build_teacher(config, record.name, {})
    except EdgedistillError as exc:
        return None, f"the teacher cannot run here ({exc})"
    try:
        if teacher.fingerprint != record.fingerprint:
            return None, (
                f"teachers.{record.name} in edgedistill.yaml is not the teacher that labelled "
                "this dataset, so it is not scored in its place"
            )
        frames = [
            _frame(i, image, config.ontology, teacher.prompted)
            for i, image in enumerate(truth.images)
        ]
        answers = {r.frame.id: r.detections for r in teacher.predict(iter(frames))}
    finally:
        teacher.close()
    return [answers.get(frame.id, []) for frame in frames], None


def _frame(index: int, image: TruthImage, ontology: Ontology, prompted: bool) -> FrameInput:
    prompts = cache_keys(ontology.prompts, prompted)
    return FrameInput(
        f"gt{index:06d}", image.path, image.width, image.height, str(image.path), prompts
    )


def _at_score_floor(ontology: Ontology, label: LabelConfig) -> tuple[Ontology, LabelConfig]:
    """The ontology and label settings with every confidence threshold at zero."""
    classes = [c.model_copy(update={"confidence": None}) for c in ontology.classes]
    return (
        ontology.model_copy(update={"classes": classes}),
        label.model_copy(update={"confidence": 0.0}),
    )
