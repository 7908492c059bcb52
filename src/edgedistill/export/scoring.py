"""What ``export --int8`` scores fp32, fp16 and int8 on: the human labels of ``eval.gt`` when
the project has them, else the teacher's labels on the dataset's held-out frames (test, else
val), else, said so, on its training frames."""

from __future__ import annotations

from collections import Counter

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
    else:
        how = "time segments of the training footage"
        how = how if record.holdout().by == "time segments" else "unseen sources"
        what = f"{len(images)} held-out {split} frames ({how}) against the teacher's labels"
    pairs = [(image, record.root / "labels" / split / f"{image.stem}.txt") for image in images]
    return label_files(pairs, names, what)


def human_scoring(
    human: HumanLabels, ontology: Ontology, model_names: list[str], count: int
) -> ScoringSet:
    """Up to ``count`` human-labelled images, their labels and the model's classes matched by
    name through the ontology (as ``eval --gt`` matches them); labels no class takes are
    left out, and named in the description."""
    chosen = HumanLabels(human.path, human.annotations, spread(human.images, count))
    rows = chosen.labelled()
    unmatched: Counter[str] = Counter()
    matched = []
    for _, _, _, labels in rows:
        kept = []
        for label, box in labels:
            cls = ontology.match(label)
            if cls is None:
                unmatched[label] += 1
            else:
                kept.append((ontology.output_name(cls.name), box))
        matched.append(kept)
    present = {name for labels in matched for name, _ in labels}
    names = [n for n in ontology.student_names if n in present]
    images = []
    for (path, width, height, _), labels in zip(rows, matched, strict=True):
        boxes = sv.Detections(
            xyxy=np.array([box for _, box in labels], dtype=np.float32).reshape(-1, 4),
            confidence=np.ones(len(labels), dtype=np.float32),
            class_id=np.array([names.index(name) for name, _ in labels], dtype=int),
        )
        images.append(LabelledImage(path, width, height, boxes))
    mapping = {
        index: names.index(target)
        for index, name in enumerate(model_names)
        if (target := ontology.nearest_among(name, names)) is not None
    }
    left_out = "".join(f"; {n} ({k} boxes) not scored" for n, k in sorted(unmatched.items()))
    what = f"{len(images)} human-labelled images of {human.path} ({', '.join(names)}{left_out})"
    return ScoringSet(what, names, images, mapping)
