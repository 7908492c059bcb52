"""Label stage: run the teacher over pending frames, caching every answer; summarise."""

from edgedistill.label.runner import LabelReport, label_project
from edgedistill.label.summary import LabelSummary, summarize

__all__ = ["LabelReport", "LabelSummary", "label_project", "summarize"]
