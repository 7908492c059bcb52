"""Classes a student never saw a box of, masked out of its head.

Fine-tuning a COCO model onto the ontology gives every class a fresh row in the detection
head. A class the training labels never show keeps a row that nothing taught, and it fires
on whatever resembles the classes that were shown ("emergency lights" on ordinary cars).
After training, such rows are masked in the checkpoint itself: their weights zeroed and
their bias set to :data:`MASKED_BIAS`, so the class scores ``sigmoid(-30)`` on every input
and no runtime, export format or app ever emits it. The checkpoint records which classes
are masked (:data:`CHECKPOINT_KEY`), so that exports, model cards and a later training run
from these weights know: training from a masked checkpoint gives the rows a fresh start.

A training run's masking is recorded in its ``run.json`` (``untrained_classes``); a run
trained before masking existed is masked the first time it is used (:func:`ensure_masked`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from edgedistill.catalog import now
from edgedistill.errors import EdgedistillError
from edgedistill.yolo_format import parse_line

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "edgedistill_untrained"
"""Checkpoint entry: the names of the classes whose head rows are masked."""
MASKED_BIAS = -30.0
"""A masked row's bias: ``sigmoid(-30) ≈ 1e-13``, under any score floor, in fp16 as well."""
REASON = "no training boxes: the footage never showed it, so the student never learnt it"
"""Why a class is masked, in the words model.json, the model card and ``status`` use."""
HEAD_BRANCHES = ("cv3", "one2one_cv3")
"""Ultralytics' class branches of a Detect head (``one2one_cv3``: YOLO26's NMS-free head)."""


def training_box_counts(data_yaml: Path) -> Counter[str]:
    """Boxes per class name in the ``train`` split of a YOLO dataset (its label files)."""
    data = yaml.safe_load(data_yaml.read_text())
    names = _names(data["names"])
    counts: Counter[str] = Counter({name: 0 for name in names.values()})
    for path in _train_labels(data_yaml, data).glob("*.txt"):
        for line in path.read_text().splitlines():
            try:
                class_id, _ = parse_line(line)
            except ValueError:
                continue
            if class_id < len(names):
                counts[names[class_id]] += 1
    return counts


def classes_without_boxes(data_yaml: Path) -> list[str]:
    """The dataset's classes, in id order, that no training label shows."""
    return [name for name, count in training_box_counts(data_yaml).items() if count == 0]


def mask_run(directory: Path) -> list[str]:
    """Mask, in the checkpoints of the training run in ``directory``, the classes its
    training data (as Ultralytics recorded it in ``args.yaml``) never showed, and record
    them in ``run.json``; the classes masked. Labels with no box at all mask nothing (they
    say nothing about any class). Any failure is one sentence."""
    try:
        counts = training_box_counts(trained_data(directory))
        untrained = [name for name, count in counts.items() if count == 0]
        if not sum(counts.values()):
            log.warning("run %s trained on no boxes at all: no class is masked", directory.name)
            untrained = []
        for checkpoint in (directory / "weights").glob("*.pt") if untrained else ():
            mask_classes(checkpoint, untrained)
        _record(directory, untrained)
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        raise EdgedistillError(
            f"cannot mask the classes run {directory.name} never saw ({why}); its weights "
            "may still output them, and the next use of the run tries again"
        ) from None
    return untrained


def ensure_masked(directory: Path) -> list[str]:
    """The classes masked in the run in ``directory``, masking them first when the run was
    trained before masking existed."""
    recorded = _recorded(directory)
    if recorded is not None:
        return list(recorded["classes"])
    untrained = mask_run(directory)
    if untrained:
        log.warning(
            "masked the classes run %s never saw a box of: %s", directory.name, ", ".join(untrained)
        )
    return untrained


def masked_at(directory: Path) -> str | None:
    """When the run's classes without boxes were masked (None: never)."""
    recorded = _recorded(directory)
    return recorded.get("masked_at") if recorded else None


def trained_data(directory: Path) -> Path:
    """The ``data.yaml`` a run trained on, as Ultralytics recorded it in ``args.yaml``."""
    return Path(yaml.safe_load((directory / "args.yaml").read_text())["data"])


def mask_classes(weights: Path, names: Sequence[str]) -> None:
    """Mask the head rows of ``names`` in the checkpoint at ``weights``, in place.

    The file is replaced atomically: a kill leaves the old checkpoint or the new one.
    """
    import torch

    checkpoint = torch.load(weights, map_location="cpu", weights_only=False)
    for key in ("model", "ema"):
        if checkpoint.get(key) is not None:
            _mask_rows(checkpoint[key], _ids(checkpoint[key], names))
    checkpoint[CHECKPOINT_KEY] = list(names)
    partial = weights.with_name(f".{weights.name}.partial")
    torch.save(checkpoint, partial)
    os.replace(partial, weights)


def masked_classes(model: Any) -> list[str]:
    """The classes masked in a loaded Ultralytics model's checkpoint (none for other files)."""
    checkpoint = getattr(model, "ckpt", None) or {}
    return [str(name) for name in checkpoint.get(CHECKPOINT_KEY, [])]


def unmask_for_training(model: Any) -> list[str]:
    """Give the masked rows of a loaded Ultralytics model a fresh start before it trains
    again (a masked row's gradient is nil: it could never learn); the names unmasked."""
    import torch

    names = masked_classes(model)
    if not names:
        return []
    net = model.model
    head = net.model[-1]
    for branch in _branches(head):
        for stride, conv in zip(head.stride.tolist(), branch, strict=True):
            fresh = torch.nn.Conv2d(conv.in_channels, conv.out_channels, 1)
            with torch.no_grad():
                for row in _ids(net, names):
                    conv.weight[row] = fresh.weight[row].to(conv.weight.dtype)
                    # Ultralytics' bias_init: about 5 objects per 640 px image.
                    conv.bias[row] = math.log(5 / head.nc / (640 / stride) ** 2)
    model.ckpt.pop(CHECKPOINT_KEY, None)
    return names


def _recorded(directory: Path) -> dict[str, Any] | None:
    run_json = directory / "run.json"
    saved = json.loads(run_json.read_text()) if run_json.is_file() else {}
    recorded = saved.get("untrained_classes")
    return recorded if isinstance(recorded, dict) else None


def _record(directory: Path, untrained: list[str]) -> None:
    run_json = directory / "run.json"
    saved = json.loads(run_json.read_text()) if run_json.is_file() else {}
    saved["untrained_classes"] = {"classes": untrained, "reason": REASON, "masked_at": now()}
    partial = run_json.with_name(f".{run_json.name}.partial")
    partial.write_text(json.dumps(saved, indent=2))
    os.replace(partial, run_json)


def _train_labels(data_yaml: Path, data: dict[str, Any]) -> Path:
    """The label folder of the train split, as Ultralytics finds it: the last ``images``
    folder of the image path replaced by ``labels``."""
    root = Path(data.get("path") or data_yaml.parent)
    images = root / str(data.get("train", "images/train"))
    parts = list(images.parts)
    last = len(parts) - 1 - parts[::-1].index("images") if "images" in parts else None
    if last is None:
        raise KeyError(f"{images} is not inside an 'images' folder")
    labels = Path(*parts[:last], "labels", *parts[last + 1 :])
    if not labels.is_dir():
        raise KeyError(f"no label folder {labels}")
    return labels


def _mask_rows(net: Any, rows: Iterable[int]) -> None:
    import torch

    rows = list(rows)
    with torch.no_grad():
        for branch in _branches(net.model[-1]):
            for conv in branch:
                conv.weight[rows] = 0
                conv.bias[rows] = MASKED_BIAS


def _branches(head: Any) -> list[list[Any]]:
    """The last convolution of each scale, per class branch of the head."""
    return [
        [scale[-1] for scale in getattr(head, name)]
        for name in HEAD_BRANCHES
        if getattr(head, name, None) is not None
    ]


def _ids(net: Any, names: Sequence[str]) -> list[int]:
    index = {str(name): i for i, name in _names(net.names).items()}
    return [index[name] for name in names]


def _names(names: Any) -> dict[int, str]:
    return dict(enumerate(names)) if isinstance(names, list) else dict(names)
