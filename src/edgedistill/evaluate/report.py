"""``report.md`` and ``report.html`` from ``metrics.json``: tables, plots, sample frames."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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
                f"{v['precision']:.3f}",
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
        "human_images": _key_plots(metrics.get("vs_human", {}).get("plots", [])),
        "samples": samples,
    }


def _key_plots(plots: list[str]) -> list[str]:
    """The precision-recall curves and the normalised confusion matrix of a comparison."""
    wanted = ("PR_curve.png", "confusion_matrix_normalized.png")
    return [p for p in plots if p.endswith(wanted)]


def _summary_rows(metrics: dict[str, Any]) -> list[list[str]]:
    teacher = metrics["vs_teacher"]
    rows = [
        [
            "student vs teacher labels",
            f"{teacher['map50']:.3f}",
            f"{teacher['map50_95']:.3f}",
            f"{metrics['split']} split of dataset {metrics['dataset']}",
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
        if human.get("teacher"):
            t = human["teacher"]
            rows.append(
                [
                    "teacher vs human labels",
                    f"{t['map50']:.3f}",
                    f"{t['map50_95']:.3f}",
                    f"{t['images']} images (COCOeval)",
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
            rows.append([backend, "—", "—", html.escape(timing.get("error", "failed"))])
    return rows


def _model_line(metrics: dict[str, Any]) -> str:
    m = metrics["model"]
    return (
        f"{m['parameters'] / 1e6:.2f} M parameters, {m['gflops']} GFLOPs, "
        f"{m['weights_mb']} MB weights, {len(m['classes'])} classes"
    )


def _markdown(metrics: dict[str, Any], s: dict[str, Any]) -> str:
    lines = [
        f"# Student report — {Path(metrics['weights']).name}",
        "",
        f"Weights `{metrics['weights']}`; labels by teacher `{metrics['teacher']}`.",
        "",
        "## Accuracy",
        "",
        *_md_table(["comparison", "mAP50", "mAP50-95", "on"], s["summary"]),
        "",
        "## Per class (student vs teacher)",
        "",
        *_md_table(["class", "precision", "recall", "AP50", "AP50-95"], s["per_class"]),
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
    if s["human_images"]:
        lines += ["", "## Student vs human labels", ""]
        lines += [f"![{p}]({p})" for p in s["human_images"]]
    lines += ["", "## Held-out frames: teacher (left) and student (right)", ""]
    lines += [f"![{p}]({p})" for p in s["samples"]]
    return "\n".join(lines) + "\n"


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
    parts = [
        f"<h1>Student report — {html.escape(Path(metrics['weights']).name)}</h1>",
        f"<p>Labels by teacher <code>{html.escape(metrics['teacher'])}</code>; "
        f"{html.escape(_model_line(metrics))}.</p>",
        "<h2>Accuracy</h2>",
        table(["comparison", "mAP50", "mAP50-95", "on"], s["summary"]),
        "<h2>Per class (student vs teacher)</h2>",
        table(["class", "precision", "recall", "AP50", "AP50-95"], s["per_class"]),
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
    if s["human_images"]:
        parts += ["<h2>Student vs human labels</h2>", images(s["human_images"])]
    if s["samples"]:
        parts += [
            "<h2>Held-out frames: teacher (left) and student (right)</h2>",
            "".join(f'<img class="wide" src="{html.escape(p)}">' for p in s["samples"]),
        ]
    style = (
        "body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        "img{max-width:48%;margin:4px;border:1px solid #ddd}img.wide{max-width:100%}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Student report"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
