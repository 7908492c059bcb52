"""Dataset formats: YOLO detect, YOLO segment and COCO JSON, one writer each.

Images are hard links to the project's frames (copies across file systems), so a
dataset costs no space and never touches the user's own files.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import supervision as sv

from edgedistill.detections import class_ids, confidences
from edgedistill.masks import rle_area, rle_to_polygons
from edgedistill.media.store import link_image
from edgedistill.yolo_format import FrameRef


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
            "category_id": int(class_ids(d)[i]) + 1,
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "area": float(rle_area(rle)) if rle else (x2 - x1) * (y2 - y1),
            "iscrowd": 0,
            "score": float(confidences(d)[i]),
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
