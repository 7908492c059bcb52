"""The ultralytics teacher on a random-weight model built from Ultralytics' own YAML."""

from __future__ import annotations

import json

import pytest

from edgedistill.errors import EdgedistillError
from edgedistill.label import label_project
from edgedistill.masks import rle_to_mask
from edgedistill.teachers import build_teacher
from tests.label_helpers import edit_config, project_with_frames


@pytest.mark.parametrize("model", ["yolo11n.yaml", "yolo11n-seg.yaml"])
def test_random_weight_model_labels_every_frame(tmp_path, model) -> None:
    project = project_with_frames(tmp_path, 3)
    project = edit_config(
        project,
        teachers={
            "ultralytics": {"weights": model, "imgsz": 64, "score_floor": 0.0, "device": "cpu"}
        },
    )
    teacher = build_teacher(project.config, "ultralytics", {})
    assert teacher.prompted is False and "person" in teacher.class_names
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (3, [])
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT prompt, detections FROM label_cache").fetchall()
    assert [row[0] for row in rows] == ["*"] * 3
    detections = [d for row in rows for d in json.loads(row[1])]
    assert detections and all(d["label"] in teacher.class_names for d in detections)
    if model.endswith("-seg.yaml"):
        assert all(rle_to_mask(d["rle"]).shape == (64, 96) for d in detections)
    same = build_teacher(project.config, "ultralytics", {})
    assert same.fingerprint == teacher.fingerprint  # seeded: reproducible random weights
    assert label_project(project, same).frames_pending == 0


def test_weights_that_cannot_load(tmp_path) -> None:
    project = project_with_frames(tmp_path, 1)
    with pytest.raises(EdgedistillError, match="needs --weights"):
        build_teacher(project.config, "ultralytics", {})
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(EdgedistillError, match="cannot load Ultralytics weights"):
        build_teacher(project.config, "ultralytics", {"weights": str(broken)})
