"""The model input from a camera frame, and boxes back to the frame: Ultralytics' letterbox.

The arithmetic is Ultralytics' ``LetterBox`` (centred, grey 114, scaled up or down) and
``scale_boxes``, so that the ONNX student finds the boxes Ultralytics' predictor finds.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class Placement:
    """Where a frame sits in the model input: resized to ``inner`` and offset by the padding."""

    frame_size: tuple[int, int]
    """Height, width of the frame."""
    inner: tuple[int, int]
    """Height, width of the resized frame inside the input."""
    top: int
    left: int

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Boxes in input pixels as boxes in frame pixels, clipped to the frame."""
        height, width = self.frame_size
        gain_y, gain_x = self.inner[0] / height, self.inner[1] / width
        boxes = xyxy.astype(np.float32, copy=True)
        boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - self.left) / gain_x).clip(0, width)
        boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - self.top) / gain_y).clip(0, height)
        return boxes


def place(frame_size: tuple[int, int], input_size: tuple[int, int]) -> Placement:
    """Ultralytics' letterbox geometry for a frame of ``frame_size`` in ``input_size``."""
    height, width = frame_size
    scale = min(input_size[0] / height, input_size[1] / width)
    inner = max(round(height * scale), 1), max(round(width * scale), 1)
    pad_y, pad_x = (input_size[0] - inner[0]) / 2, (input_size[1] - inner[1]) / 2
    return Placement(frame_size, inner, round(pad_y - 0.1), round(pad_x - 0.1))


def letterbox(image: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, Placement]:
    """``image`` (BGR, uint8) resized into ``input_size`` with grey bars, and where it sits."""
    placement = place(image.shape[:2], input_size)
    inner_h, inner_w = placement.inner
    if (inner_h, inner_w) != image.shape[:2]:
        image = cv2.resize(image, (inner_w, inner_h), interpolation=cv2.INTER_LINEAR)
    bottom = input_size[0] - inner_h - placement.top
    right = input_size[1] - inner_w - placement.left
    if placement.top or bottom or placement.left or right:
        image = cv2.copyMakeBorder(
            image,
            placement.top,
            bottom,
            placement.left,
            right,
            cv2.BORDER_CONSTANT,
            value=(PAD_VALUE,) * 3,
        )
    return image, placement


def to_tensor(image: np.ndarray) -> np.ndarray:
    """A letterboxed BGR uint8 image as the model's input: 1x3xHxW float32 RGB in [0, 1]."""
    return cv2.dnn.blobFromImage(image, scalefactor=1 / 255, swapRB=True)
