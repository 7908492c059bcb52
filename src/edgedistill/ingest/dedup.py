"""Near-duplicate frames: drop a frame that looks like one kept a moment ago."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

THUMBNAIL_SIDE = 32


def signature(image: np.ndarray) -> np.ndarray:
    """A 32x32 grey thumbnail normalised to zero mean and unit contrast.

    Area averaging over large blocks removes sensor and compression noise; the
    normalisation makes exposure changes (a cloud, a tunnel exit) not count.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    thumb = cv2.resize(grey, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA)
    thumb = thumb.astype(np.float32)
    return (thumb - thumb.mean()) / (thumb.std() + 1.0)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two signatures: 0 for the same picture."""
    return float(np.abs(a - b).mean())


class NearDuplicateFilter:
    """Remembers the last ``window`` kept frames of a stream and rejects look-alikes.

    Comparing against kept frames rather than the previous sample makes a slow
    drift (creeping in traffic) add a frame each time the view has changed
    enough, while a stop adds none.
    """

    def __init__(self, threshold: float, window: int = 8) -> None:
        self.threshold = threshold
        self._kept: deque[np.ndarray] = deque(maxlen=window)

    def is_duplicate(self, image: np.ndarray) -> bool:
        """True for a near-duplicate; otherwise the frame is remembered as kept."""
        current = signature(image)
        if any(difference(current, kept) <= self.threshold for kept in self._kept):
            return True
        self._kept.append(current)
        return False
