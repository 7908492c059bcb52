"""One yardstick for every model: class names matched through the ontology, never by index;
and the regression gate that flags a class the student lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import supervision as sv

from edgedistill.coco_eval import ClassScore
from edgedistill.evaluate.regression import find_regressions
from edgedistill.evaluate.yardstick import ModelScore, class_map, score, truth_from_labels
from edgedistill.keep_known import silent_class_boxes
from edgedistill.ontology import Ontology

ONTOLOGY = Ontology.model_validate(
    {
        "classes": [
            {"name": "car"},
            {"name": "police car", "parent": "car"},
            {"name": "person", "prompts": ["person", "pedestrian"]},
            {"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]},
        ],
        "class_mapping": {"car": "automobile"},
    }
)
COCO_LIKE = ["person", "bicycle", "car", "motorcycle", "airplane"]
CAR, PERSON, BIKE = (10.0, 10.0, 50.0, 40.0), (60.0, 5.0, 75.0, 60.0), (20.0, 45.0, 40.0, 70.0)


def human_truth():
    """Two images labelled with a rename, two prompts and a class the ontology lacks."""
    return truth_from_labels(
        ONTOLOGY,
        [
            (Path("a.jpg"), 100, 80, [("automobile", CAR), ("pedestrian", PERSON)]),
            (Path("b.jpg"), 100, 80, [("motorbike", BIKE), ("traffic light", (1, 1, 5, 9))]),
        ],
    )


def boxes(rows: list[tuple[tuple[float, ...], int]], confidence: float = 0.9) -> sv.Detections:
    return sv.Detections(
        xyxy=np.array([r[0] for r in rows], dtype=np.float32).reshape(-1, 4),
        confidence=np.full(len(rows), confidence, dtype=np.float32),
        class_id=np.array([r[1] for r in rows], dtype=int),
    )


def test_ground_truth_names_map_through_renames_and_prompts_and_the_rest_is_listed() -> None:
    truth = human_truth()
    assert truth.names == ["automobile", "person", "motorcycle"]  # no police car labelled
    assert truth.unmatched == {"traffic light": 1}
    assert [int(c) for c in truth.images[1].boxes.class_id] == [2]


def test_model_classes_map_by_name_and_a_specific_class_counts_as_its_parent() -> None:
    scored = human_truth().names
    mapping, ignored = class_map(ONTOLOGY, COCO_LIKE, scored)
    assert mapping == {0: 1, 2: 0, 3: 2} and ignored == ["bicycle", "airplane"]
    student = ["automobile", "police car", "person", "motorcycle"]
    mapping, ignored = class_map(ONTOLOGY, student, scored)
    assert mapping == {0: 0, 1: 0, 2: 1, 3: 2} and ignored == []


def test_a_model_with_other_class_indices_is_scored_by_name() -> None:
    truth = human_truth()
    # Right boxes in COCO's order: indices 2 (car), 0 (person), 3 (motorcycle).
    found = [boxes([(CAR, 2), (PERSON, 0)]), boxes([(BIKE, 3)])]
    result = score("starting weights", "coco.pt", truth, ONTOLOGY, COCO_LIKE, found)
    assert {n: s.ap50 for n, s in result.per_class.items() if s} == {
        "automobile": 1.0,
        "person": 1.0,
        "motorcycle": 1.0,
    }
    assert result.map50 == 1.0 and result.ignored_classes == ["bicycle", "airplane"]
    # The same boxes with the indices read as the ground truth's order would score 0.
    misread = score(
        "misread", "coco.pt", truth, ONTOLOGY, ["automobile", "motorcycle", "person"], found
    )
    assert misread.map50 < 1.0


def test_a_class_the_model_cannot_name_is_not_scored_as_zero() -> None:
    truth = human_truth()
    no_bikes = ["car", "person"]
    result = score("teacher", "t", truth, ONTOLOGY, no_bikes, [boxes([(CAR, 0)]), boxes([])])
    assert result.per_class["motorcycle"] is None
    assert result.per_class["person"] is not None and result.per_class["person"].ap50 == 0.0
    assert result.comparable == ["automobile", "person"]
    assert result.map50 == pytest.approx(0.5)  # over the two classes it can name
    assert result.to_json()["per_class"]["motorcycle"] is None


def scores(**ap50: float | None) -> ModelScore:
    per_class = {n: None if v is None else ClassScore(v, v / 2, v, 10) for n, v in ap50.items()}
    return ModelScore("x", "x", 4, per_class)


def test_the_gate_flags_a_class_that_lost_more_than_the_tolerance() -> None:
    base = scores(car=0.6, person=0.36, bus=0.05, truck=0.5)
    student = scores(car=0.55, person=0.09, bus=0.0, truck=None)
    found = find_regressions(base, student, tolerance=0.2, min_ap=0.1, basis="human labels")
    assert [r.name for r in found] == ["person", "truck"]  # bus: never detected to begin with
    assert found[0].line().startswith("regressed: person AP50 0.360 -> 0.090 (-75%)")
    assert not find_regressions(base, base, 0.2, 0.1, "human labels")


def test_the_gate_ignores_classes_with_too_few_boxes() -> None:
    base = ModelScore("x", "x", 1, {"dog": ClassScore(0.9, 0.5, 1.0, 2)})
    assert not find_regressions(base, scores(dog=0.0), 0.2, 0.1, "human labels")


def test_keep_known_adds_only_classes_the_teacher_is_silent_on() -> None:
    teacher = boxes([(CAR, 0)])
    known = boxes([((11, 10, 50, 41), 0), (PERSON, 2), ((12, 11, 49, 40), 2)], 0.8)
    added = silent_class_boxes(teacher, known)
    # The teacher's car is there: no second car; a person away from it is added, and a
    # person box on the teacher's car is the same object labelled otherwise: left out.
    assert added.class_id.tolist() == [2] and added.xyxy[0].tolist() == list(PERSON)
    assert len(silent_class_boxes(boxes([]), known)) == 3
