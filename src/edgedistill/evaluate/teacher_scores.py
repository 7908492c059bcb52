"""The teacher on the yardstick, scored like every other model.

Where the teacher runs here for free (the ``ultralytics`` backend; local SAM3 on a CUDA
GPU; never a paid API) it is built again from the settings it labelled with (kept in the
catalog with its fingerprint, flags included; the config's ``teachers.<name>`` for
teachers labelled before that) and run on the labelled images down to the yardstick's
score floor, with the yardstick's NMS. Otherwise its cached answers are read where they
cover the images: they hold no box under the floor they were cached at, which the
report says. Either way its raw answers become ontology classes and go through the same
:func:`~edgedistill.yardstick.score` as the student's: no confidence threshold,
no labelling NMS, no parent preference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import supervision as sv
from pydantic import ValidationError

from edgedistill.config import ProjectConfig, describe_validation_error
from edgedistill.errors import EdgedistillError
from edgedistill.ontology import Ontology
from edgedistill.project import Project
from edgedistill.teachers.base import FrameInput, RawDetection, Teacher
from edgedistill.teachers.cache import LabelCache, TeacherRecord, cache_keys
from edgedistill.teachers.tracks import track_voting_cache
from edgedistill.yardstick import (
    MAX_DET,
    NMS_IOU,
    PREDICT_CONF,
    ModelScore,
    Truth,
    TruthImage,
    detections_of,
    score,
)

_LOCAL = ("ultralytics",)
"""Backends run on the labelled images: free and quick on a CPU. Local SAM3 joins them
on a CUDA GPU; paid APIs never do."""
_PAID = ("roboflow-sam3", "roboflow-workflow")
_HUMAN = "annotations"
"""Human labels read as a teacher's answers: nothing to run, every box at score 1."""

Answers = list[list[RawDetection]]
"""Raw answers, one list per labelled image."""


@dataclass(frozen=True)
class TeacherOnTruth:
    """The teacher's score, and a sentence for the report: why there is none, or what
    its score rests on when that is not the yardstick's protocol."""

    score: ModelScore | None
    note: str | None


def teacher_on_truth(
    project: Project, config: ProjectConfig, fingerprint: str, truth: Truth, device: str
) -> TeacherOnTruth:
    """The teacher of ``fingerprint`` on ``truth``: run here if it can be, else from its
    cached answers, else not at all (the note says why)."""
    with project.open_catalog() as catalog:
        record = LabelCache(catalog).about(fingerprint)
    if record is None:
        return TeacherOnTruth(None, "Teacher not scored: it is not in the catalog.")
    raw, why_not = _run_here(config, record, truth, device)
    how, note = f"run here at score floor {PREDICT_CONF:g}", None
    if raw is None:
        raw = _cached(project, config.ontology, record, truth)
        if raw is None:
            missing = (
                "they do not cover these images"
                if record.name == _HUMAN
                else "its cached answers do not cover these images (ingest and label them "
                "to score it from its cache)"
            )
            return TeacherOnTruth(None, f"Teacher not scored: {why_not}, and {missing}.")
        how, note = "cached answers", _cached_note(record, why_not)
    names = config.ontology.student_names
    predictions = [_as_student_classes(r, config.ontology, record.prompted) for r in raw]
    described = f"{record.description} ({how})"
    scored = score(
        "teacher", described, truth, config.ontology, names, predictions, config.hud.conf
    )
    return TeacherOnTruth(scored, note)


def _cached_note(record: TeacherRecord, why_not: str | None) -> str:
    """The truth about a score from cached answers: a model's stop at the floor they were
    cached at, so the AP is at most what it would score at the yardstick's; human labels
    have no score to rank by."""
    if record.name == _HUMAN:
        return (
            f"Teacher scored from its labels of these images ({record.description}, every "
            "box at score 1): its AP says how far two sets of human labels agree, not how "
            "well a model ranks what it finds."
        )
    floor = (record.settings or {}).get("score_floor")
    if record.name == "roboflow-workflow":
        cut = "hold only the boxes the workflow returned, cut at its own thresholds"
    elif isinstance(floor, int | float):
        cut = f"hold no box under score {floor:g}, the floor it labelled at"
    else:
        cut = "hold no box under the score floor it labelled at (not recorded)"
    return (
        f"Teacher scored from its cached answers, which {cut}, not from "
        f"{PREDICT_CONF:g} like the other models: its AP is at most what it would be "
        f"from {PREDICT_CONF:g}. It was not run here: {why_not}."
    )


def _cached(
    project: Project, ontology: Ontology, record: TeacherRecord, truth: Truth
) -> Answers | None:
    """Answers for every labelled image, from frames ingested from files of the same name
    (boxes scaled to the image's size), or None when any image has none. A tracked
    object's class is its track's vote, as the dataset reads it."""
    prompts = cache_keys(ontology.prompts, record.prompted)
    by_name = {image.path.name.lower(): image for image in truth.images}
    found: dict[str, list[RawDetection]] = {}
    with project.open_catalog() as catalog:
        cache = LabelCache(catalog)
        if record.prompted:
            cache = track_voting_cache(
                catalog, record.fingerprint, prompts, ontology, project.config.label
            )
        rows = catalog.execute(
            "SELECT f.id, f.width, f.height, s.path FROM frames f "
            "JOIN sources s ON s.id = f.source_id"
        ).fetchall()
        for frame_id, width, height, source in rows:
            image = by_name.get(PurePath(source).name.lower())
            if image is None:
                continue
            raw = cache.frame_detections(record.fingerprint, frame_id, prompts)
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
) -> tuple[Answers | None, str | None]:
    """The teacher run on the labelled images at the yardstick's floor, or why not."""
    local = record.name in _LOCAL or (record.name == "sam3" and device.startswith("cuda"))
    if not local:
        return None, _not_run(record, device)
    try:
        teacher = _rebuilt(config, record, device)
    except EdgedistillError as exc:
        return None, f"the teacher cannot be built here ({exc})"
    try:
        if teacher.fingerprint != record.fingerprint:
            return None, (
                f"teachers.{record.name} in edgedistill.yaml is not the teacher that labelled "
                "this dataset, so it is not run in its place"
                if record.settings is None
                else "built again from the settings it labelled with, it is another teacher "
                "(its weights file has changed since)"
            )
        if not teacher.answer_down_to(PREDICT_CONF, NMS_IOU, MAX_DET):
            return None, (
                f"it cannot answer down to score {PREDICT_CONF:g} here (SAM3 tracking videos "
                "answers with tracks, not a still image's boxes)"
            )
        prompted = record.prompted
        frames = [
            _frame(i, image, config.ontology, prompted) for i, image in enumerate(truth.images)
        ]
        answers = {r.frame.id: r.detections for r in teacher.predict(iter(frames))}
    finally:
        teacher.close()
    return [answers.get(frame.id, []) for frame in frames], None


def _not_run(record: TeacherRecord, device: str) -> str:
    """Why eval does not run this teacher on the labelled images, said for its kind."""
    if record.name == _HUMAN:
        return f"its labels are {record.description}, not a model that eval could run"
    if record.name in _PAID:
        return f"it is a paid API ({record.description}), which eval never calls"
    if record.name == "sam3":
        return f"it is {record.description}, which eval runs only on a CUDA GPU (not {device})"
    return f"it is {record.description}, which eval does not run itself"


def _rebuilt(config: ProjectConfig, record: TeacherRecord, device: str) -> Teacher:
    """The teacher from the settings it labelled with, on ``device``; from the config's
    ``teachers.<name>`` for a teacher registered before settings were kept."""
    from edgedistill.teachers import build_teacher, teacher_class

    if record.settings is None:
        return build_teacher(config, record.name, {})
    cls = teacher_class(record.name)
    values = dict(record.settings)
    if "device" in cls.Settings.model_fields:
        values["device"] = device
    try:
        return cls(cls.Settings.model_validate(values))
    except ValidationError as exc:
        problem = describe_validation_error(exc, values, cls.Settings, ("teachers", cls.name))
        raise EdgedistillError(f"the settings it labelled with: {problem}") from None


def _frame(index: int, image: TruthImage, ontology: Ontology, prompted: bool) -> FrameInput:
    prompts = cache_keys(ontology.prompts, prompted)
    return FrameInput(
        f"gt{index:06d}", image.path, image.width, image.height, str(image.path), prompts
    )


def _as_student_classes(
    raw: list[RawDetection], ontology: Ontology, prompted: bool
) -> sv.Detections:
    """Raw answers as detections of the ontology's student classes, every score kept; the
    yardstick does the rest, as for any model. Labels no class takes are left out, as
    labelling leaves them."""
    names = ontology.student_names
    rows = []
    for detection in raw:
        cls = (ontology.class_for_prompt if prompted else ontology.match)(detection.label)
        if cls is not None:
            rows.append(
                (names.index(ontology.output_name(cls.name)), detection.box, detection.score)
            )
    return detections_of(rows)
