"""One yardstick for every model: class names matched through the ontology, never by index;
and the regression gate that flags a class the student lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import supervision as sv

from edgedistill.evaluate.regression import find_regressions
from edgedistill.keep_known import silent_class_boxes
from edgedistill.metrics import FalsePositiveCount, NamedClassScore
from edgedistill.ontology import Ontology
from edgedistill.yardstick import ModelScore, Truth, class_map, score, truth_from_labels

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


def class_score(ap50: float, ap50_95: float, recall: float, boxes: int) -> NamedClassScore:
    return NamedClassScore(ap50=ap50, ap50_95=ap50_95, recall=recall, instances=boxes)


def counted(scored_as: str | None, boxes: int, wrong: int, per_image: float) -> FalsePositiveCount:
    return FalsePositiveCount(
        scored_as=scored_as, detections=boxes, false_positives=wrong, per_image=per_image
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
    result = score("starting weights", "coco.pt", truth, ONTOLOGY, COCO_LIKE, found, 0.25)
    assert {n: s.ap50 for n, s in result.per_class.items() if s} == {
        "automobile": 1.0,
        "person": 1.0,
        "motorcycle": 1.0,
    }
    assert result.map50 == 1.0 and result.ignored_classes == ["bicycle", "airplane"]
    # The same boxes with the indices read as the ground truth's order would score 0.
    misread = score(
        "misread", "coco.pt", truth, ONTOLOGY, ["automobile", "motorcycle", "person"], found, 0.25
    )
    assert misread.map50 < 1.0


def test_a_class_the_model_cannot_name_is_not_scored_as_zero() -> None:
    truth = human_truth()
    no_bikes = ["car", "person"]
    found = [boxes([(CAR, 0)]), boxes([])]
    result = score("teacher", "t", truth, ONTOLOGY, no_bikes, found, 0.25)
    assert result.per_class["motorcycle"] is None
    assert result.per_class["person"] is not None and result.per_class["person"].ap50 == 0.0
    assert result.comparable == ["automobile", "person"]
    assert result.map50 == pytest.approx(0.5)  # over the two classes it can name
    assert result.to_json()["per_class"]["motorcycle"] is None


def scores(**ap50: float | None) -> ModelScore:
    per_class = {n: None if v is None else class_score(v, v / 2, v, 10) for n, v in ap50.items()}
    return ModelScore("x", "x", 4, per_class)


def test_the_gate_flags_a_class_that_lost_more_than_the_tolerance() -> None:
    base = scores(car=0.6, person=0.36, bus=0.05, truck=0.5)
    student = scores(car=0.55, person=0.09, bus=0.0, truck=None)
    found = find_regressions(base, student, tolerance=0.2, min_ap=0.1, basis="human labels")
    assert [r.name for r in found] == ["person", "truck"]  # bus: never detected to begin with
    assert found[0].line().startswith("regressed: person AP50 0.360 -> 0.090 (-75%)")
    assert not find_regressions(base, base, 0.2, 0.1, "human labels")


def test_the_gate_ignores_classes_with_too_few_boxes() -> None:
    base = ModelScore("x", "x", 1, {"dog": class_score(0.9, 0.5, 1.0, 2)})
    assert not find_regressions(base, scores(dog=0.0), 0.2, 0.1, "human labels")


def test_keep_known_adds_only_classes_the_teacher_is_silent_on() -> None:
    teacher = boxes([(CAR, 0)])
    known = boxes([((11, 10, 50, 41), 0), (PERSON, 2), ((12, 11, 49, 40), 2)], 0.8)
    added = silent_class_boxes(teacher, known)
    # The teacher's car is there: no second car; a person away from it is added, and a
    # person box on the teacher's car is the same object labelled otherwise: left out.
    assert added.class_id.tolist() == [2] and added.xyxy[0].tolist() == list(PERSON)
    assert len(silent_class_boxes(boxes([]), known)) == 3


def cars(count: int) -> Truth:
    """``count`` images, one labelled car in each."""
    return truth_from_labels(
        ONTOLOGY, [(Path(f"{i}.jpg"), 100, 80, [("car", CAR)]) for i in range(count)]
    )


STUDENT = ["automobile", "police car", "person", "motorcycle"]


def named_twice(scores: list[float]) -> list[sv.Detections]:
    """A student that calls each car ``automobile`` and, a little less sure, ``police car``."""
    shifted = (11.0, 10.0, 51.0, 41.0)
    return [
        sv.Detections(
            xyxy=np.array([CAR, shifted], dtype=np.float32),
            confidence=np.array([s, s - 0.01], dtype=np.float32),
            class_id=np.array([0, 1]),
        )
        for s in scores
    ]


def test_one_object_named_as_a_class_and_its_sub_class_is_one_detection() -> None:
    truth = cars(4)
    result = score(
        "student", "s", truth, ONTOLOGY, STUDENT, named_twice([0.9, 0.8, 0.7, 0.6]), 0.25
    )
    # Merged into car and then suppressed: four hits, no false positive in between.
    assert result.per_class["automobile"] == class_score(1.0, 1.0, 1.0, 4)
    assert result.false_positives["police car"] == counted("automobile", 4, 0, 0.0)


def test_a_student_naming_cars_twice_is_no_regression_of_its_starting_weights() -> None:
    """The demo's false alarm: each car also called a police car, the gate crying car -29 %."""
    truth = cars(4)
    once = [boxes([(CAR, 2)], s) for s in (0.9, 0.8, 0.7, 0.6)]
    base = score("starting weights", "coco.pt", truth, ONTOLOGY, COCO_LIKE, once, 0.25)
    student = score(
        "student", "s", truth, ONTOLOGY, STUDENT, named_twice([0.9, 0.8, 0.7, 0.6]), 0.25
    )
    assert find_regressions(base, student, 0.2, 0.1, "human labels") == []
    assert base.per_class["automobile"] == student.per_class["automobile"]


def test_false_positives_per_class_of_the_output_ghost_classes_included() -> None:
    ontology = Ontology.model_validate(
        {
            "classes": [
                {"name": "car"},
                {"name": "police car", "parent": "car"},
                {"name": "scooter"},
                {"name": "emergency lights"},
            ]
        }
    )
    truth = truth_from_labels(ontology, [(Path("a.jpg"), 100, 80, [("car", CAR)])])
    names = ["car", "police car", "scooter", "emergency lights", "airplane"]
    elsewhere = (60.0, 40.0, 90.0, 70.0)
    found = sv.Detections(
        xyxy=np.array([CAR, CAR, CAR, CAR, elsewhere, CAR], dtype=np.float32),
        confidence=np.array([0.9, 0.5, 0.4, 0.1, 0.6, 0.8], dtype=np.float32),
        class_id=np.array([0, 1, 2, 3, 0, 4]),
    )
    result = score("student", "s", truth, ontology, names, [found], fp_conf=0.25)
    assert result.false_positives == {
        "car": counted("car", 2, 1, 1.0),  # the box away from the car
        "police car": counted("car", 1, 0, 0.0),  # on the car: a car, as scored
        "scooter": counted(None, 1, 1, 1.0),  # no scooter labelled: a ghost
        "emergency lights": counted(None, 0, 0, 0.0),  # under the HUD's confidence
    }  # airplane: not a class of the ontology, not the HUD's
    assert result.to_json()["false_positives"]["scooter"]["scored_as"] is None
