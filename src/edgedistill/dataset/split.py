"""Train/val/test assignment by source: frames of one video never land in two splits.

A source's split depends only on its own id and the seed, so adding frames or
sources later never moves the ones already assigned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from edgedistill.yolo_format import Split


def unit_score(unit: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the unit and the seed."""
    digest = hashlib.sha256(f"{seed}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(units: Iterable[str], val: float, test: float, seed: int) -> dict[str, Split]:
    """Each unit (a video, an image, or a folder of images) to one split.

    Shares are met in expectation. With few units a split can come out empty:
    train always gets a unit, and val and test take the train units with the
    lowest scores while train keeps at least one.
    """
    scores = {unit: unit_score(unit, seed) for unit in set(units)}
    splits: dict[str, Split] = {}
    for unit, score in scores.items():
        splits[unit] = "test" if score < test else "val" if score < test + val else "train"
    if scores and "train" not in splits.values():
        splits[max(scores, key=scores.__getitem__)] = "train"
    shares: tuple[tuple[Split, float], ...] = (("val", val), ("test", test))
    needed = [name for name, share in shares if share > 0]
    for name in needed:
        train = sorted((u for u, s in splits.items() if s == "train"), key=scores.__getitem__)
        if name not in splits.values() and len(train) > 1:
            splits[train[0]] = name
    return splits
