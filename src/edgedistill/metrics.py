"""What ``edgedistill eval`` measured, as typed records: written to ``metrics.json`` once,
read back by reports, the terminal, model cards, the pipeline and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassScores(_Record):
    precision: float | None  # None where classes were matched by name (COCOeval gives none)
    recall: float
    ap50: float
    ap50_95: float


class ConfusionMatrix(_Record):
    labels: list[str]
    rows_predicted_columns_true: list[list[int]]


class RelatedConfusion(_Record):
    """Objects of one class predicted as a related one (a parent, a sibling)."""

    true: str
    predicted: str
    count: int


class FalsePositiveCount(_Record):
    """One class of a model's output: its boxes at the HUD's confidence, and those that
    overlap no label of the class they score as (``scored_as``) at IoU 0.5. ``scored_as``
    None: the labels have no such class, so every box of it counts."""

    scored_as: str | None
    detections: int
    false_positives: int
    per_image: float


class Comparison(_Record):
    """A model scored against reference labels by Ultralytics' validator."""

    map50: float
    map50_95: float
    precision: float | None = None
    recall: float | None = None
    per_class: dict[str, ClassScores]
    confusion_matrix: ConfusionMatrix | None = None
    plots: list[str] = Field(default_factory=list)
    sibling_confusions: list[RelatedConfusion] = Field(default_factory=list)
    matched_by_name: bool = False
    """True for weights whose class list is not the dataset's: scored by COCOeval with
    classes matched by name through the ontology, not by Ultralytics' validator."""
    false_positives: dict[str, FalsePositiveCount] = Field(default_factory=dict)
    """Per class of the student's output, against the reference labels (the yardstick's
    count, :class:`ModelOnTruth`)."""


class NamedClassScore(_Record):
    """One class on the yardstick (COCOeval): AP at IoU 0.5 and 0.5:0.95, recall at 0.5
    (100 boxes per image), and the labelled boxes it was scored on."""

    ap50: float
    ap50_95: float
    recall: float
    instances: int


class ModelOnTruth(_Record):
    """A model (student, starting weights or teacher) scored on the yardstick; a class it
    has no name for is None, never 0."""

    role: str
    model: str
    images: int
    map50: float
    map50_95: float
    classes_scored: int
    per_class: dict[str, NamedClassScore | None]
    ignored_classes: list[str] = Field(default_factory=list)
    false_positives: dict[str, FalsePositiveCount] = Field(default_factory=dict)
    """Per class of the model's own output that the ontology knows, ghost classes too."""


class ScoringProtocol(_Record):
    """How every model on a yardstick was scored: score floor, class-aware NMS IoU after
    merging classes, and the confidence and IoU of the false-positive count."""

    score_floor: float
    nms_iou: float
    fp_conf: float
    fp_iou: float
    line: str


class RegressionRecord(_Record):
    """A class whose AP50 fell from the starting weights' to the student's."""

    name: str
    before: float
    after: float
    boxes: int
    basis: str
    line: str


class Yardstick(_Record):
    """Student, starting weights and teacher on one truth (human labels, or the starting
    weights' confident detections), classes matched by name through the ontology."""

    basis: str
    images: int
    classes: list[str]
    instances: dict[str, int]
    unmatched_labels: dict[str, int] = Field(default_factory=dict)
    unknown_labels: list[str] = Field(default_factory=list)
    models: dict[str, ModelOnTruth]
    notes: list[str] = Field(default_factory=list)
    regressions: list[RegressionRecord] = Field(default_factory=list)
    map50: float
    map50_95: float
    per_class: dict[str, NamedClassScore | None]
    teacher: ModelOnTruth | None = None
    protocol: ScoringProtocol | None = None
    """None in reports written before the protocol was recorded."""


class Timing(_Record):
    """One backend's ms per frame (median stages, mean end to end), or why it failed."""

    preprocess_ms: float | None = None
    inference_ms: float | None = None
    postprocess_ms: float | None = None
    total_ms: float | None = None
    fps: float | None = None
    file: str | None = None
    file_mb: float | None = None
    error: str | None = None


class Speed(_Record):
    input: str
    device: str
    runs: int
    pytorch: Timing | None = None
    onnxruntime: Timing | None = None

    def backends(self) -> dict[str, Timing]:
        return {
            name: timing
            for name, timing in (("pytorch", self.pytorch), ("onnxruntime", self.onnxruntime))
            if timing is not None
        }


class MapPair(_Record):
    map50: float
    map50_95: float


class DistilledStudent(_Record):
    """One of two students trained alike, with or without feature distillation."""

    run: str
    weights: str
    distilled_from: str | None = None
    distill_weight: float | None = None
    vs_teacher: MapPair | None = None
    vs_human: MapPair | None = None


class Distillation(_Record):
    """The distilled student first, then its plain twin (or the other way round)."""

    students: list[DistilledStudent]


class ModelFacts(_Record):
    parameters: int
    gflops: float
    gflops_input: str
    train_imgsz: int
    weights_mb: float
    classes: list[str]


class EvalMetrics(_Record):
    """Everything one evaluation of one student measured."""

    weights: str
    dataset: str
    teacher: str
    split: str
    held_out: bool
    imgsz: int
    created_at: str
    vs_teacher: Comparison
    model: ModelFacts
    vs_human: Yardstick | None = None
    vs_start: Yardstick | None = None
    regressions: list[str] = Field(default_factory=list)
    """One line per regressed class (the gate), said on top of the report and the terminal."""
    speed: Speed | None = None
    distillation: Distillation | None = None
    teacher_description: str = ""
    caveats: list[str] = Field(default_factory=list)
    held_out_by: Literal["sources", "time segments"] | None = None
    """How ``split`` was held out: whole sources training never saw, or time segments of
    the footage it trained on. None when nothing was, and in reports written before time
    segments existed (their held-out splits were whole sources)."""

    def scored_on(self) -> str:
        """Where the student-vs-teacher figures come from, and whether it was held out."""
        if not self.held_out:
            return f"the training frames of dataset {self.dataset} (nothing could be held out)"
        if self.held_out_by == "time segments":
            return (
                "held-out time segments of the footage it trained on (the "
                f"{self.split} split of dataset {self.dataset})"
            )
        return f"the held-out {self.split} split of dataset {self.dataset} (unseen sources)"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def read(cls, path: Path) -> EvalMetrics:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
