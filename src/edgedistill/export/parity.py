"""Parity: the exported model must find what the PyTorch student finds on the same frames
(held-out ones first, where the dataset has them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv

from edgedistill.detections import class_ids, confidences
from edgedistill.media.images import read_image


@dataclass(frozen=True)
class Tolerance:
    """How close an export must stay: every box for float exports; int8 drifts a little."""

    matched_share: float
    min_iou: float
    max_score_difference: float


FLOAT = Tolerance(matched_share=1.0, min_iou=0.9, max_score_difference=0.05)
INT8 = Tolerance(matched_share=0.85, min_iou=0.5, max_score_difference=0.25)


@dataclass(frozen=True)
class ParityFrames:
    """The frames a parity check runs on, and how many of them are held out."""

    paths: list[Path]
    held_out: int | None = None
    """None: not known (frames given by the user)."""


@dataclass(frozen=True)
class Parity:
    format: str
    frames: int
    reference_boxes: int
    matched: int
    min_iou: float
    max_score_difference: float
    tolerance: Tolerance = FLOAT
    held_out: int | None = None
    """How many of the frames are held out; None: not known (frames given by the user)."""

    @property
    def ok(self) -> bool:
        if self.reference_boxes == 0:
            return True
        t = self.tolerance
        return (
            self.matched >= t.matched_share * self.reference_boxes
            and self.min_iou >= t.min_iou
            and self.max_score_difference <= t.max_score_difference
        )

    def line(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        int8 = " (int8 tolerance)" if self.tolerance == INT8 else ""
        where = f"parity: {self.format}{int8} on {self._frames()}"
        if self.reference_boxes == 0:
            return (
                f"{where}: the student finds no boxes above the threshold there, so there is "
                "nothing to compare"
            )
        return (
            f"{where}: {self.matched}/{self.reference_boxes} boxes matched, min IoU "
            f"{self.min_iou:.3f}, max |Δscore| {self.max_score_difference:.3f} — {verdict}"
        )

    def _frames(self) -> str:
        if self.held_out is None:
            return f"{self.frames} frames"
        if self.held_out == self.frames:
            return f"{self.frames} held-out frames"
        if self.held_out == 0:
            return f"{self.frames} training frames (none held out)"
        training = self.frames - self.held_out
        return f"{self.frames} frames ({self.held_out} held out, {training} training)"


def check_parity(
    name: str,
    reference: Any,
    exported: Any,
    frames: ParityFrames,
    imgsz: tuple[int, int],
    conf: float,
    tolerance: Tolerance = FLOAT,
) -> Parity:
    """Match each reference box to an exported box of the same class (IoU >= 0.5 counts),
    frame by frame; ``tolerance`` decides whether the figures pass."""
    matched = total = 0
    min_iou, max_diff = 1.0, 0.0
    for frame in frames.paths:
        image = camera_frame(frame, imgsz)
        ours = _detect(reference, image, imgsz, conf)
        theirs = _detect(exported, image, imgsz, conf)
        total += len(ours)
        if not len(ours) or not len(theirs):
            continue
        ious = sv.box_iou_batch(ours.xyxy, theirs.xyxy)
        ours_scores, theirs_scores = confidences(ours), confidences(theirs)
        ious[class_ids(ours)[:, None] != class_ids(theirs)[None, :]] = 0.0
        for i in range(len(ours)):
            j = int(np.argmax(ious[i]))
            if ious[i, j] >= 0.5:
                matched += 1
                min_iou = min(min_iou, float(ious[i, j]))
                max_diff = max(max_diff, abs(float(ours_scores[i] - theirs_scores[j])))
                ious[:, j] = 0.0  # each exported box matches once
    return Parity(
        name, len(frames.paths), total, matched, min_iou, max_diff, tolerance, frames.held_out
    )


def camera_frame(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The frame as the phone sends it: exactly ``size`` (height, width), aspect kept.

    Both models then see the same pixels; PyTorch would otherwise letterbox a frame of
    another shape to a smaller rectangle than the fixed-size export does.
    """
    height, width = size
    image = read_image(path)
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(
        image,
        (round(image.shape[1] * scale), round(image.shape[0] * scale)),
        interpolation=cv2.INTER_AREA,
    )
    canvas = np.full((height, width, 3), 114, dtype=np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def _detect(model: Any, image: np.ndarray, imgsz: tuple[int, int], conf: float) -> sv.Detections:
    result = model.predict(image, imgsz=imgsz, conf=conf, device="cpu", verbose=False)[0]
    return sv.Detections.from_ultralytics(result)
