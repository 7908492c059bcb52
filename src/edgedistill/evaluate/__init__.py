"""Eval stage: the student against the teacher and human labels, its speed, a report."""

from edgedistill.evaluate.stage import EvalReport, evaluate

__all__ = ["EvalReport", "evaluate"]
