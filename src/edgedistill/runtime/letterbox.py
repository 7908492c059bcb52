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


class InputBuffer:
    """The model input (1x3xHxW float32 RGB in [0, 1]) kept from frame to frame and filled in
    place: a fresh 3.7 MB array per frame costs more in page faults than the conversion."""

    def __init__(self, input_size: tuple[int, int]) -> None:
        self.input_size = input_size
        self.tensor = np.empty((1, 3, *input_size), dtype=np.float32)
        self._frame_size: tuple[int, int] | None = None

    def fill(self, image: np.ndarray) -> Placement:
        """Letterbox ``image`` (BGR, uint8) into the tensor; where it sits in it."""
        placement = place(image.shape[:2], self.input_size)
        if placement.frame_size != self._frame_size:  # the bars move: paint them again
            self.tensor.fill(PAD_VALUE / 255)
            self._frame_size = placement.frame_size
        height, width = placement.inner
        if (height, width) != image.shape[:2]:
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        top, left = placement.top, placement.left
        inner = self.tensor[0, :, top : top + height, left : left + width]
        rgb_planes = image[..., ::-1].transpose(2, 0, 1)
        np.multiply(rgb_planes, np.float32(1 / 255), out=inner, casting="unsafe")
        return placement
