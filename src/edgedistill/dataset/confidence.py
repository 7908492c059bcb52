"""Soft use of the teacher's confidence, from the scores cached at a low floor.

- **Per-class thresholds** (``label.precision_target`` with ``label.reference``): for each
  class, the lowest score at which the teacher's labels reach the target precision
  against a reference teacher's labels of the same frames — human annotations of a
  reviewed sample (the ``annotations`` teacher). Classes with too few reference objects,
  or that never reach the target, keep their configured threshold.
- **Uncertain frames** (``dataset.uncertain_band``): a frame where the teacher scored an
  object just under its threshold (within the band) is left out of the dataset: it is
  neither a clean positive nor a clean negative.

Both are applied offline to the cache, so nothing is asked of the teacher again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import supervision as sv

from edgedistill.config import LabelConfig, ProjectConfig
from edgedistill.detections import class_ids, confidences
from edgedistill.errors import EdgedistillError
from edgedistill.ontology import Ontology
from edgedistill.teachers.base import RawDetection
from edgedistill.teachers.cache import LabelCache, cache_keys
from edgedistill.teachers.resolve import resolve

MIN_REFERENCE_OBJECTS = 10
"""A class with fewer reference objects keeps its configured threshold."""
MATCH_IOU = 0.5
_AS_GIVEN = LabelConfig(confidence=0.0, nms="none", min_box_area=0.0)


def calibrated(config: ProjectConfig, cache: LabelCache, fingerprint: str) -> ProjectConfig:
    """``config`` with per-class confidences chosen for ``label.precision_target``;
    unchanged when no target is set. Classes with a confidence of their own keep it."""
    target, reference = config.label.precision_target, config.label.reference
    if target is None:
        return config
    if reference is None:
        raise EdgedistillError(
            "label.precision_target needs label.reference: the teacher whose labels count as "
            "truth (e.g. annotations of a reviewed sample)"
        )
    thresholds = choose_thresholds(config, cache, fingerprint, reference, target)
    classes = [
        cls.model_copy(update={"confidence": thresholds[cls.name]})
        if cls.confidence is None and cls.name in thresholds
        else cls
        for cls in config.ontology.classes
    ]
    ontology = config.ontology.model_copy(update={"classes": classes})
    return config.model_copy(update={"ontology": ontology})


def choose_thresholds(
    config: ProjectConfig, cache: LabelCache, fingerprint: str, reference: str, target: float
) -> dict[str, float]:
    """Per ontology class: the lowest score whose labels reach ``target`` precision."""
    row = cache.catalog.execute(
        "SELECT fingerprint, prompted FROM teachers WHERE name = ? AND fingerprint != ? "
        "ORDER BY last_used DESC LIMIT 1",
        (reference, fingerprint),
    ).fetchone()
    if row is None:
        raise EdgedistillError(
            f"label.reference: nothing was labelled with teacher '{reference}' in this project"
        )
    ontology = config.ontology
    prompted = _prompted(cache, fingerprint)
    truth = dict(cache.detections(row[0], cache_keys(ontology.prompts, bool(row[1]))))
    floor = config.label.model_copy(update={"confidence": 0.0})
    unthresholded = _without_confidences(ontology)
    scored: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    references: dict[int, int] = defaultdict(int)
    for frame_id, raw in cache.detections(fingerprint, cache_keys(ontology.prompts, prompted)):
        if frame_id not in truth:
            continue
        labels = resolve(raw, unthresholded, floor, prompted).detections
        reviewed = resolve(truth[frame_id], unthresholded, _AS_GIVEN, bool(row[1])).detections
        reviewed_classes = class_ids(reviewed)
        for cls in set(reviewed_classes.tolist()):
            references[cls] += int(np.sum(reviewed_classes == cls))
        for cls, score, hit in match(labels, reviewed):
            scored[cls].append((score, hit))
    names = ontology.student_names
    thresholds = {}
    for cls, pairs in scored.items():
        chosen = lowest_threshold(pairs, target)
        if chosen is not None and references[cls] >= MIN_REFERENCE_OBJECTS:
            for source in ontology.classes:
                if ontology.output_name(source.name) == names[cls]:
                    thresholds[source.name] = round(chosen, 4)
    return thresholds


def lowest_threshold(pairs: Iterable[tuple[float, bool]], target: float) -> float | None:
    """The lowest score at which the labels scoring at least that reach ``target``
    precision; None when no threshold does."""
    ordered = sorted(pairs, key=lambda pair: -pair[0])
    hits, chosen = 0, None
    for count, (score, hit) in enumerate(ordered, start=1):
        hits += hit
        if hits / count >= target:
            chosen = score
    return chosen


def match(labels: sv.Detections, truth: sv.Detections) -> list[tuple[int, float, bool]]:
    """``(class, score, is a true positive)`` per label: greedy by score, one reference
    object of the same class each, IoU >= 0.5."""
    if not len(labels):
        return []
    ious = (
        sv.box_iou_batch(labels.xyxy, truth.xyxy)
        if len(truth)
        else np.zeros((len(labels), 0), dtype=np.float32)
    )
    classes, scores = class_ids(labels), confidences(labels)
    if len(truth):
        ious[classes[:, None] != class_ids(truth)[None, :]] = 0.0
    results = []
    for i in np.argsort(-scores):
        j = int(np.argmax(ious[i])) if ious.shape[1] else -1
        hit = j >= 0 and ious[i, j] >= MATCH_IOU
        if hit:
            ious[:, j] = 0.0
        results.append((int(classes[i]), float(scores[i]), bool(hit)))
    return results


def uncertain(
    raw: Iterable[RawDetection], ontology: Ontology, label: LabelConfig, band: float
) -> bool:
    """True when the teacher scored an object of a known class just under its threshold."""
    if band <= 0:
        return False
    for detection in raw:
        cls = ontology.match(detection.label) or ontology.class_for_prompt(detection.label)
        if cls is None:
            continue
        threshold = cls.confidence if cls.confidence is not None else label.confidence
        if threshold - band <= detection.score < threshold:
            return True
    return False


def _without_confidences(ontology: Ontology) -> Ontology:
    classes = [cls.model_copy(update={"confidence": None}) for cls in ontology.classes]
    return ontology.model_copy(update={"classes": classes})


def _prompted(cache: LabelCache, fingerprint: str) -> bool:
    row = cache.catalog.execute(
        "SELECT prompted FROM teachers WHERE fingerprint = ?", (fingerprint,)
    ).fetchone()
    return bool(row[0]) if row else False
