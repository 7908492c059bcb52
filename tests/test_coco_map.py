"""COCO mAP with known answers: identical → 1, disjoint → 0."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from edgedistill.coco_eval import coco_map

NAMES = ["car", "person"]


def boxes(rows: list[tuple[float, float, float, float, int]], score: float = 0.9):
    array = np.array([r[:4] for r in rows], dtype=np.float32).reshape(-1, 4)
    return sv.Detections(
        xyxy=array,
        class_id=np.array([r[4] for r in rows], dtype=int),
        confidence=np.full(len(rows), score, dtype=np.float32),
    )


TRUTH = [boxes([(10, 10, 50, 40, 0), (60, 10, 80, 70, 1)]), boxes([(5, 5, 30, 30, 0)])]
SIZES = [(100, 80), (100, 80)]


def test_identical_predictions_score_one() -> None:
    assert coco_map(SIZES, TRUTH, TRUTH, NAMES) == {"map50": 1.0, "map50_95": 1.0}


def test_disjoint_predictions_score_zero() -> None:
    far = [boxes([(90, 70, 99, 79, 0)]), boxes([(80, 60, 95, 75, 1)])]
    assert coco_map(SIZES, TRUTH, far, NAMES) == {"map50": 0.0, "map50_95": 0.0}


def test_right_place_wrong_class_scores_zero() -> None:
    swapped = [boxes([(10, 10, 50, 40, 1), (60, 10, 80, 70, 0)]), boxes([(5, 5, 30, 30, 1)])]
    assert coco_map(SIZES, TRUTH, swapped, NAMES)["map50"] == 0.0


def test_half_found_scores_in_between() -> None:
    half = [boxes([(10, 10, 50, 40, 0)]), boxes([])]
    result = coco_map(SIZES, TRUTH, half, NAMES)
    assert 0.0 < result["map50"] < 1.0
    # car: one of two found (AP 0.5); person: missed (AP 0); the mean is 0.25.
    assert result["map50"] == pytest.approx(0.25, abs=0.01)
