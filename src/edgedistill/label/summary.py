"""Counts of derived labels: labelled frames and objects per student class."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from edgedistill.config import ProjectConfig
from edgedistill.teachers.cache import LabelCache, cache_keys


@dataclass
class LabelSummary:
    """The labels of one teacher after the ontology, counted; streamed, never all in memory."""

    teacher: str
    fingerprint: str
    labelled_frames: int = 0
    per_class: Counter[str] = field(default_factory=Counter)
    unknown_labels: set[str] = field(default_factory=set)
    calls: int = 0
    credits: float = 0.0


def summarize(
    cache: LabelCache, config: ProjectConfig, fingerprint: str, name: str, prompted: bool
) -> LabelSummary:
    prompts = cache_keys(config.ontology.prompts, prompted)
    summary = LabelSummary(name, fingerprint)
    summary.calls, summary.credits = cache.spend(fingerprint)
    for name_ in config.ontology.student_names:
        summary.per_class[name_] = 0
    if not prompts:
        return summary
    # Resolving needs supervision (and SciPy behind it): loaded only when there are labels.
    from edgedistill.teachers.resolve import resolve

    for _, raw in cache.detections(fingerprint, prompts):
        resolution = resolve(raw, config.ontology, config.label, prompted)
        summary.labelled_frames += 1
        summary.per_class.update(resolution.detections.data["class_name"])
        summary.unknown_labels |= resolution.unknown_labels
    return summary
