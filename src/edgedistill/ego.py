"""The ego vehicle's own hood or dashboard: a region of the frame that is never an object.

A camera behind the windscreen often sees the car's own hood along the bottom edge. An
open-vocabulary teacher asked for "car" labels it, a student learns it, and the HUD would
pick it as the lead vehicle one metre ahead. The ego mask is a polygon in frame shares
(``(x, y)``, 0-1, y down): a box with at least :data:`INSIDE_SHARE` of its area inside it
is the ego vehicle, dropped from training labels and from the HUD before tracking.

:func:`find_ego_mask` finds the mask from labelled frames of one camera: a wide box on the
bottom edge that stays in place across most frames is the hood, since other road users
move. The app mirrors :func:`share_inside` in ``app/src/hud/ego.ts`` (golden vectors).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import supervision as sv

from edgedistill.detections import subset

Polygon = list[tuple[float, float]]
"""Vertices as (x, y) shares of the frame's width and height."""

INSIDE_SHARE = 0.5
"""A box with this share of its area inside the mask or more is the ego vehicle."""
BOTTOM_EDGE = 0.97
"""A box whose bottom is this low (share of the height) touches the frame's bottom edge."""
MIN_WIDTH = 0.3
"""A hood or dashboard spans at least this share of the frame's width."""
MIN_TOP = 0.6
"""A hood or dashboard is the bottom of the view: its top is below this share of the height
(a box reaching higher is something in front of the camera, not the car itself)."""
SAME_PLACE_IOU = 0.6
"""Bottom-edge boxes this close to their median box are one unmoving thing."""
MIN_PRESENCE = 0.5
"""Share of the frames the unmoving box must be on to count as the hood."""
MIN_FRAMES = 3


@dataclass(frozen=True)
class EgoMaskFinding:
    """A mask found in labelled frames, and the evidence for it."""

    polygon: Polygon
    frames_on: int
    """Frames whose labels held the unmoving bottom-edge box."""
    frames: int

    def describe(self) -> str:
        xs, ys = [x for x, _ in self.polygon], [y for _, y in self.polygon]
        return (
            f"x {min(xs):.2f}-{max(xs):.2f}, y {min(ys):.2f}-{max(ys):.2f} of the frame, "
            f"found on {self.frames_on} of {self.frames} frames"
        )


def share_inside(box: Sequence[float], polygon: Sequence[tuple[float, float]]) -> float:
    """The share of the area of ``box`` (x1, y1, x2, y2) inside ``polygon`` (same units).

    The polygon is clipped to the box (Sutherland-Hodgman: the box is convex, so any simple
    polygon clips correctly for its area) and measured with the shoelace formula.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    area = (x2 - x1) * (y2 - y1)
    if area <= 0 or len(polygon) < 3:
        return 0.0
    clipped = [(float(x), float(y)) for x, y in polygon]
    for axis, bound, keep_above in ((0, x1, True), (0, x2, False), (1, y1, True), (1, y2, False)):
        clipped = _clip(clipped, axis, bound, keep_above)
        if not clipped:
            return 0.0
    return min(_area(clipped) / area, 1.0)


def outside_mask(
    detections: sv.Detections, polygon: Sequence[tuple[float, float]], size: tuple[int, int]
) -> sv.Detections:
    """``detections`` (pixels of a ``size`` = (width, height) frame) without the ego vehicle."""
    if not len(polygon) or not len(detections):
        return detections
    width, height = size
    scaled = [(x * width, y * height) for x, y in polygon]
    keep = np.array([share_inside(box, scaled) < INSIDE_SHARE for box in detections.xyxy])
    return subset(detections, keep)


def find_ego_mask(frames: Iterable[tuple[sv.Detections, int, int]]) -> EgoMaskFinding | None:
    """The hood in ``(detections, width, height)`` of frames from one camera, or None.

    Each frame's widest box on the bottom edge, its top in the lower part of the frame
    (:data:`MIN_TOP`), is a candidate; the candidates near their
    median box are one unmoving thing, the hood, when they are on at least
    :data:`MIN_PRESENCE` of the frames. The mask spans them all, down to the bottom edge.
    """
    candidates, total = [], 0
    for detections, width, height in frames:
        total += 1
        boxes = detections.xyxy / np.array([width, height, width, height], dtype=np.float64)
        hood_like = (boxes[:, 3] >= BOTTOM_EDGE) & (boxes[:, 1] >= MIN_TOP)
        on_edge = boxes[hood_like & (boxes[:, 2] - boxes[:, 0] >= MIN_WIDTH)]
        if len(on_edge):
            candidates.append(on_edge[np.argmax(on_edge[:, 2] - on_edge[:, 0])])
    needed = max(MIN_FRAMES, MIN_PRESENCE * total)
    if len(candidates) < needed:
        return None
    stacked = np.array(candidates)
    median = np.median(stacked, axis=0)
    members = stacked[sv.box_iou_batch(stacked, median[None])[:, 0] >= SAME_PLACE_IOU]
    if len(members) < needed:
        return None
    x1, y1 = float(members[:, 0].min()), float(members[:, 1].min())
    x2 = float(members[:, 2].max())
    x1, x2, y1 = round(max(x1, 0.0), 4), round(min(x2, 1.0), 4), round(max(y1, 0.0), 4)
    return EgoMaskFinding([(x1, y1), (x2, y1), (x2, 1.0), (x1, 1.0)], len(members), total)


def _clip(
    polygon: list[tuple[float, float]], axis: int, bound: float, keep_above: bool
) -> list[tuple[float, float]]:
    """The part of ``polygon`` on one side of the line ``point[axis] == bound``."""

    def inside(point: tuple[float, float]) -> bool:
        return point[axis] >= bound if keep_above else point[axis] <= bound

    result: list[tuple[float, float]] = []
    for index, current in enumerate(polygon):
        previous = polygon[index - 1]
        if inside(current) != inside(previous):
            t = (bound - previous[axis]) / (current[axis] - previous[axis])
            crossing = (
                previous[0] + t * (current[0] - previous[0]),
                previous[1] + t * (current[1] - previous[1]),
            )
            result.append(crossing)
        if inside(current):
            result.append(current)
    return result


def _area(polygon: list[tuple[float, float]]) -> float:
    """Shoelace area (absolute) of a polygon."""
    total = 0.0
    for index, (x, y) in enumerate(polygon):
        px, py = polygon[index - 1]
        total += px * y - x * py
    return abs(total) / 2
