"""The eval stage scores the teacher's labels as the dataset has them: one class per track.

The label cache holds recorded answers of a propagating teacher in which one object
flickers between ``police car`` and ``car``; the dataset stage votes it a police car on
every frame, and the teacher-vs-human score must see the same labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgedistill.evaluate.teacher_scores import teacher_on_truth
from edgedistill.label import label_project
from edgedistill.teachers.base import FrameInput, RawDetection, Teacher, TeacherResult
from edgedistill.teachers.cache import LabelCache
from edgedistill.yardstick import truth_from_labels
from tests.label_helpers import project_with_frames

ONTOLOGY = {
    "classes": [
        {"name": "car"},
        {"name": "police car", "parent": "car"},
    ]
}
BOX = (10.0, 10.0, 50.0, 40.0)
SAID = {"frame0000.jpg": "police car", "frame0001.jpg": "car"}  # one track, two classes


class Recorded(Teacher):
    """Replays one tracked object's answers, as SAM3's video propagation gave them."""

    name = "recorded"

    def identity(self) -> dict[str, Any]:
        return {"recording": "flickering police car"}

    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        for frame in frames:
            found = RawDetection(SAID[Path(frame.source_path).name], 0.9, BOX, None, "run-1")
            yield TeacherResult(frame, frame.prompts, [found], calls=1)


def test_teacher_vs_human_scores_the_voted_class_of_each_track(tmp_path) -> None:
    project = project_with_frames(tmp_path, 2, ONTOLOGY)
    teacher = Recorded(Teacher.Settings())
    assert label_project(project, teacher).frames_labelled == 2
    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT f.id, f.width, f.height, s.path FROM frames f JOIN sources s "
            "ON s.id = f.source_id"
        ).fetchall()
        raw = dict(LabelCache(catalog).detections(teacher.fingerprint, ("car", "police car")))
    assert sorted(d.label for found in raw.values() for d in found) == ["car", "police car"]
    config = project.config
    # The human labels: the police car, in images named as the frames' sources.
    truth = truth_from_labels(
        config.ontology,
        [(Path(source), width, height, [("police car", BOX)]) for _, width, height, source in rows],
    )
    scored = teacher_on_truth(project, config, teacher.fingerprint, truth, "cpu").score
    assert scored is not None and scored.images == 2
    # Frame by frame the teacher said "car" once; its track says police car throughout.
    assert scored.map50 == 1.0
