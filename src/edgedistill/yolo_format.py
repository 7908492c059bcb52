"""The YOLO label format, read and written in one place.

A label file has one object per line: ``class cx cy w h`` (a box) or
``class x1 y1 x2 y2 …`` (a polygon), coordinates normalised to the image size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import supervision as sv
import yaml

from edgedistill.detections import class_ids
from edgedistill.masks import rle_to_polygons
from edgedistill.media.store import link_image

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")


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


def pixel_box(
    coords: Sequence[float], width: int, height: int
) -> tuple[float, float, float, float]:
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


class FrameRef(Protocol):
    """A frame as the writers need it; read-only, so that frozen dataclasses satisfy it."""

    @property
    def id(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


class YoloWriter:
    """``images/{split}/{id}.jpg`` + ``labels/{split}/{id}.txt`` and a ``data.yaml``."""

    def __init__(self, root: Path, names: list[str], segments: bool) -> None:
        self.root, self.names, self.segments = root, names, segments
        self._splits: set[str] = set()

    def add(self, split: str, frame: FrameRef, detections: sv.Detections) -> None:
        self._splits.add(split)
        link_image(frame.path, self.root / "images" / split / f"{frame.id}.jpg")
        lines = [self._line(frame, detections, i) for i in range(len(detections))]
        label = self.root / "labels" / split / f"{frame.id}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(f"{line}\n" for line in lines))

    def _line(self, frame: FrameRef, detections: sv.Detections, i: int) -> str:
        cls = int(class_ids(detections)[i])
        w, h = frame.width, frame.height
        if not self.segments:
            return box_line(cls, detections.xyxy[i], w, h)
        x1, y1, x2, y2 = np.clip(detections.xyxy[i], 0, [w, h, w, h])
        polygon = _largest_polygon(detections.data["rle"][i]) or [x1, y1, x2, y1, x2, y2, x1, y2]
        return polygon_line(cls, polygon, w, h)

    def close(self, fallback_val: bool) -> Path:
        """Write ``data.yaml``; without a val split, validation uses train (said loudly)."""
        splits: dict[str, str] = {s: f"images/{s}" for s in SPLITS if s in self._splits}
        first = next(iter(splits.values()), "images/train")
        if "val" not in splits and fallback_val:
            splits["val"] = splits.get("train", first)
        # Ultralytics requires a train entry even for a validation-only dataset.
        splits = {"train": splits.get("train", first), **splits}
        data: dict[str, object] = {
            "path": str(self.root),
            **splits,
            "names": dict(enumerate(self.names)),
        }
        path = self.root / "data.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return path


def _largest_polygon(rle: dict | None) -> list[float] | None:
    if not rle:
        return None
    polygons = rle_to_polygons(rle)
    return max(polygons, key=_polygon_area) if polygons else None


def _polygon_area(flat: list[float]) -> float:
    x, y = np.asarray(flat[0::2]), np.asarray(flat[1::2])
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
