"""The ontology applied to raw teacher output: thresholds, hierarchy, NMS, renames."""

from __future__ import annotations

import pytest

from edgedistill.config import LabelConfig
from edgedistill.ontology import Ontology
from edgedistill.teachers import RawDetection
from edgedistill.teachers.resolve import resolve

ONTOLOGY = Ontology.model_validate(
    {
        "classes": [
            {"name": "car", "prompts": ["car", "sedan"]},
            {"name": "police car", "prompts": ["police car", "police SUV"], "parent": "car"},
            {"name": "person", "confidence": 0.8},
            {"name": "bus"},
        ],
        "class_mapping": {"person": "pedestrian"},
    }
)
SETTINGS = LabelConfig(confidence=0.5, nms=True, nms_iou=0.5, parent_iou=0.6, min_box_area=16)


def det(label: str, score: float, box=(10, 10, 50, 40)) -> RawDetection:
    return RawDetection(label, score, tuple(float(v) for v in box))


def names(result) -> list[str]:
    return sorted(result.detections.data["class_name"].tolist())


def test_prompts_become_classes_and_thresholds_apply() -> None:
    raw = [
        det("sedan", 0.9, (0, 0, 20, 20)),
        det("car", 0.4, (100, 100, 140, 140)),  # under the global 0.5
        det("person", 0.7, (200, 0, 220, 60)),  # under person's own 0.8
        det("person", 0.85, (300, 0, 320, 60)),
        det("bus", 0.9, (400, 0, 403, 3)),  # 9 px²: under min_box_area
    ]
    result = resolve(raw, ONTOLOGY, SETTINGS, prompted=True)
    assert names(result) == ["car", "pedestrian"]  # person renamed on output
    assert result.detections.class_id.tolist() == [
        ONTOLOGY.student_names.index(n) for n in result.detections.data["class_name"]
    ]


def test_specific_class_wins_over_its_parent_even_with_a_lower_score() -> None:
    raw = [det("car", 0.95), det("police SUV", 0.6, (11, 10, 50, 41))]
    assert names(resolve(raw, ONTOLOGY, SETTINGS, prompted=True)) == ["police car"]


def test_two_prompts_of_one_class_on_one_object_give_one_label() -> None:
    raw = [det("police car", 0.9), det("police SUV", 0.8, (12, 11, 50, 40))]
    result = resolve(raw, ONTOLOGY, SETTINGS, prompted=True)
    assert names(result) == ["police car"]
    assert result.detections.confidence.tolist() == pytest.approx([0.9])


def test_cross_prompt_nms_on_and_off() -> None:
    raw = [det("bus", 0.9), det("car", 0.7, (12, 10, 50, 40))]
    assert names(resolve(raw, ONTOLOGY, SETTINGS, prompted=True)) == ["bus"]
    off = SETTINGS.model_copy(update={"nms": "per_class"})
    assert names(resolve(raw, ONTOLOGY, off, prompted=True)) == ["bus", "car"]


def test_nms_none_keeps_duplicates_within_a_class() -> None:
    """Human ground truth is never suppressed: two overlapping cars stay two cars."""
    raw = [det("car", 1.0), det("car", 1.0, (11, 10, 50, 40))]
    per_class = SETTINGS.model_copy(update={"nms": "per_class"})
    assert names(resolve(raw, ONTOLOGY, per_class, prompted=True)) == ["car"]
    none = SETTINGS.model_copy(update={"nms": "none"})
    assert names(resolve(raw, ONTOLOGY, none, prompted=True)) == ["car", "car"]


def test_old_boolean_nms_setting_still_loads() -> None:
    assert LabelConfig.model_validate({"nms": True}).nms == "across_classes"
    assert LabelConfig.model_validate({"nms": False}).nms == "per_class"


def test_separate_objects_are_all_kept() -> None:
    raw = [det("car", 0.9, (0, 0, 30, 30)), det("police car", 0.9, (100, 0, 130, 30))]
    assert names(resolve(raw, ONTOLOGY, SETTINGS, prompted=True)) == ["car", "police car"]


def test_class_names_of_unprompted_teachers_match_by_name_or_prompt() -> None:
    raw = [
        det("Sedan", 1.0, (0, 0, 30, 30)),
        det("pedestrian", 1.0, (100, 0, 130, 90)),
        det("motorbike", 1.0, (200, 0, 230, 30)),
    ]
    result = resolve(raw, ONTOLOGY, SETTINGS, prompted=False)
    assert names(result) == ["car", "pedestrian"]
    assert result.unknown_labels == {"motorbike"}


def test_masks_travel_with_their_boxes() -> None:
    rle = {"size": [60, 80], "counts": "abc"}
    raw = [RawDetection("car", 0.9, (0.0, 0.0, 30.0, 30.0), rle)]
    result = resolve(raw, ONTOLOGY, SETTINGS, prompted=True)
    assert result.detections.data["rle"].tolist() == [rle]


def test_nothing_in_nothing_out() -> None:
    result = resolve([], ONTOLOGY, SETTINGS, prompted=True)
    assert len(result.detections) == 0 and names(result) == []
