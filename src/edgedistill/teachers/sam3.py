"""Local SAM3 in every form a user has, behind one teacher (``sam3``).

``--weights`` picks the engine: Meta's ``sam3.pt`` runs through Ultralytics' SAM3
predictor; a transformers directory runs through ``Sam3Model`` (``facebook/sam3``) or
``Sam3LiteTextModel`` (EfficientSAM3's SAM3-LiteText), told apart by ``config.json``.
All share the raw-output cache, score floor, batching and a fingerprint from the
weights' bytes. With ``label.video: propagate`` the frames of each video are tracked
with SAM3's video model, detecting with the text prompts on keyframes only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import islice
from typing import Any, Protocol

import numpy as np
from PIL import Image

from edgedistill.devices import resolve_device
from edgedistill.teachers.base import (
    FrameInput,
    RawDetection,
    Teacher,
    TeacherResult,
    register_teacher,
)
from edgedistill.teachers.sam3_propagate import PropagationRules, propagate
from edgedistill.teachers.sam3_settings import Sam3Settings
from edgedistill.teachers.sam3_weights import WHERE_TO_GET_WEIGHTS, Sam3Weights, inspect_weights

log = logging.getLogger(__name__)

__all__ = ["WHERE_TO_GET_WEIGHTS", "Sam3Settings", "Sam3Teacher"]


class Sam3Images(Protocol):
    """An engine that labels still frames (transformers or Ultralytics)."""

    def detect(
        self,
        images: list[np.ndarray],
        prompts: list[str],
        score_floor: float,
        mask_threshold: float,
    ) -> list[list[RawDetection]]: ...

    def close(self) -> None: ...


@register_teacher
class Sam3Teacher(Teacher[Sam3Settings]):
    name = "sam3"
    title = "SAM3 (local)"
    Settings = Sam3Settings
    settings: Sam3Settings

    def __init__(self, settings: Sam3Settings) -> None:
        super().__init__(settings)
        self.weights: Sam3Weights = inspect_weights(settings.weights)
        self.device = resolve_device(settings.device)
        self.propagates = settings.video == "propagate"
        self.engine: Any = self._video_engine() if self.propagates else self._image_engine()
        if self.device == "cpu":
            log.warning(
                "SAM3 is running on the CPU: expect tens of seconds per frame with the "
                "real model; a CUDA GPU labels several frames per second"
            )

    def _image_engine(self) -> Sam3Images:
        half = self.device.startswith("cuda")
        if self.weights.kind == "ultralytics":
            from edgedistill.teachers.sam3_ultralytics import UltralyticsSam3Images

            return UltralyticsSam3Images(self.weights, self.device, half)
        import torch

        from edgedistill.teachers.sam3_hf import HfSam3Images

        dtype = torch.float16 if half else torch.float32
        return HfSam3Images(self.weights, self.device, dtype)

    def _video_engine(self) -> Any:
        s = self.settings
        half = self.device.startswith("cuda")
        if self.weights.kind == "ultralytics":
            from edgedistill.teachers.sam3_ultralytics_video import UltralyticsSam3Video

            return UltralyticsSam3Video(
                self.weights, self.device, half, s.track_score, s.max_tracks
            )
        import torch

        from edgedistill.teachers.sam3_hf import HfSam3Video

        dtype = torch.float16 if half else torch.float32
        return HfSam3Video(self.weights, self.device, dtype, s.track_score, s.max_tracks)

    def identity(self) -> dict[str, Any]:
        s = self.settings
        identity: dict[str, Any] = {
            "weights": self.weights.digest,
            "score_floor": s.score_floor,
            "mask_threshold": s.mask_threshold,
        }
        if self.propagates:  # per_frame keeps the identity (and cache) it always had
            identity["video"] = s.model_dump(
                include={
                    "video",
                    "keyframe_interval",
                    "max_gap_s",
                    "max_missed_keyframes",
                    "track_score",
                    "max_tracks",
                }
            )
        return identity

    def answer_down_to(self, floor: float, nms_iou: float, max_det: int) -> bool:
        """Frame by frame only: a tracking teacher's answers are its tracks, not a still
        image's boxes. SAM3 runs no NMS and caps no count of its own to change."""
        if self.propagates:
            return False
        self.settings = self.settings.model_copy(update={"score_floor": floor})
        return True

    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        if self.propagates:
            s = self.settings
            rules = PropagationRules(
                s.keyframe_interval, s.max_gap_s, s.max_missed_keyframes, s.mask_threshold
            )
            yield from propagate(frames, self.engine.open, _load_rgb, rules)
            return
        while batch := list(islice(frames, self.settings.batch_size)):
            yield from self._predict_batch(batch)

    def _predict_batch(self, batch: list[FrameInput]) -> Iterator[TeacherResult]:
        prompts = list(dict.fromkeys(p for f in batch for p in f.prompts))
        images = [_load_rgb(f) for f in batch]
        s = self.settings
        found = self.engine.detect(images, prompts, s.score_floor, s.mask_threshold)
        for frame, detections in zip(batch, found, strict=True):
            wanted = [d for d in detections if d.label in frame.prompts]
            yield TeacherResult(frame, frame.prompts, wanted, calls=1)

    def close(self) -> None:
        self.engine.close()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


def _load_rgb(frame: FrameInput) -> np.ndarray:
    with Image.open(frame.path) as image:
        return np.array(image.convert("RGB"))
