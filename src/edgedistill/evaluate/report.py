"""``report.md`` and ``report.html`` from one evaluation: the report is built once as a list
of blocks (headings, paragraphs, tables, images), then rendered to each format."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import matplotlib

from edgedistill.metrics import Comparison, Distillation, EvalMetrics, MapPair, Speed

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from edgedistill.evaluate.report_compare import (  # noqa: E402
    CompareSection,
    compare_section,
    false_positive_section,
)

SAMPLE_CAPTION = "teacher's labels (left), student's detections (right)"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    flag: str | None = None  # "Caveat." or "Regression.": a boxed warning


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Images:
    paths: list[str]
    caption: str | None = None  # a caption under each image (sample pairs)


Block = Heading | Paragraph | Bullets | Table | Images


def write_reports(directory: Path, metrics: EvalMetrics, samples: list[str]) -> None:
    """Write both formats of the report into ``directory`` (plots are already there)."""
    bars = _per_class_bars(directory, metrics.vs_teacher)
    blocks = report_blocks(metrics, bars, samples)
    (directory / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    (directory / "report.html").write_text(to_html(blocks), encoding="utf-8")


def report_blocks(metrics: EvalMetrics, bars: str | None, samples: list[str]) -> list[Block]:
    """What the report says, in order, in no particular format."""
    teacher = metrics.vs_teacher
    blocks: list[Block] = [
        Heading(f"Student report — {Path(metrics.weights).name}", level=1),
        *(Paragraph(caveat, flag="Caveat.") for caveat in metrics.caveats),
        *(Paragraph(line, flag="Regression.") for line in metrics.regressions),
        Paragraph(f"Weights {metrics.weights}. {_teacher_line(metrics)} {_model_line(metrics)}."),
        Heading("Accuracy"),
        Table(["comparison", "mAP50", "mAP50-95", "on"], _summary_rows(metrics)),
        *_compare_blocks(metrics),
        Heading("Per class (student vs teacher)"),
        _per_class_table(teacher) if teacher.per_class else Paragraph(_empty_per_class(metrics)),
    ]
    if metrics.distillation is not None and metrics.distillation.students:
        blocks += [
            Heading("Distillation: with and without the assistant"),
            _distillation_table(metrics.distillation),
        ]
    if teacher.sibling_confusions:
        rows = [[c.true, c.predicted, str(c.count)] for c in teacher.sibling_confusions]
        blocks += [
            Heading("Confusions between related classes"),
            Table(["true", "predicted as", "count"], rows),
        ]
    if metrics.speed is not None:
        blocks += [
            Heading(f"Speed at {metrics.speed.input} on {metrics.speed.device}"),
            Table(["backend", "model ms", "end-to-end ms", "fps"], _speed_rows(metrics.speed)),
        ]
    blocks += [
        Heading("Student vs teacher"),
        Images(([bars] if bars else []) + _key_plots(teacher.plots)),
    ]
    if samples:
        seen = "Held-out frames" if metrics.held_out else "Training frames"
        blocks += [
            Heading(f"{seen}: teacher (left) and student (right)"),
            Images(samples, caption=SAMPLE_CAPTION),
        ]
    return blocks


def to_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [f"> **{block.flag}** {block.text}" if block.flag else block.text, ""]
        elif isinstance(block, Bullets):
            lines += [*(f"- {item}" for item in block.items), ""]
        elif isinstance(block, Table):
            lines += [
                "| " + " | ".join(block.header) + " |",
                "|" + " --- |" * len(block.header),
                *("| " + " | ".join(row) + " |" for row in block.rows),
                "",
            ]
        elif block.caption:
            for path in block.paths:
                lines += [f"![{block.caption}]({path})", "", f"*{block.caption}*", ""]
        else:
            lines += [*(f"![{path}]({path})" for path in block.paths), ""]
    return "\n".join(lines)


def to_html(blocks: list[Block]) -> str:
    parts = [_html_block(block) for block in blocks]
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Student report"
        f"</title><style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def _html_block(block: Block) -> str:
    e = html.escape
    if isinstance(block, Heading):
        return f"<h{block.level}>{e(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        if block.flag:
            return f'<p class="caveat"><b>{e(block.flag)}</b> {e(block.text)}</p>'
        return f"<p>{e(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        head = "".join(f"<th>{e(h)}</th>" for h in block.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"
    if block.caption:
        return "".join(
            f'<figure><img class="wide" src="{e(p)}" alt="{e(block.caption)}">'
            f"<figcaption>{e(Path(p).stem)}: {e(block.caption)}</figcaption></figure>"
            for p in block.paths
        )
    return "".join(f'<img src="{e(p)}" alt="{e(p)}">' for p in block.paths)


_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
    "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
    "img{max-width:48%;margin:4px;border:1px solid #ddd}img.wide{max-width:100%}"
    "figure{margin:0 0 1em}figcaption{color:#444}"
    ".caveat{background:#fff3cd;border:2px solid #d39e00;padding:.6em 1em;font-size:15px}"
)


def _per_class_bars(directory: Path, comparison: Comparison) -> str | None:
    per_class = comparison.per_class
    if not per_class:
        return None
    names = list(per_class)
    figure, axis = plt.subplots(figsize=(max(5, 0.6 * len(names) + 2), 3.5))
    x = range(len(names))
    axis.bar([i - 0.2 for i in x], [per_class[n].ap50 for n in names], 0.4, label="AP50")
    axis.bar([i + 0.2 for i in x], [per_class[n].ap50_95 for n in names], 0.4, label="AP50-95")
    axis.set_xticks(list(x), names, rotation=30, ha="right")
    axis.set_ylim(0, 1)
    axis.set_title("student vs teacher, per class")
    axis.legend()
    figure.tight_layout()
    figure.savefig(directory / "per_class.png", dpi=110)
    plt.close(figure)
    return "per_class.png"


def _compare_blocks(metrics: EvalMetrics) -> list[Block]:
    """Starting weights, teacher and student side by side per class, and their false
    positives, when measured."""
    blocks: list[Block] = []
    for section in (compare_section(metrics), false_positive_section(metrics)):
        if section is not None:
            blocks += _section_blocks(section)
    return blocks


def _section_blocks(section: CompareSection) -> list[Block]:
    return [Heading(section.heading), Table(section.header, section.rows), Bullets(section.lines)]


def _per_class_table(comparison: Comparison) -> Table:
    rows = [
        [
            name,
            "—" if v.precision is None else f"{v.precision:.3f}",
            f"{v.recall:.3f}",
            f"{v.ap50:.3f}",
            f"{v.ap50_95:.3f}",
        ]
        for name, v in comparison.per_class.items()
    ]
    return Table(["class", "precision", "recall", "AP50", "AP50-95"], rows)


def _key_plots(plots: list[str]) -> list[str]:
    """The precision-recall curves and the normalised confusion matrix of a comparison."""
    wanted = ("PR_curve.png", "confusion_matrix_normalized.png")
    return [p for p in plots if p.endswith(wanted)]


def _summary_rows(metrics: EvalMetrics) -> list[list[str]]:
    teacher = metrics.vs_teacher
    rows = [
        [
            "student vs teacher labels",
            f"{teacher.map50:.3f}",
            f"{teacher.map50_95:.3f}",
            metrics.scored_on(),
        ]
    ]
    human = metrics.vs_human
    if human is not None:
        rows.append(
            [
                "student vs human labels",
                f"{human.map50:.3f}",
                f"{human.map50_95:.3f}",
                f"{human.images} images",
            ]
        )
        for model in (human.models.get("starting weights"), human.teacher):
            if model is not None:
                rows.append(
                    [
                        f"{model.role} vs human labels",
                        f"{model.map50:.3f}",
                        f"{model.map50_95:.3f}",
                        f"{model.images} images",
                    ]
                )
    return rows


DISTILLATION_HEADER = [
    "student",
    "distilled from",
    "vs teacher mAP50 / 50-95",
    "vs human mAP50 / 50-95",
]


def _distillation_table(distillation: Distillation) -> Table:
    """The student with and without feature distillation, side by side."""

    def pair(figures: MapPair | None) -> str:
        return f"{figures.map50:.3f} / {figures.map50_95:.3f}" if figures else "—"

    rows = [
        [
            row.run,
            f"{row.distilled_from} (weight {row.distill_weight:g})"
            if row.distilled_from
            else "— (plain)",
            pair(row.vs_teacher),
            pair(row.vs_human),
        ]
        for row in distillation.students
    ]
    return Table(DISTILLATION_HEADER, rows)


def _speed_rows(speed: Speed) -> list[list[str]]:
    rows = []
    for backend, timing in speed.backends().items():
        if timing.total_ms is not None:
            rows.append(
                [
                    backend,
                    f"{timing.inference_ms:.1f}",
                    f"{timing.total_ms:.1f}",
                    f"{timing.fps:.1f}",
                ]
            )
        else:
            rows.append([backend, "—", "—", timing.error or "failed"])
    return rows


def _model_line(metrics: EvalMetrics) -> str:
    m = metrics.model
    return (
        f"{m.parameters / 1e6:.2f} M parameters, {m.gflops} GFLOPs at {m.gflops_input}, "
        f"{m.weights_mb} MB weights, {len(m.classes)} classes"
    )


def _teacher_line(metrics: EvalMetrics) -> str:
    described = metrics.teacher_description or metrics.teacher
    return f"Labels by {described} (teacher fingerprint {metrics.teacher})."


def _empty_per_class(metrics: EvalMetrics) -> str:
    return (
        f"No class has a teacher label in {metrics.scored_on()}, so there is nothing "
        "to score per class: the teacher found no objects of the ontology's classes in these "
        "frames."
    )
