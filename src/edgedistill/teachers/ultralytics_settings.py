"""The ``ultralytics`` backend's settings: pydantic only, so that checking a config's
``teachers.ultralytics`` section loads no model code."""

from __future__ import annotations

from edgedistill.teachers.base import TeacherSettings


class UltralyticsSettings(TeacherSettings):
    weights: str | None = None
    """Weights (``yolo11x.pt``, ``rtdetr-l.pt``, a path) or a model YAML (random init)."""
    imgsz: int = 640
    score_floor: float = 0.05
    iou: float = 0.7
    max_det: int = 100
    device: str = "auto"
    batch: int = 8
