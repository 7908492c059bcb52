"""The ``sam3`` backend's settings: pydantic only, so that checking a config's
``teachers.sam3`` section loads neither numpy nor the SAM3 engines."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edgedistill.teachers.base import TeacherSettings

VideoMode = Literal["per_frame", "propagate"]


class Sam3Settings(TeacherSettings):
    weights: Path | None = None
    """Meta's sam3.pt, or a transformers directory (config.json + model.safetensors)."""
    device: str = "auto"
    """Device the teacher runs on: auto, cpu, mps, or a GPU as 0 or cuda:0."""
    batch_size: int = Field(default=4, ge=1)
    """Frames per forward pass."""
    score_floor: float = Field(default=0.05, ge=0.0, le=1.0)
    """Lowest score kept in the label cache; thresholds apply later, offline."""
    mask_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """Mask probability above which a pixel belongs to the object."""
    video: VideoMode = Field(default="per_frame", json_schema_extra={"flag": False})
    """Set from ``label.video`` (or ``--video``): label each frame alone, or track videos."""
    keyframe_interval: int = Field(default=3, ge=1)
    """propagate: detect with the text prompts on every n-th sampled frame, track between."""
    max_gap_s: float = Field(default=2.0, gt=0.0)
    """propagate: a longer gap between a video's sampled frames starts a fresh detection."""
    max_missed_keyframes: int = Field(default=2, ge=1)
    """propagate: a track no detection confirms on this many keyframes in a row ends."""
    track_score: float = Field(default=0.5, ge=0.0, le=1.0)
    """propagate: a detection starts a track at this score or above."""
    max_tracks: int = Field(default=64, ge=1)
    """propagate: objects tracked at once at most (the tracker's cost grows with them)."""
