"""Mask ↔ RLE ↔ polygon ↔ box conversions, checked against pycocotools itself."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from edgedistill.masks import (
    mask_to_rle,
    polygons_to_rle,
    rle_area,
    rle_to_box,
    rle_to_mask,
    rle_to_polygons,
)


def blob_mask() -> np.ndarray:
    mask = np.zeros((60, 80), dtype=bool)
    mask[10:30, 20:50] = True  # a rectangle
    mask[40:55, 5:15] = True  # and a second part
    return mask


def test_mask_rle_round_trip_matches_pycocotools() -> None:
    mask = blob_mask()
    rle = mask_to_rle(mask)
    assert rle["size"] == [60, 80] and isinstance(rle["counts"], str)
    reference = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle["counts"].encode() == reference["counts"]
    assert np.array_equal(rle_to_mask(rle), mask)
    assert rle_area(rle) == int(mask.sum()) == int(coco_mask.area(reference))


def test_box_from_rle_is_the_tight_box() -> None:
    rle = mask_to_rle(blob_mask())
    assert rle_to_box(rle) == (5.0, 10.0, 50.0, 55.0)
    x, y, w, h = coco_mask.toBbox(coco_mask.encode(np.asfortranarray(blob_mask().astype(np.uint8))))
    assert rle_to_box(rle) == (x, y, x + w, y + h)


def test_uncompressed_rle_counts_are_accepted() -> None:
    mask = blob_mask()
    counts, value, run = [], False, 0
    for pixel in mask.ravel(order="F"):
        if pixel == value:
            run += 1
        else:
            counts.append(run)
            value, run = pixel, 1
    counts.append(run)
    assert np.array_equal(rle_to_mask({"size": [60, 80], "counts": counts}), mask)


def test_polygons_to_rle_matches_pycocotools_rasterisation() -> None:
    square = [10.0, 10.0, 40.0, 10.0, 40.0, 30.0, 10.0, 30.0]
    triangle = [50.0, 50.0, 70.0, 50.0, 60.0, 58.0]
    rle = polygons_to_rle([square, triangle], 60, 80)
    reference = coco_mask.merge(coco_mask.frPyObjects([square, triangle], 60, 80))
    assert np.array_equal(rle_to_mask(rle), coco_mask.decode(reference).astype(bool))
    assert rle_area(rle) == int(coco_mask.area(reference))


def test_rle_to_polygons_and_back_keeps_the_shape() -> None:
    mask = blob_mask()
    polygons = rle_to_polygons(mask_to_rle(mask))
    assert len(polygons) == 2
    back = rle_to_mask(polygons_to_rle(polygons, 60, 80))
    overlap = (back & mask).sum() / (back | mask).sum()
    assert overlap > 0.85


def test_empty_mask() -> None:
    rle = mask_to_rle(np.zeros((8, 8), dtype=bool))
    assert rle_area(rle) == 0 and rle_to_polygons(rle) == []
    assert rle_area(polygons_to_rle([], 8, 8)) == 0
