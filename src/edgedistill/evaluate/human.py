"""Human labels for ``eval --gt`` in the ontology's classes (read and checked by
:mod:`edgedistill.teachers.ground_truth`; :mod:`edgedistill.evaluate.yardstick` scores every
model on them)."""

from __future__ import annotations

from edgedistill.evaluate.yardstick import Truth, truth_from_labels
from edgedistill.ontology import Ontology
from edgedistill.teachers.ground_truth import HumanLabels


def human_truth(ontology: Ontology, human: HumanLabels) -> Truth:
    """The human labels in the ontology's classes, matched by name, prompt or rename."""
    return truth_from_labels(ontology, human.labelled())
