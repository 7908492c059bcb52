"""The side-by-side section of the report: starting weights, teacher and student per class
on one truth, what could not be compared, and the classes the student lost."""

from __future__ import annotations

from dataclasses import dataclass

from edgedistill.metrics import EvalMetrics, ModelOnTruth, Yardstick

ROLES = ("starting weights", "teacher", "student")


@dataclass(frozen=True)
class CompareSection:
    """A heading, the per-class table and the lines said under it."""

    heading: str
    header: list[str]
    rows: list[list[str]]
    lines: list[str]


def compare_section(metrics: EvalMetrics) -> CompareSection | None:
    """The section for ``vs_human`` (else ``vs_start``), or None without either."""
    comparison = metrics.vs_human or metrics.vs_start
    if comparison is None:
        return None
    models = comparison.models
    roles = [r for r in ROLES if r in models]
    header = ["class", "boxes", *(f"{r} AP50 (recall)" for r in roles)]
    rows = [
        [name, str(comparison.instances[name]), *(_cell(models[r], name) for r in roles)]
        for name in comparison.classes
    ]
    rows.append(["mAP50", "", *(_mean(models[r]) for r in roles)])
    on = f"{comparison.images} images, {comparison.basis}"
    return CompareSection(
        f"Starting weights, teacher and student per class ({on})",
        header,
        rows,
        _lines(comparison, models, roles),
    )


def _cell(model: ModelOnTruth, name: str) -> str:
    figures = model.per_class.get(name)
    if figures is None:
        return "no such class"
    return f"{figures.ap50:.3f} ({figures.recall:.2f})"


def _mean(model: ModelOnTruth) -> str:
    return f"{model.map50:.3f} over {model.classes_scored} classes"


def _lines(comparison: Yardstick, models: dict[str, ModelOnTruth], roles: list[str]) -> list[str]:
    lines = [r.line for r in comparison.regressions]
    if "starting weights" in models and not comparison.regressions:
        lines.append("No class the starting weights detected was lost by the student.")
    lines += [f"{models[r].role}: {models[r].model}." for r in roles]
    unmatched = comparison.unmatched_labels
    if unmatched:
        listed = ", ".join(f"{name} ({count} boxes)" for name, count in unmatched.items())
        lines.append(f"Labels no ontology class takes, not scored: {listed}.")
    for role in roles:
        ignored = models[role].ignored_classes
        if ignored:
            lines.append(
                f"Classes of the {role} outside the scored ones, not scored "
                f"({len(ignored)}): {', '.join(ignored)}."
            )
    return lines + comparison.notes
