"""The YOLO label format, read and written in one place.

A label file has one object per line: ``class cx cy w h`` (a box) or
``class x1 y1 x2 y2 …`` (a polygon), coordinates normalised to the image size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import supervision as sv


def parse_line(line: str) -> tuple[int, list[float]]:
    """``(class_id, coords)`` of one label line; ValueError says what is wrong."""
    values = line.split()
    if len(values) < 5:
        raise ValueError(f"{len(values)} values, a label needs a class and 4 or more coordinates")
    try:
        number = float(values[0])
        coords = [float(v) for v in values[1:]]
    except ValueError:
        raise ValueError("a class id or coordinate is not a number") from None
    if not number.is_integer() or number < 0:
        raise ValueError(f"class id {values[0]} is not a whole number ≥ 0")
    if not all(math.isfinite(v) for v in coords):
        raise ValueError("a coordinate is not finite")
    if len(coords) != 4 and (len(coords) % 2 or len(coords) < 6):
        raise ValueError(f"{len(coords)} coordinates: a box has 4, a polygon an even number ≥ 6")
    return int(number), coords


def pixel_box(coords: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    """``x1, y1, x2, y2`` in pixels of a box, or of a polygon's extent."""
    if len(coords) == 4:
        cx, cy, w, h = coords
        return (
            (cx - w / 2) * width,
            (cy - h / 2) * height,
            (cx + w / 2) * width,
            (cy + h / 2) * height,
        )
    xs, ys = np.asarray(coords[0::2]) * width, np.asarray(coords[1::2]) * height
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def pixel_polygon(coords: Sequence[float], width: int, height: int) -> list[float]:
    """A polygon's ``x1, y1, x2, y2, …`` in pixels."""
    return [v * (width if i % 2 == 0 else height) for i, v in enumerate(coords)]


def read_labels(path: Path, width: int, height: int) -> sv.Detections:
    """Boxes of a label file (segments give their extent); lines that are not labels are
    skipped, and a missing file means no objects."""
    boxes, classes = [], []
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        try:
            class_id, coords = parse_line(line)
        except ValueError:
            continue
        classes.append(class_id)
        boxes.append(pixel_box(coords, width, height))
    return sv.Detections(
        xyxy=np.array(boxes, dtype=np.float32).reshape(-1, 4),
        confidence=np.ones(len(boxes), dtype=np.float32),
        class_id=np.array(classes, dtype=int),
        data={"rle": np.empty(len(boxes), dtype=object)},
    )


def box_line(class_id: int, xyxy: Sequence[float], width: int, height: int) -> str:
    """The label line of a pixel box, clipped to the image."""
    x1, y1, x2, y2 = np.clip(np.asarray(xyxy, dtype=float), 0, [width, height, width, height])
    values = [(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height]
    return f"{class_id} " + " ".join(f"{v:.6f}" for v in values)


def polygon_line(class_id: int, polygon: Sequence[float], width: int, height: int) -> str:
    """The label line of a pixel polygon, clipped to the image."""
    normalised = [v / (width if k % 2 == 0 else height) for k, v in enumerate(polygon)]
    return f"{class_id} " + " ".join(f"{min(max(v, 0.0), 1.0):.6f}" for v in normalised)
