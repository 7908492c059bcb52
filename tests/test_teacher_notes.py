"""What the report says about the teacher's score on human labels is true for its kind:
human labels as the teacher are no model with a score floor, a paid API is never called,
and a workflow's answers are cut at its own thresholds, not at a floor it labelled at."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedistill.evaluate.teacher_scores import TeacherOnTruth, teacher_on_truth
from edgedistill.ground_truth import check_ground_truth
from edgedistill.label import label_project
from edgedistill.project import Project
from edgedistill.teachers import build_teacher
from tests.label_helpers import SMALL_ONTOLOGY, project_with_frames
from tests.media import write_image


def human_labels(root: Path, images: list[Path]) -> Path:
    """A YOLO dataset labelling one car on each of ``images``."""
    for folder in ("images", "labels"):
        (root / "test" / folder).mkdir(parents=True)
    for image in images:
        (root / "test" / "images" / image.name).write_bytes(image.read_bytes())
        (root / "test" / "labels" / f"{image.stem}.txt").write_text("0 0.3 0.3 0.25 0.3\n")
    (root / "data.yaml").write_text("path: .\ntest: test/images\nnames: {0: car}\n")
    return root / "data.yaml"


def scored(project: Project, name: str, settings: dict, gt: Path) -> TeacherOnTruth:
    """The teacher ``name`` labels the project's frames and is scored on ``gt``."""
    teacher = build_teacher(project.config, name, settings)
    try:
        assert not label_project(project, teacher).failures
    finally:
        teacher.close()
    truth = check_ground_truth(gt).truth(project.config.ontology)
    return teacher_on_truth(project, project.config, teacher.fingerprint, truth, "cpu")


def test_human_labels_as_the_teacher_are_said_to_be_human_labels(tmp_path) -> None:
    project = project_with_frames(tmp_path, 3, SMALL_ONTOLOGY)
    gt = human_labels(tmp_path / "human", sorted((tmp_path / "images").glob("*.jpg")))
    same = scored(project, "annotations", {"annotations": str(gt)}, gt)
    assert same.score is not None and same.score.map50 == 1.0
    assert same.note == (
        "Teacher scored from its labels of these images (human annotations, every box at "
        "score 1): its AP says how far two sets of human labels agree, not how well a model "
        "ranks what it finds."
    )
    elsewhere = [write_image(tmp_path / f"other{i}.jpg", seed=50 + i) for i in range(2)]
    other = check_ground_truth(human_labels(tmp_path / "other", elsewhere))
    teacher = build_teacher(project.config, "annotations", {"annotations": str(gt)})
    truth = other.truth(project.config.ontology)
    missed = teacher_on_truth(project, project.config, teacher.fingerprint, truth, "cpu")
    assert missed.score is None and missed.note == (
        "Teacher not scored: its labels are human annotations, not a model that eval could "
        "run, and they do not cover these images."
    )


@pytest.mark.parametrize(
    ("name", "settings", "described", "cut"),
    [
        ("roboflow-sam3", {}, "Roboflow's hosted SAM3", "no box under score 0.05, the floor"),
        (
            "roboflow-workflow",
            {"workspace": "team", "workflow_id": "cars"},
            "Roboflow workflow",
            "only the boxes the workflow returned, cut at its own thresholds",
        ),
    ],
)
def test_a_paid_teacher_is_scored_from_its_cache_and_said_to_be_paid(
    server, tmp_path, name, settings, described, cut
) -> None:
    project = project_with_frames(tmp_path, 2, SMALL_ONTOLOGY)
    gt = human_labels(tmp_path / "human", sorted((tmp_path / "images").glob("*.jpg")))
    result = scored(project, name, settings, gt)
    assert result.score is not None and result.note is not None
    assert f"It was not run here: it is a paid API ({described}), which eval never" in result.note
    assert f"which hold {cut}" in result.note and "not recorded" not in result.note
    assert "its AP is at most what it would be from 0.001" in result.note
