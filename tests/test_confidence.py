"""Soft use of the teacher's confidence: per-class thresholds for a precision target, and
frames with uncertain labels left out."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from edgedistill.config import DatasetConfig, IngestConfig, LabelConfig
from edgedistill.dataset import build_dataset
from edgedistill.dataset.confidence import lowest_threshold, match, uncertain
from edgedistill.errors import EdgedistillError
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.ontology import Ontology
from edgedistill.project import init_project
from edgedistill.teachers import build_teacher
from edgedistill.teachers.base import RawDetection
from edgedistill.teachers.cache import LabelCache, cache_keys
from edgedistill.teachers.resolve import resolve
from tests.label_helpers import edit_config

ONTOLOGY = {
    "classes": [
        {"name": "bus"},
        {"name": "car"},
        {"name": "person"},
        {"name": "truck"},
        {"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]},
    ]
}


def test_lowest_threshold_reaches_the_target_precision() -> None:
    pairs = [(0.95, True), (0.9, True), (0.8, False), (0.7, True), (0.6, False), (0.3, False)]
    # precision at >= 0.95: 1, >= 0.9: 1, >= 0.8: 2/3, >= 0.7: 3/4, >= 0.6: 3/5, >= 0.3: 1/2
    assert lowest_threshold(pairs, 0.75) == 0.7
    assert lowest_threshold(pairs, 0.9) == 0.9
    assert lowest_threshold(pairs, 0.5) == 0.3
    assert lowest_threshold([(0.9, False)], 0.5) is None


def test_match_is_greedy_by_score_and_class_aware() -> None:
    truth = sv.Detections(
        xyxy=np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=np.float32),
        class_id=np.array([0, 1]),
    )
    labels = sv.Detections(
        xyxy=np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], dtype=np.float32),
        confidence=np.array([0.6, 0.9, 0.8], dtype=np.float32),
        class_id=np.array([0, 0, 0]),
    )
    # the 0.9 box takes the only class-0 object; the 0.6 duplicate and the box on the
    # class-1 object are false positives
    found = [(cls, round(score, 2), hit) for cls, score, hit in match(labels, truth)]
    assert found == [(0, 0.9, True), (0, 0.8, False), (0, 0.6, False)]


def test_a_score_just_under_the_threshold_makes_a_frame_uncertain() -> None:
    ontology = Ontology.model_validate(ONTOLOGY)
    settings = LabelConfig(confidence=0.5)
    sure = [RawDetection("car", 0.9, (0, 0, 5, 5)), RawDetection("car", 0.1, (0, 0, 5, 5))]
    unsure = [*sure, RawDetection("motorbike", 0.4, (0, 0, 5, 5))]
    assert not uncertain(sure, ontology, settings, 0.2)
    assert uncertain(unsure, ontology, settings, 0.2)
    assert not uncertain(unsure, ontology, settings, 0.0)  # off
    assert not uncertain([RawDetection("tree", 0.45, (0, 0, 5, 5))], ontology, settings, 0.2)


def test_thresholds_and_uncertain_frames_on_real_labels(assets, tmp_path) -> None:
    """A COCO YOLO11n labels 40 highway images; their human labels are the reference."""
    highway = assets / "datasets" / "highway"
    if not (assets / "weights" / "yolo11n-coco.pt").is_file() or not highway.is_dir():
        pytest.skip("needs ../shared/assets weights and the highway dataset")
    media = tmp_path / "media"
    media.mkdir()
    for image in sorted((highway / "valid" / "images").glob("*.jpg"))[:40]:
        (media / image.name).write_bytes(image.read_bytes())
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(project, ontology=ONTOLOGY, weights_dir=str(assets / "weights"))
    ingest(project, [str(media)], IngestConfig(dedup=False))
    for name, settings in (
        ("annotations", {"annotations": highway / "data.yaml"}),
        ("ultralytics", {"weights": "yolo11n.pt", "imgsz": 320}),
    ):
        teacher = build_teacher(project.config, name, settings)
        try:
            label_project(project, teacher)
        finally:
            teacher.close()
    plain = build_dataset(project, DatasetConfig(val=0.0, test=0.0), teacher="ultralytics")
    assert plain.thresholds == {} and plain.uncertain_frames == 0

    project = edit_config(project, label={"precision_target": 0.9, "reference": "annotations"})
    tuned = build_dataset(project, DatasetConfig(val=0.0, test=0.0), teacher="ultralytics")
    assert tuned.version != plain.version and "car" in tuned.thresholds
    config = project.config
    with project.open_catalog() as catalog:
        cache = LabelCache(catalog)
        fingerprint = cache.last_teacher()[0]
        reference = catalog.execute(
            "SELECT fingerprint FROM teachers WHERE name = 'annotations'"
        ).fetchone()[0]
        keys = cache_keys(config.ontology.prompts, False)
        truth = dict(cache.detections(reference, keys))
        ontology, hits = Ontology.model_validate(ONTOLOGY), []
        floor = config.label.model_copy(update={"confidence": 0.0})
        as_given = LabelConfig(confidence=0.0, nms="none", min_box_area=0.0)
        for frame_id, raw in cache.detections(fingerprint, keys):
            labels = resolve(raw, ontology, floor, False).detections
            cars = labels[labels.confidence >= tuned.thresholds["car"]]
            reviewed = resolve(truth[frame_id], ontology, as_given, False).detections
            hits += [hit for cls, _, hit in match(cars, reviewed) if cls == 1]
    assert hits and sum(hits) / len(hits) >= 0.9  # the chosen car threshold meets the target

    dropped = build_dataset(
        project, DatasetConfig(val=0.0, test=0.0, uncertain_band=0.3), teacher="ultralytics"
    )
    assert 0 < dropped.uncertain_frames < 40
    assert sum(dropped.images.values()) < sum(tuned.images.values())


def test_a_precision_target_needs_a_reference(server, tmp_path) -> None:
    from tests.test_dataset import labelled_project

    project = labelled_project(tmp_path, videos=1, images=2)
    project = edit_config(project, label={"teacher": "roboflow-sam3", "precision_target": 0.9})
    with pytest.raises(EdgedistillError, match="precision_target needs label.reference"):
        build_dataset(project)
    project = edit_config(project, label={"precision_target": 0.9, "reference": "annotations"})
    with pytest.raises(EdgedistillError, match="nothing was labelled with teacher 'annotations'"):
        build_dataset(project)
