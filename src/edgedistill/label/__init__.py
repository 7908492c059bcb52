"""Label stage: teacher answers cached per (teacher, frame, prompt); ontology applied offline."""

from edgedistill.label.cache import LabelCache
from edgedistill.label.resolve import Resolution, resolve
from edgedistill.label.runner import LabelReport, label_project
from edgedistill.label.summary import LabelSummary, summarize

__all__ = [
    "LabelCache",
    "LabelReport",
    "LabelSummary",
    "Resolution",
    "label_project",
    "resolve",
    "summarize",
]
