"""The side-by-side sections of the report: starting weights, teacher and student per class
on one truth, what could not be compared, the classes the student lost, and each model's
false positives per class of its own output."""

from __future__ import annotations

from dataclasses import dataclass

from edgedistill.metrics import EvalMetrics, FalsePositiveCount, ModelOnTruth, Yardstick

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
    scored = ", ".join(roles[:-1]) + f" and {roles[-1]}" if len(roles) > 1 else roles[0]
    return CompareSection(
        f"{scored[0].upper()}{scored[1:]} per class ({on})",
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


def false_positive_section(metrics: EvalMetrics) -> CompareSection | None:
    """Per class of each model's output, its boxes at the HUD's confidence that match no
    label of the class they score as; the student's against the teacher's labels too."""
    comparison = metrics.vs_human or metrics.vs_start
    columns: list[tuple[str, dict[str, FalsePositiveCount]]] = []
    if comparison is not None:
        columns += [
            (r, comparison.models[r].false_positives) for r in ROLES if r in comparison.models
        ]
    if metrics.vs_teacher.false_positives:
        columns.append(("student on teacher labels", metrics.vs_teacher.false_positives))
    if not any(counts for _, counts in columns):
        return None
    names = list(dict.fromkeys(name for _, counts in reversed(columns) for name in counts))
    rows = [[name, *(_false_cell(counts.get(name)) for _, counts in columns)] for name in names]
    conf = comparison.protocol.fp_conf if comparison and comparison.protocol else None
    at = f" at confidence {conf:g}" if conf is not None else ""
    basis = f"{comparison.images} images, {comparison.basis}; " if comparison else ""
    teacher = f"teacher labels on {metrics.scored_on()}"
    return CompareSection(
        f"False positives per class{at} ({basis}{teacher})",
        ["class", *(f"{role}: false / boxes (per image)" for role, _ in columns)],
        rows,
        [
            "A false positive is a box that overlaps no label of the class it scores as "
            "(a sub-class scores as its nearest labelled ancestor) at IoU 0.5; a class the "
            "labels do not have (marked *) has every box counted, ghost classes included."
        ],
    )


def _false_cell(count: FalsePositiveCount | None) -> str:
    if count is None:
        return "no such class"
    mark = "*" if count.scored_as is None else ""
    return f"{count.false_positives}{mark} / {count.detections} ({count.per_image:.3f})"


def _lines(comparison: Yardstick, models: dict[str, ModelOnTruth], roles: list[str]) -> list[str]:
    lines = [comparison.protocol.line] if comparison.protocol else []
    lines += [r.line for r in comparison.regressions]
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
