"""What ``export --int8`` scores fp32, fp16 and int8 on: the human labels of ``eval.gt`` when
the project has them, else the teacher's labels on the dataset's held-out frames (test, else
val), else, said so, on its training frames."""

from __future__ import annotations

import numpy as np
import supervision as sv

from edgedistill.export.quantize import LabelledImage, ScoringSet, label_files, spread
from edgedistill.ontology import Ontology
from edgedistill.project import DatasetRecord
from edgedistill.teachers.ground_truth import HumanLabels


def dataset_scoring(record: DatasetRecord, names: list[str], count: int) -> ScoringSet:
    """Up to ``count`` frames of the held-out split with the teacher's labels; the training
    frames when nothing was held out."""
    split = record.scored_split() or "train"
    images = spread(sorted((record.root / "images" / split).glob("*.jpg")), count)
    if split == "train":
        what = (
            f"{len(images)} training frames against the teacher's labels "
            f"({record.holdout().sentence}; int8 was calibrated on these frames too)"
        )
    elif record.holdout().by == "time segments":
        what = (
            f"{len(images)} held-out {split} frames against the teacher's labels (time "
            "segments of the training videos)"
        )
    else:
        what = (
            f"{len(images)} held-out {split} frames against the teacher's labels (unseen sources)"
        )
    pairs = [(image, record.root / "labels" / split / f"{image.stem}.txt") for image in images]
    return label_files(pairs, names, what)


def human_scoring(
    human: HumanLabels, ontology: Ontology, model_names: list[str], count: int
) -> ScoringSet:
    """Up to ``count`` human-labelled images, their labels and the model's classes matched by
    name through the ontology (as ``eval --gt`` matches them); labels no class takes are
    left out."""
    chosen = HumanLabels(human.path, human.annotations, spread(human.images, count))
    rows = chosen.labelled()
    matched = [
        [(ontology.nearest_among(label, ontology.student_names), box) for label, box in labels]
        for _, _, _, labels in rows
    ]
    present = {name for labels in matched for name, _ in labels if name is not None}
    names = [n for n in ontology.student_names if n in present]
    images = []
    for (path, width, height, _), labels in zip(rows, matched, strict=True):
        kept = [(names.index(name), box) for name, box in labels if name is not None]
        boxes = sv.Detections(
            xyxy=np.array([box for _, box in kept], dtype=np.float32).reshape(-1, 4),
            confidence=np.ones(len(kept), dtype=np.float32),
            class_id=np.array([k for k, _ in kept], dtype=int),
        )
        images.append(LabelledImage(path, width, height, boxes))
    mapping = {
        index: names.index(target)
        for index, name in enumerate(model_names)
        if (target := ontology.nearest_among(name, names)) is not None
    }
    what = f"{len(images)} human-labelled images of {human.path} ({', '.join(names) or 'no class'})"
    return ScoringSet(what, names, images, mapping)
