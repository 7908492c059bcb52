"""What ``export --int8`` scores fp32, fp16 and int8 on: the human labels of ``eval.gt`` when
the project has them, else the teacher's labels on the dataset's held-out frames (test, else
val), else, said so, on its training frames. Either way the labels and the model's classes
meet by name through the ontology, as ``eval`` matches them (:mod:`edgedistill.yardstick`)."""

from __future__ import annotations

import json

from edgedistill.export.quantize import ScoringSet, spread
from edgedistill.ground_truth import HumanLabels
from edgedistill.ontology import Ontology
from edgedistill.project import DatasetRecord
from edgedistill.yardstick import Truth, class_map, truth_from_labels, yolo_labelled


def dataset_scoring(
    record: DatasetRecord, ontology: Ontology, model_names: list[str], count: int
) -> ScoringSet:
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
    names = json.loads((record.root / "dataset.json").read_text())["class_names"]
    pairs = [(image, record.root / "labels" / split / f"{image.stem}.txt") for image in images]
    truth = truth_from_labels(ontology, yolo_labelled(pairs, names))
    return _scoring(what, truth, ontology, model_names)


def human_scoring(
    human: HumanLabels, ontology: Ontology, model_names: list[str], count: int
) -> ScoringSet:
    """Up to ``count`` human-labelled images, their labels and the model's classes matched by
    name through the ontology (as ``eval --gt`` matches them); labels no class takes are
    left out, and named in the description."""
    chosen = HumanLabels(human.path, human.annotations, spread(human.images, count))
    truth = chosen.truth(ontology)
    left_out = [f"{name} ({n} boxes) not scored" for name, n in truth.unmatched.items()]
    what = "; ".join(([", ".join(truth.names)] if truth.names else []) + left_out)
    described = f"{len(truth.images)} human-labelled images of {human.path} ({what})"
    return _scoring(described, truth, ontology, model_names)


def _scoring(
    description: str, truth: Truth, ontology: Ontology, model_names: list[str]
) -> ScoringSet:
    mapping, _ = class_map(ontology, model_names, truth.names)
    return ScoringSet(description, truth, mapping)
