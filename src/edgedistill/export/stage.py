"""The export stage: the student as files for the phone, each checked against PyTorch."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgedistill.errors import EdgedistillError, UsageError
from edgedistill.export.card import CardFacts, ExportedFile, write_model_card
from edgedistill.export.formats import ExportOptions, get_format
from edgedistill.export.parity import FLOAT, INT8, Parity, ParityFrames, check_parity
from edgedistill.export.quantize import (
    CALIBRATION_FRAMES,
    DEFAULT_TOLERANCE,
    SCORED_FRAMES,
    Int8Verdict,
    ScoringSet,
    compare_precisions,
    spread,
)
from edgedistill.export.scoring import dataset_scoring, human_scoring
from edgedistill.ground_truth import check_ground_truth
from edgedistill.logs import ultralytics_silenced
from edgedistill.metrics import EvalMetrics
from edgedistill.project import DatasetRecord, Project
from edgedistill.student import PHONE_INPUT, load_student, load_yolo, provenance_caveats
from edgedistill.teachers.cache import LabelCache
from edgedistill.untrained import ensure_masked, masked_classes


@dataclass
class ExportReport:
    """What one export wrote and how each file compared with the PyTorch student."""

    directory: Path
    files: list[ExportedFile] = field(default_factory=list)
    parity: list[Parity] = field(default_factory=list)
    skipped_parity: list[str] = field(default_factory=list)
    card: Path | None = None
    precision: Int8Verdict | None = None
    """ONNX fp32 vs fp16 vs int8, with ``--int8`` (on human labels, else held-out frames)."""

    @property
    def ok(self) -> bool:
        shipped = self.precision is None or self.precision.shipped
        return shipped and all(p.ok for p in self.parity)

    def to_json(self) -> str:
        return json.dumps(
            {
                "directory": str(self.directory),
                "files": [asdict(f) for f in self.files],
                "parity": [{"format": p.format, "ok": p.ok, "line": p.line()} for p in self.parity],
                "skipped_parity": self.skipped_parity,
                "precision": self.precision.to_json() if self.precision else None,
                "card": str(self.card) if self.card else None,
            },
            indent=2,
        )


def export_student(  # noqa: PLR0913 — the export command's options, one each
    project: Project,
    formats: list[str],
    weights: Path | None = None,
    imgsz: tuple[int, int] = PHONE_INPUT,
    conf: float = 0.25,
    iou: float = 0.45,
    int8: bool = False,
    parity_frames: int = 20,
    int8_tolerance: float = DEFAULT_TOLERANCE,
    dynamic: bool = False,
) -> ExportReport:
    if dynamic and "onnx" not in formats:
        raise UsageError("--dynamic applies to the onnx format only: add -f onnx")
    chosen = [get_format(name) for name in dict.fromkeys(formats)]  # checks dependencies first
    weights = Path(weights) if weights else project.latest_weights()
    if not weights.is_file():
        raise EdgedistillError(f"{weights}: no such weights file")
    run = project.run_of(weights)
    if run is not None:  # a run trained before masking existed is masked first
        ensure_masked(run.directory)
    record = project.dataset(run.dataset if run else None)
    with project.open_catalog() as catalog:
        teacher = LabelCache(catalog).about(record.fingerprint)
    frames = _parity_frames(record, parity_frames)
    reference = load_student(str(weights))
    scoring = _int8_scoring(project, record, reference) if int8 and "onnx" in formats else None
    name = run.id if run else weights.stem
    report = ExportReport(project.exports_dir / name)
    report.directory.mkdir(parents=True, exist_ok=True)
    options = ExportOptions(imgsz, conf, iou, int8, record.data_yaml, dynamic)
    for fmt in chosen:
        try:
            with ultralytics_silenced():  # it prints paths we are about to move
                exported = fmt.export(load_student(str(weights)), options)
        except Exception as exc:  # the exporters raise many kinds; say it in one line
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise EdgedistillError(f"{fmt.name} export failed ({reason})") from None
        target = report.directory / exported.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        shutil.move(str(exported), target)
        report.files.append(ExportedFile(fmt.name, target.name, _size_mb(target), fmt.note))
        if fmt.name == "onnx" and scoring is not None:  # the ONNX file itself stays fp32
            report.precision = _int8_onnx(target, record.root, scoring, imgsz, int8_tolerance)
            report.files += _precision_files(report.precision)
        if fmt.runs_here:
            tolerance = INT8 if int8 and fmt.name != "onnx" else FLOAT
            exported = load_yolo(target, task=reference.task)
            report.parity.append(
                check_parity(fmt.name, reference, exported, frames, imgsz, conf, tolerance)
            )
        else:
            report.skipped_parity.append(fmt.name)
    backend = record.fingerprint.split(":")[0]
    metrics = _last_metrics(project, weights)
    provenance = provenance_caveats(teacher.caveat if teacher else None, run.model if run else None)
    facts = CardFacts(
        name=name,
        teacher=teacher.description if teacher else backend,
        teacher_backend=backend,
        fingerprint=record.fingerprint,
        caveats=list(dict.fromkeys(provenance + (metrics.caveats if metrics else []))),
        dataset=record.version,
        split=f"{_split_line(record.root)}; {record.holdout().sentence}",
        conf=conf,
        iou=iou,
        imgsz=imgsz,
        files=report.files,
        metrics=metrics,
        precision=report.precision.line() if report.precision else None,
        parity=[p.line() for p in report.parity],
        untrained=masked_classes(reference),
    )
    report.card = write_model_card(report.directory, project.config, facts)
    return report


def _int8_scoring(project: Project, record: DatasetRecord, reference: Any) -> ScoringSet:
    """What int8 is scored on (human labels of ``eval.gt``, else the dataset's labels),
    checked before any file is written."""
    names = list(reference.names.values())
    ontology = project.config.ontology
    gt = project.config.eval.gt
    if gt is not None:
        return human_scoring(check_ground_truth(gt), ontology, names, SCORED_FRAMES)
    return dataset_scoring(record, ontology, names, SCORED_FRAMES)


def _int8_onnx(
    fp32: Path, root: Path, scoring: ScoringSet, imgsz: tuple[int, int], tolerance: float
) -> Int8Verdict:
    """fp16 and int8 (calibrated on training frames) beside the fp32 ONNX file, all three
    scored on ``scoring``."""
    calibration = spread(sorted((root / "images" / "train").glob("*.jpg")), CALIBRATION_FRAMES)
    return compare_precisions(fp32, calibration, scoring, imgsz, tolerance)


def _precision_files(verdict: Int8Verdict) -> list[ExportedFile]:
    """The fp16 file, and the int8 file when it kept its accuracy."""
    notes = {
        "fp16": "fp16 weights and compute, float input/output",
        "int8": f"static int8 (QDQ, per-channel), mAP50-95 within {verdict.tolerance} of fp32",
    }
    return [
        ExportedFile(f"onnx-{s.precision}", s.file.name, s.mb, notes[s.precision])
        for s in verdict.scored
        if s.precision != "fp32" and s.file.is_file()
    ]


def _parity_frames(record: DatasetRecord, count: int) -> ParityFrames:
    """Up to ``count`` frames, held-out ones (test, then val) before training frames."""
    held_out = [
        f
        for split in ("test", "val")
        for f in sorted((record.root / "images" / split).glob("*.jpg"))
    ][:count]
    train = sorted((record.root / "images" / "train").glob("*.jpg"))[: count - len(held_out)]
    if not held_out and not train:
        raise EdgedistillError(f"{record.root} holds no images for the parity check")
    return ParityFrames(held_out + train, len(held_out))


def _split_line(root: Path) -> str:
    saved = json.loads((root / "dataset.json").read_text())
    return ", ".join(f"{count} {split} images" for split, count in saved["images"].items())


def _last_metrics(project: Project, weights: Path) -> EvalMetrics | None:
    newest = next(project.reports_of(weights), None)
    return newest[1] if newest else None


def _size_mb(path: Path) -> float:
    if path.is_dir():
        return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 2)
    return round(path.stat().st_size / 1e6, 2)
