"""Distance and time-to-collision from a monocular camera, with stated assumptions.

- Distance: a pinhole camera sees an object of real width W metres at distance
  d as ``w = f * W / d`` pixels, with focal length ``f = (image width / 2) /
  tan(horizontal FOV / 2)`` in pixels. Typical vehicle widths per class stand in
  for W (a car 1.8 m, a bus 2.55 m …; overridable in the config's ``hud``).
- Time to collision: at constant closing speed, ``w(t) ∝ 1 / d(t)``, so
  ``TTC = d / (-ḋ) = 1 / (d ln w / dt)``. The rate comes from a least-squares
  line through ``ln w`` over the last ``window`` seconds, which smooths jitter,
  and is moved from the window's middle to its newest sample; a box that does
  not grow gives no TTC.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np


def focal_length_px(image_width: int, horizontal_fov_deg: float) -> float:
    return (image_width / 2) / math.tan(math.radians(horizontal_fov_deg) / 2)


def distance_m(box_width_px: float, real_width_m: float, focal_px: float) -> float | None:
    """Distance to an object of known real width from its width in pixels."""
    if box_width_px <= 0:
        return None
    return focal_px * real_width_m / box_width_px


class TimeToCollision:
    """TTC of one tracked object from the growth of its box over a time window."""

    def __init__(self, window_s: float = 1.0, min_samples: int = 4) -> None:
        self.window_s = window_s
        self.min_samples = min_samples
        self._samples: deque[tuple[float, float]] = deque()

    def update(self, time_s: float, box_width_px: float) -> float | None:
        """Add a sample; the TTC in seconds, or None when not approaching (or too few samples)."""
        if box_width_px > 0:
            self._samples.append((time_s, math.log(box_width_px)))
        while self._samples and time_s - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        return ttc_from_samples(self._samples) if len(self._samples) >= self.min_samples else None


def ttc_from_samples(samples: Sequence[tuple[float, float]]) -> float | None:
    """``1 / slope`` of ``ln(width)`` over time; None unless the box is growing."""
    times = np.array([t for t, _ in samples])
    logs = np.array([v for _, v in samples])
    if np.ptp(times) == 0:
        return None
    slope = float(np.polyfit(times - times.mean(), logs, 1)[0])
    # Growth under 0.5 %/s is noise (a TTC of minutes): report nothing.
    if slope <= 0.005:
        return None
    # The fitted rate belongs to the middle of the window; at constant closing
    # speed the TTC shrinks one second per second, so move it to the newest sample.
    ttc = 1.0 / slope - (times[-1] - times.mean())
    return max(ttc, 0.0)


def inside(point: tuple[float, float], polygon: Sequence[tuple[float, float]]) -> bool:
    """Point-in-polygon by ray casting."""
    x, y = point
    result = False
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
    return result
