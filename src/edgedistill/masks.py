"""Masks at rest as COCO RLE; polygons and boxes derived from them.

RLE dicts are ``{"size": [height, width], "counts": str}`` with compressed counts,
exactly what pycocotools and COCO JSON use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

Rle = dict[str, Any]
Box = tuple[float, float, float, float]


def mask_to_rle(mask: np.ndarray) -> Rle:
    """A binary HxW mask as compressed COCO RLE."""
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def rle_to_mask(rle: Rle) -> np.ndarray:
    """The HxW boolean mask of an RLE (compressed string or uncompressed list counts)."""
    return coco_mask.decode(_compressed(rle)).astype(bool)


def rle_area(rle: Rle) -> int:
    return int(coco_mask.area(_compressed(rle)))


def rle_to_box(rle: Rle) -> Box:
    """Tight xyxy box in pixels; (0, 0, 0, 0) for an empty mask."""
    x, y, w, h = (float(v) for v in coco_mask.toBbox(_compressed(rle)))
    return (x, y, x + w, y + h)


def polygons_to_rle(polygons: Sequence[Sequence[float]], height: int, width: int) -> Rle:
    """Flat ``[x1, y1, x2, y2, …]`` polygons (one object, maybe several parts) as one RLE."""
    parts = [list(map(float, p)) for p in polygons if len(p) >= 6]
    if not parts:
        return mask_to_rle(np.zeros((height, width), dtype=bool))
    merged = coco_mask.merge(coco_mask.frPyObjects(parts, height, width))
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def rle_to_polygons(rle: Rle, min_points: int = 3) -> list[list[float]]:
    """Outer contours of a mask as flat ``[x1, y1, …]`` polygons (for YOLO-seg and COCO)."""
    import supervision as sv  # with SciPy behind it: loaded when a mask is first traced

    polygons = sv.mask_to_polygons(rle_to_mask(rle))
    return [p.astype(float).ravel().tolist() for p in polygons if len(p) >= min_points]


def _compressed(rle: Rle) -> dict[str, Any]:
    """pycocotools' own form: bytes counts; list counts (uncompressed RLE) converted."""
    height, width = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, list):
        return coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {
        "size": [height, width],
        "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
    }
