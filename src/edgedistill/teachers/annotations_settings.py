"""The ``annotations`` backend's settings: pydantic only, so that checking a config's
``teachers.annotations`` section reads no labels and loads no numpy."""

from __future__ import annotations

from pathlib import Path

from edgedistill.teachers.base import TeacherSettings


class AnnotationsSettings(TeacherSettings):
    annotations: Path | None = None
    """A YOLO data.yaml, a YOLO labels folder, or a COCO JSON file."""
