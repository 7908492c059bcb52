"""Label stage: run the teacher over pending frames, caching every answer; summarise.

The names below load on first use (PEP 562): ``edgedistill status`` reads the summary
without loading the runner and its project lock.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgedistill.label.runner import LabelReport, label_project
    from edgedistill.label.summary import LabelSummary, summarize

_HOMES = {
    "LabelReport": "runner",
    "label_project": "runner",
    "LabelSummary": "summary",
    "summarize": "summary",
}

__all__ = ["LabelReport", "LabelSummary", "label_project", "summarize"]


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
