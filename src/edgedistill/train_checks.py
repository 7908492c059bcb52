"""Checks before training: classes with too few examples to learn."""

from __future__ import annotations

import json

from edgedistill.catalog import Catalog


def rare_classes(catalog: Catalog, version: str, min_instances: int) -> list[str]:
    """One warning per class of dataset ``version`` with fewer than ``min_instances``
    training boxes: how many it holds and what the user can do."""
    row = catalog.execute(
        "SELECT class_names, counts FROM datasets WHERE version = ?", (version,)
    ).fetchone()
    if row is None or min_instances <= 0:
        return []
    names = json.loads(row[0])
    train = json.loads(row[1]).get("instances", {}).get("train", {})
    return [
        f"class '{name}' has {train.get(name, 0)} training "
        f"{'box' if train.get(name, 0) == 1 else 'boxes'} in dataset {version}, fewer than the "
        f"{min_instances} it takes to learn it (dataset.min_instances): add footage that shows "
        "it, label another source that contains it, or keep what the starting weights know of "
        "it (train.keep_known: true, or train.freeze)"
        for name in names
        if train.get(name, 0) < min_instances
    ]
