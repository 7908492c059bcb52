"""``MODEL_CARD.md``: what the student is, where its labels came from, how to run it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgedistill.config import ProjectConfig
from edgedistill.metrics import EvalMetrics
from edgedistill.student import PHONE_INPUT
from edgedistill.untrained import REASON


@dataclass(frozen=True)
class ExportedFile:
    format: str
    file: str
    mb: float
    note: str


@dataclass(frozen=True)
class CardFacts:
    """What the model card says beyond the ontology."""

    name: str
    teacher: str
    teacher_backend: str
    fingerprint: str
    caveats: list[str]
    dataset: str
    split: str
    conf: float
    iou: float
    imgsz: tuple[int, int]
    files: list[ExportedFile]
    metrics: EvalMetrics | None
    """The newest evaluation of these weights."""
    precision: str | None = None
    """The fp32 / fp16 / int8 comparison of ``export --int8``."""
    parity: list[str] = field(default_factory=list)
    """The parity line of each exported file checked here."""
    untrained: list[str] = field(default_factory=list)
    """Classes masked out of the head: no training box showed them."""


def write_model_card(directory: Path, config: ProjectConfig, facts: CardFacts) -> Path:
    ontology = config.ontology
    rows = []
    for cls in ontology.classes:
        parent = f" (a kind of {cls.parent})" if cls.parent else ""
        rows.append(f"| {ontology.output_name(cls.name)} | {', '.join(cls.prompts)}{parent} |")
    nc = len(ontology.student_names)
    height, width = facts.imgsz
    files = "\n".join(f"| {f.format} | `{f.file}` | {f.mb} MB | {f.note} |" for f in facts.files)
    sam = facts.teacher_backend in ("sam3", "roboflow-sam3")
    caveats = "".join(f"> **Caveat.** {caveat}\n\n" for caveat in facts.caveats)
    text = f"""# Model card — {facts.name}

{caveats}A small YOLO student distilled by edgedistill from the teacher {facts.teacher}
(fingerprint `{facts.fingerprint}`).

## Classes and the prompts behind them

| class | teacher prompts |
| --- | --- |
{chr(10).join(rows)}

Class ids follow this order from 0: {", ".join(ontology.student_names)}.
{_untrained(facts)}
## Data and accuracy

- Dataset `{facts.dataset}`: {facts.split}.
{_accuracy(facts.metrics)}- Thresholds: confidence {facts.conf}, NMS IoU {facts.iou}.
{_checks(facts)}
## Input and files

Input: RGB, {width}x{height} (width x height), values 0-1, letterboxed (grey 114 padding)
from a {PHONE_INPUT[1]}x{PHONE_INPUT[0]} camera frame.

| format | file | size | notes |
| --- | --- | --- | --- |
{files}

## Decoding the raw ONNX / LiteRT output

The output is `[1, 4 + {nc}, N]` (N anchors, {nc} classes; `[B, …]`, a row per frame,
from `export --dynamic`): for each anchor, rows 0-3 are the box centre x, centre y,
width and height in input pixels, and rows 4..{3 + nc} are the class scores (already
sigmoid). The app must: take each anchor's best
class and score, drop anchors under the confidence threshold ({facts.conf}), run
per-class non-maximum suppression at IoU {facts.iou}, and undo the letterbox (subtract
the padding, divide by the scale) to get boxes in camera pixels. The CoreML
package embeds NMS and returns boxes and confidences directly.

## Licences

- The student was trained with Ultralytics: the model is under **AGPL-3.0**
  (commercial use without releasing source needs an Ultralytics Enterprise licence).
"""
    if sam:
        text += (
            "- Its training labels were produced by SAM3: they are subject to "
            "**Meta's SAM License**.\n"
        )
    path = directory / "MODEL_CARD.md"
    path.write_text(text, encoding="utf-8")
    return path


def _accuracy(metrics: EvalMetrics | None) -> str:
    """The newest evaluation's figures, where they were measured, and its regressions."""
    if metrics is None:
        return "- Accuracy: not evaluated yet (run `edgedistill eval`).\n"
    teacher = metrics.vs_teacher
    lines = [
        f"- Accuracy against the teacher's labels at {metrics.imgsz} px: mAP50 "
        f"{teacher.map50:.3f}, mAP50-95 {teacher.map50_95:.3f} on {metrics.scored_on()}."
    ]
    human = metrics.vs_human
    if human is not None:
        others = [m for m in (human.models.get("starting weights"), human.teacher) if m]
        compared = "".join(
            f"; {m.role} mAP50 {m.map50:.3f}, mAP50-95 {m.map50_95:.3f}" for m in others
        )
        unscored = ", ".join(f"{n} ({k} boxes)" for n, k in human.unmatched_labels.items())
        lines.append(
            f"- Accuracy against human labels ({human.images} images): mAP50 "
            f"{human.map50:.3f}, mAP50-95 {human.map50_95:.3f}{compared}"
            + (f"; labels no class takes, not scored: {unscored}." if unscored else ".")
        )
    checked = metrics.vs_human or metrics.vs_start
    if metrics.regressions:
        lines += ["- Regressions:", *(f"  - {line}" for line in metrics.regressions)]
    elif checked is not None and "starting weights" in checked.models:
        lines.append(f"- Regressions: none against {checked.basis}.")
    else:
        lines.append("- Regressions: not checked (no starting weights to compare with).")
    return "".join(f"{line}\n" for line in lines)


def _checks(facts: CardFacts) -> str:
    """The parity lines, and the fp32 / fp16 / int8 line of ``export --int8``."""
    lines = [f"- {line[0].upper()}{line[1:]}." for line in facts.parity]
    if facts.precision:
        lines.append(f"- ONNX {facts.precision}.")
    return "".join(f"{line}\n" for line in lines)


def _untrained(facts: CardFacts) -> str:
    """The classes the student never outputs, and why."""
    if not facts.untrained:
        return ""
    return (
        f"\n**Never output:** {', '.join(facts.untrained)} — {REASON}. Their rows of the "
        "detection head are masked (zero weights, bias -30), so no runtime emits them; "
        "label footage that shows them and train again to add them.\n"
    )
