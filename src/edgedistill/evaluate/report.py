"""``report.md`` and ``report.html`` from ``metrics.json``: tables, plots, sample frames."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from edgedistill.evaluate.report_compare import CompareSection, compare_section  # noqa: E402


def write_reports(directory: Path, metrics: dict[str, Any], samples: list[str]) -> None:
    bars = _per_class_bars(directory, metrics["vs_teacher"]["per_class"])
    sections = _sections(metrics, bars, samples)
    (directory / "report.md").write_text(_markdown(metrics, sections), encoding="utf-8")
    (directory / "report.html").write_text(_html(metrics, sections), encoding="utf-8")


def _per_class_bars(directory: Path, per_class: dict[str, dict[str, float]]) -> str | None:
    if not per_class:
        return None
    names = list(per_class)
    figure, axis = plt.subplots(figsize=(max(5, 0.6 * len(names) + 2), 3.5))
    x = range(len(names))
    axis.bar([i - 0.2 for i in x], [per_class[n]["ap50"] for n in names], 0.4, label="AP50")
    axis.bar([i + 0.2 for i in x], [per_class[n]["ap50_95"] for n in names], 0.4, label="AP50-95")
    axis.set_xticks(list(x), names, rotation=30, ha="right")
    axis.set_ylim(0, 1)
    axis.set_title("student vs teacher, per class")
    axis.legend()
    figure.tight_layout()
    figure.savefig(directory / "per_class.png", dpi=110)
    plt.close(figure)
    return "per_class.png"


def _sections(metrics: dict[str, Any], bars: str | None, samples: list[str]) -> dict[str, Any]:
    teacher = metrics["vs_teacher"]
    return {
        "summary": _summary_rows(metrics),
        "per_class": [
            [
                name,
                "—" if v["precision"] is None else f"{v['precision']:.3f}",
                f"{v['recall']:.3f}",
                f"{v['ap50']:.3f}",
                f"{v['ap50_95']:.3f}",
            ]
            for name, v in teacher["per_class"].items()
        ],
        "confusions": [
            [c["true"], c["predicted"], str(c["count"])]
            for c in teacher.get("sibling_confusions", [])
        ],
        "images": ([bars] if bars else []) + _key_plots(teacher["plots"]),
        "samples": samples,
        "compare": compare_section(metrics),
    }


def _key_plots(plots: list[str]) -> list[str]:
    """The precision-recall curves and the normalised confusion matrix of a comparison."""
    wanted = ("PR_curve.png", "confusion_matrix_normalized.png")
    return [p for p in plots if p.endswith(wanted)]


def _scored_on(metrics: dict[str, Any]) -> str:
    if metrics.get("held_out", True):
        return f"held-out {metrics['split']} split of dataset {metrics['dataset']}"
    return f"the training frames of dataset {metrics['dataset']} (nothing could be held out)"


def _summary_rows(metrics: dict[str, Any]) -> list[list[str]]:
    teacher = metrics["vs_teacher"]
    rows = [
        [
            "student vs teacher labels",
            f"{teacher['map50']:.3f}",
            f"{teacher['map50_95']:.3f}",
            _scored_on(metrics),
        ]
    ]
    human = metrics.get("vs_human")
    if human:
        rows.append(
            [
                "student vs human labels",
                f"{human['map50']:.3f}",
                f"{human['map50_95']:.3f}",
                f"{human['images']} images",
            ]
        )
        start = human.get("models", {}).get("starting weights")
        if start:
            rows.append(
                [
                    "starting weights vs human labels",
                    f"{start['map50']:.3f}",
                    f"{start['map50_95']:.3f}",
                    f"{start['images']} images",
                ]
            )
        if human.get("teacher"):
            t = human["teacher"]
            rows.append(
                [
                    "teacher vs human labels",
                    f"{t['map50']:.3f}",
                    f"{t['map50_95']:.3f}",
                    f"{t['images']} images",
                ]
            )
    return rows


def _speed_rows(metrics: dict[str, Any]) -> list[list[str]]:
    speed = metrics.get("speed") or {}
    rows = []
    for backend in ("pytorch", "onnxruntime"):
        timing = speed.get(backend)
        if timing and "total_ms" in timing:
            rows.append(
                [
                    backend,
                    f"{timing['inference_ms']:.1f}",
                    f"{timing['total_ms']:.1f}",
                    f"{timing['fps']:.1f}",
                ]
            )
        elif timing:
            rows.append([backend, "—", "—", timing.get("error", "failed")])
    return rows


def _model_line(metrics: dict[str, Any]) -> str:
    m = metrics["model"]
    at = f" at {m['gflops_input']}" if "gflops_input" in m else ""
    return (
        f"{m['parameters'] / 1e6:.2f} M parameters, {m['gflops']} GFLOPs{at}, "
        f"{m['weights_mb']} MB weights, {len(m['classes'])} classes"
    )


def _teacher_line(metrics: dict[str, Any]) -> str:
    described = metrics.get("teacher_description") or metrics["teacher"]
    return f"Labels by {described} (teacher fingerprint {metrics['teacher']})."


def _empty_per_class(metrics: dict[str, Any]) -> str:
    return (
        f"No class has a teacher label in the {metrics['split']} split, so there is nothing "
        "to score per class: the teacher found no objects of the ontology's classes in these "
        "frames."
    )


SAMPLE_CAPTION = "teacher's labels (left), student's detections (right)"


def _markdown(metrics: dict[str, Any], s: dict[str, Any]) -> str:
    lines = [
        f"# Student report — {Path(metrics['weights']).name}",
        "",
        *(f"> **Caveat.** {caveat}\n" for caveat in metrics.get("caveats", [])),
        *(f"> **Regression.** {line}\n" for line in metrics.get("regressions") or []),
        f"Weights `{metrics['weights']}`. {_teacher_line(metrics)}",
        "",
        "## Accuracy",
        "",
        *_md_table(["comparison", "mAP50", "mAP50-95", "on"], s["summary"]),
        "",
    ]
    compare = s["compare"]
    if compare:
        lines += [
            f"## {compare.heading}",
            "",
            *_md_table(compare.header, compare.rows),
            "",
            *(f"- {line}" for line in compare.lines),
            "",
        ]
    lines += [
        "## Per class (student vs teacher)",
        "",
        *(
            _md_table(["class", "precision", "recall", "AP50", "AP50-95"], s["per_class"])
            if s["per_class"]
            else [_empty_per_class(metrics)]
        ),
        "",
    ]
    if s["confusions"]:
        lines += [
            "## Confusions between related classes",
            "",
            *_md_table(["true", "predicted as", "count"], s["confusions"]),
            "",
        ]
    speed = metrics.get("speed")
    if speed:
        lines += [
            f"## Speed at {speed['input']} on {speed['device']}",
            "",
            *_md_table(["backend", "model ms", "end-to-end ms", "fps"], _speed_rows(metrics)),
            "",
        ]
    lines += ["## Model", "", _model_line(metrics), "", "## Student vs teacher", ""]
    lines += [f"![{p}]({p})" for p in s["images"]]
    lines += ["", f"## {_samples_heading(metrics)}: teacher (left) and student (right)", ""]
    lines += [f"![{SAMPLE_CAPTION}]({p})\n\n*{SAMPLE_CAPTION}*\n" for p in s["samples"]]
    return "\n".join(lines) + "\n"


def _html_compare(compare: CompareSection | None, table: Any) -> list[str]:
    if compare is None:
        return []
    items = "".join(f"<li>{html.escape(line)}</li>" for line in compare.lines)
    return [
        f"<h2>{html.escape(compare.heading)}</h2>",
        table(compare.header, compare.rows),
        f"<ul>{items}</ul>",
    ]


def _samples_heading(metrics: dict[str, Any]) -> str:
    return "Held-out frames" if metrics.get("held_out", True) else "Training frames"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _html(metrics: dict[str, Any], s: dict[str, Any]) -> str:
    def table(header: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    speed = metrics.get("speed")
    per_class = (
        table(["class", "precision", "recall", "AP50", "AP50-95"], s["per_class"])
        if s["per_class"]
        else f"<p>{html.escape(_empty_per_class(metrics))}</p>"
    )
    parts = [
        f"<h1>Student report — {html.escape(Path(metrics['weights']).name)}</h1>",
        *(
            f'<p class="caveat"><b>Caveat.</b> {html.escape(caveat)}</p>'
            for caveat in metrics.get("caveats", [])
        ),
        *(
            f'<p class="caveat"><b>Regression.</b> {html.escape(line)}</p>'
            for line in metrics.get("regressions") or []
        ),
        f"<p>{html.escape(_teacher_line(metrics))} {html.escape(_model_line(metrics))}.</p>",
        "<h2>Accuracy</h2>",
        table(["comparison", "mAP50", "mAP50-95", "on"], s["summary"]),
        *_html_compare(s["compare"], table),
        "<h2>Per class (student vs teacher)</h2>",
        per_class,
    ]
    if s["confusions"]:
        parts += [
            "<h2>Confusions between related classes</h2>",
            table(["true", "predicted as", "count"], s["confusions"]),
        ]
    if speed:
        parts += [
            f"<h2>Speed at {html.escape(speed['input'])} on {html.escape(speed['device'])}</h2>",
            table(["backend", "model ms", "end-to-end ms", "fps"], _speed_rows(metrics)),
        ]

    def images(paths: list[str]) -> str:
        return "".join(f'<img src="{html.escape(p)}" alt="{html.escape(p)}">' for p in paths)

    parts += ["<h2>Student vs teacher</h2>", images(s["images"])]
    if s["samples"]:
        parts += [
            f"<h2>{_samples_heading(metrics)}: teacher (left) and student (right)</h2>",
            "".join(
                f'<figure><img class="wide" src="{html.escape(p)}" alt="{SAMPLE_CAPTION}">'
                f"<figcaption>{html.escape(Path(p).stem)}: {SAMPLE_CAPTION}</figcaption></figure>"
                for p in s["samples"]
            ),
        ]
    style = (
        "body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        "img{max-width:48%;margin:4px;border:1px solid #ddd}img.wide{max-width:100%}"
        "figure{margin:0 0 1em}figcaption{color:#444}"
        ".caveat{background:#fff3cd;border:2px solid #d39e00;padding:.6em 1em;font-size:15px}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Student report"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
