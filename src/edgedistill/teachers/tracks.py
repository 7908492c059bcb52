"""One class per tracked object: the dataset stage's vote over a track's frames.

A teacher that tracks videos (``label.video: propagate``) gives each detection a
track id. Frame by frame, one car can be a ``car`` here and a ``police car`` there;
the vote settles the class once for the whole track. Overlapping tracks of related
classes (a class and its ancestor) on one frame vote for each other's class, and a
more specific class beats a general one, as on a single frame: a track ever seen as a
``police car`` (above its confidence) is a police car on all its frames.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import combinations

import numpy as np
import supervision as sv

from edgedistill.catalog import Catalog
from edgedistill.config import LabelConfig
from edgedistill.ontology import Ontology, OntologyClass
from edgedistill.teachers.base import RawDetection
from edgedistill.teachers.cache import LabelCache

Frames = Iterable[tuple[str, list[RawDetection]]]


def vote_track_classes(frames: Frames, ontology: Ontology, settings: LabelConfig) -> dict[str, str]:
    """``track id -> prompt`` that every detection of the track is relabelled with."""
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for _, raw in frames:
        tracked = _confident_tracked(raw, ontology, settings)
        for track, detection, cls in tracked:
            votes[track][cls.name] += detection.score
        for (track_a, a, class_a), (track_b, b, class_b) in combinations(tracked, 2):
            if track_a == track_b or not _related(ontology, class_a.name, class_b.name):
                continue
            if _iou(a.box, b.box) >= settings.parent_iou:
                votes[track_a][class_b.name] += b.score
                votes[track_b][class_a.name] += a.score
    return {track: ontology.get(_winner(ontology, v)).prompts[0] for track, v in votes.items()}


def relabel(raw: list[RawDetection], prompts: dict[str, str]) -> list[RawDetection]:
    """A frame's detections with each tracked one carrying its track's voted prompt."""
    return [
        RawDetection(prompts[d.track], d.score, d.box, d.rle, d.track) if d.track in prompts else d
        for d in raw
    ]


class TrackVotingCache(LabelCache):
    """The label cache, with tracked detections relabelled by their track's vote."""

    def __init__(self, catalog: Catalog, prompts: dict[str, str]) -> None:
        super().__init__(catalog)
        self.voted = prompts

    def detections(
        self, fingerprint: str, prompts: tuple[str, ...]
    ) -> Iterator[tuple[str, list[RawDetection]]]:
        for frame_id, raw in super().detections(fingerprint, prompts):
            yield frame_id, relabel(raw, self.voted)

    def frame_detections(
        self, fingerprint: str, frame_id: str, prompts: tuple[str, ...]
    ) -> list[RawDetection] | None:
        raw = super().frame_detections(fingerprint, frame_id, prompts)
        return None if raw is None else relabel(raw, self.voted)


def track_voting_cache(
    catalog: Catalog,
    fingerprint: str,
    prompts: tuple[str, ...],
    ontology: Ontology,
    settings: LabelConfig,
) -> TrackVotingCache:
    """The label cache as the dataset stage reads it: each tracked detection carries its
    track's voted class (one pass over the teacher's cached answers to count the votes)."""
    raw = LabelCache(catalog).detections(fingerprint, prompts)
    return TrackVotingCache(catalog, vote_track_classes(raw, ontology, settings))


def _confident_tracked(
    raw: list[RawDetection], ontology: Ontology, settings: LabelConfig
) -> list[tuple[str, RawDetection, OntologyClass]]:
    """Tracked detections that the frame-by-frame rules would keep, with track and class."""
    kept = []
    for detection in raw:
        cls = ontology.class_for_prompt(detection.label)
        if detection.track is None or cls is None:
            continue
        threshold = cls.confidence if cls.confidence is not None else settings.confidence
        if detection.score >= threshold:
            kept.append((detection.track, detection, cls))
    return kept


def _winner(ontology: Ontology, votes: dict[str, float]) -> str:
    """Drop every class that a more specific candidate beats, then the most votes win."""
    specific = [
        name
        for name in votes
        if not any(ontology.is_more_specific(other, name) for other in votes if other != name)
    ]
    return max(specific, key=lambda name: (votes[name], name))


def _related(ontology: Ontology, a: str, b: str) -> bool:
    return ontology.is_more_specific(a, b) or ontology.is_more_specific(b, a)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return float(sv.box_iou_batch(np.array([a]), np.array([b]))[0, 0])
