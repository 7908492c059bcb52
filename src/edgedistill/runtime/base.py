"""What every student runtime offers: class names, an input size and ``detect``."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np
import supervision as sv

from edgedistill.errors import EdgedistillError
from edgedistill.runtime.decode import Boxes
from edgedistill.runtime.letterbox import Placement


class RuntimeLoadError(EdgedistillError):
    """A student file the runtime cannot load or run."""


class StudentRuntime(Protocol):
    """A student ready to detect in BGR frames of any size."""

    names: list[str]
    input_size: tuple[int, int]
    """Height, width of the model input."""

    def detect(
        self,
        image: np.ndarray,
        conf: float,
        model_lock: AbstractContextManager[object] | None = None,
    ) -> sv.Detections:
        """Boxes in ``image``'s pixels scoring above ``conf``, with class ids and scores.

        ``model_lock`` is held while the model itself runs, and only then: a server that
        shares one student between connections prepares and decodes frames outside it.
        """
        ...


def detections_in_frame(boxes: Boxes, placement: Placement) -> sv.Detections:
    """Model-input boxes as ``sv.Detections`` in the frame's pixels."""
    return sv.Detections(
        xyxy=placement.to_frame(boxes.xyxy),
        confidence=boxes.scores.astype(np.float32),
        class_id=boxes.class_ids.astype(int),
    )
