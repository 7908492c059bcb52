"""Dataset formats: YOLO detect, YOLO segment and COCO JSON, one writer each.

Images are hard links to the project's frames (copies across file systems), so a
dataset costs no space and never touches the user's own files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import supervision as sv
import yaml

from edgedistill.dataset.split import SPLITS
from edgedistill.masks import rle_area, rle_to_polygons
from edgedistill.yolo_format import box_line, polygon_line


class FrameRef(Protocol):
    id: str
    path: Path
    width: int
    height: int


def link_image(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


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
        cls = int(detections.class_id[i])
        w, h = frame.width, frame.height
        if not self.segments:
            return box_line(cls, detections.xyxy[i], w, h)
        x1, y1, x2, y2 = np.clip(detections.xyxy[i], 0, [w, h, w, h])
        polygon = _largest_polygon(detections.data["rle"][i]) or [x1, y1, x2, y1, x2, y2, x1, y2]
        return polygon_line(cls, polygon, w, h)

    def close(self, fallback_val: bool) -> Path:
        """Write ``data.yaml``; without a val split, validation uses train (said loudly)."""
        splits = {s: f"images/{s}" for s in SPLITS if s in self._splits}
        first = next(iter(splits.values()), "images/train")
        if "val" not in splits and fallback_val:
            splits["val"] = splits.get("train", first)
        # Ultralytics requires a train entry even for a validation-only dataset.
        splits = {"train": splits.get("train", first), **splits}
        data = {"path": str(self.root), **splits, "names": dict(enumerate(self.names))}
        path = self.root / "data.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return path


class CocoWriter:
    """``images/{split}/{id}.jpg`` + ``annotations/instances_{split}.json``."""

    def __init__(self, root: Path, names: list[str], parents: dict[str, str], rle: bool) -> None:
        self.root, self.names, self.rle = root, names, rle
        self.categories = [
            {"id": i + 1, "name": n, "supercategory": parents.get(n, "none")}
            for i, n in enumerate(names)
        ]
        self._images: dict[str, list[dict]] = defaultdict(list)
        self._annotations: dict[str, list[dict]] = defaultdict(list)

    def add(self, split: str, frame: FrameRef, detections: sv.Detections) -> None:
        link_image(frame.path, self.root / "images" / split / f"{frame.id}.jpg")
        image_id = len(self._images[split]) + 1
        self._images[split].append(
            {
                "id": image_id,
                "file_name": f"{split}/{frame.id}.jpg",
                "width": frame.width,
                "height": frame.height,
            }
        )
        for i in range(len(detections)):
            self._annotations[split].append(self._annotation(split, image_id, detections, i))

    def _annotation(self, split: str, image_id: int, d: sv.Detections, i: int) -> dict[str, Any]:
        x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
        rle = d.data["rle"][i]
        annotation: dict[str, Any] = {
            "id": len(self._annotations[split]) + 1,
            "image_id": image_id,
            "category_id": int(d.class_id[i]) + 1,
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "area": float(rle_area(rle)) if rle else (x2 - x1) * (y2 - y1),
            "iscrowd": 0,
            "score": float(d.confidence[i]),
        }
        if rle and self.rle:
            annotation["segmentation"] = rle
        elif rle:
            annotation["segmentation"] = rle_to_polygons(rle)
        else:
            annotation["segmentation"] = [[x1, y1, x2, y1, x2, y2, x1, y2]]
        return annotation

    def close(self, fallback_val: bool) -> None:
        folder = self.root / "annotations"
        folder.mkdir(parents=True, exist_ok=True)
        for split, images in self._images.items():
            coco = {
                "images": images,
                "annotations": self._annotations[split],
                "categories": self.categories,
            }
            (folder / f"instances_{split}.json").write_text(json.dumps(coco))


def _largest_polygon(rle: dict | None) -> list[float] | None:
    if not rle:
        return None
    polygons = rle_to_polygons(rle)
    return max(polygons, key=_polygon_area) if polygons else None


def _polygon_area(flat: list[float]) -> float:
    x, y = np.asarray(flat[0::2]), np.asarray(flat[1::2])
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
