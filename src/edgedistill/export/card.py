"""``MODEL_CARD.md``: what the student is, where its labels came from, how to run it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgedistill.config import ProjectConfig
from edgedistill.metrics import Comparison
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
    metrics: Comparison | None
    precision: str | None = None
    """The fp32 / fp16 / int8 comparison of ``export --int8``."""
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
    metrics = facts.metrics
    accuracy = (
        f"mAP50 {metrics.map50:.3f}, mAP50-95 {metrics.map50_95:.3f} against the "
        f"teacher's labels on the held-out split"
        if metrics is not None
        else "not evaluated yet (run `edgedistill eval`)"
    )
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
- Accuracy: {accuracy}.
- Thresholds: confidence {facts.conf}, NMS IoU {facts.iou}.
{_precision(facts)}
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


def _untrained(facts: CardFacts) -> str:
    """The classes the student never outputs, and why."""
    if not facts.untrained:
        return ""
    return (
        f"\n**Never output:** {', '.join(facts.untrained)} — {REASON}. Their rows of the "
        "detection head are masked (zero weights, bias -30), so no runtime emits them; "
        "label footage that shows them and train again to add them.\n"
    )


def _precision(facts: CardFacts) -> str:
    """The fp32 / fp16 / int8 line of ``export --int8``, when there is one."""
    return f"- ONNX {facts.precision}.\n" if facts.precision else ""
