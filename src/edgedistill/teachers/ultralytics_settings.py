"""The ``ultralytics`` backend's settings: pydantic only, so that checking a config's
``teachers.ultralytics`` section loads no model code."""

from __future__ import annotations

from pydantic import Field

from edgedistill.teachers.base import TeacherSettings


class UltralyticsSettings(TeacherSettings):
    weights: str | None = None
    """Weights (``yolo11x.pt``, ``rtdetr-l.pt``, a path) or a model YAML (random init)."""
    imgsz: int = Field(default=640, ge=32)
    """Image size the teacher runs at, in pixels."""
    score_floor: float = 0.05
    """Lowest score kept in the label cache; thresholds apply later, offline."""
    iou: float = 0.7
    """IoU of the teacher's own NMS."""
    max_det: int = 100
    """Most detections per frame."""
    device: str = "auto"
    """Device the teacher runs on: auto, cpu, mps, or a GPU as 0 or cuda:0."""
    batch: int = 8
    """Frames per forward pass."""
