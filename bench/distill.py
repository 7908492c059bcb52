"""The distillation loop on real labelled road images; writes JSON and prints a summary.

``../shared/assets/datasets/highway`` (CC BY 4.0, Roboflow Universe "Highway Object
Detection" v40 by universitas-tidar) is ingested from its ``valid`` split (487 images)
and labelled by each teacher in turn:

- ``annotations``: the human labels themselves (the ceiling of a perfect teacher);
- ``coco``: a COCO-pretrained YOLO standing in for SAM3, mapped onto the classes by name.

Each time a COCO-pretrained student is fine-tuned on those labels and scored on the
``test`` split (251 images) against the human labels.

    .venv/bin/python bench/distill.py [--epochs 3] [--imgsz 416] [--cases annotations,coco]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgedistill.config import DatasetConfig, IngestConfig, TrainConfig  # noqa: E402
from edgedistill.dataset import build_dataset  # noqa: E402
from edgedistill.evaluate import evaluate  # noqa: E402
from edgedistill.ingest import ingest  # noqa: E402
from edgedistill.label import label_project  # noqa: E402
from edgedistill.project import init_project  # noqa: E402
from edgedistill.teachers import build_teacher  # noqa: E402
from edgedistill.train import train_student  # noqa: E402
from edgedistill.weights import WEIGHTS_DIR_VARIABLE  # noqa: E402
from tests.label_helpers import edit_config  # noqa: E402

ASSETS = ROOT.parent / "shared" / "assets"
HIGHWAY = ASSETS / "datasets" / "highway"
ONTOLOGY = {
    "classes": [
        {"name": "bus"},
        {"name": "car"},
        {"name": "person"},
        {"name": "truck"},
        {"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]},
    ]
}
CASES = {
    "annotations": ("annotations", {"annotations": HIGHWAY / "data.yaml"}),
    "coco": ("ultralytics", {"weights": "yolo11n.pt", "imgsz": 832}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="yolo11n.pt", help="student weights or YAML")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=416)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cases", default=",".join(CASES), help="teachers to compare")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "distill")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "distill.json")
    args = parser.parse_args()
    if not HIGHWAY.is_dir():
        raise SystemExit(f"{HIGHWAY} is missing: this benchmark needs ../shared/assets")
    os.environ.setdefault("YOLO_OFFLINE", "true")
    os.environ.setdefault(WEIGHTS_DIR_VARIABLE, str(ASSETS / "weights"))
    results = [run_case(name, args) for name in args.cases.split(",")]
    summary = {
        "benchmark": "distill",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "dataset": "highway v40 (CC BY 4.0): train on valid/ (487), test on test/ (251)",
        "cases": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"distill benchmark ({os.cpu_count()} cores), JSON in {args.out}")
    for case in results:
        human = case["vs_human"]
        print(
            f"teacher {case['case']:12} student {Path(case['student']['model']).name}, "
            f"{case['student']['epochs']} epochs at {case['student']['imgsz']} px: "
            f"mAP50 {human['map50']:.3f}, mAP50-95 {human['map50_95']:.3f} vs human labels "
            f"(labels {case['label_seconds']:.0f} s, training {case['train_seconds']:.0f} s)"
        )
        for name, values in human["per_class"].items():
            print(f"    {name:12} AP50 {values['ap50']:.3f}  AP50-95 {values['ap50_95']:.3f}")


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """Label valid/ with the case's teacher, fine-tune the student, score it on test/."""
    work = args.work / case
    shutil.rmtree(work, ignore_errors=True)
    project = init_project(work, "blank")
    project = edit_config(project, ontology=ONTOLOGY)
    ingest(project, [str(HIGHWAY / "valid" / "images")], IngestConfig(dedup=False))
    name, settings = CASES[case]
    teacher = build_teacher(project.config, name, settings)
    start = time.perf_counter()
    labelled = label_project(project, teacher)
    label_seconds = time.perf_counter() - start
    teacher.close()
    dataset = build_dataset(project, DatasetConfig(val=0.1, test=0.0, negatives=0.1))
    student = TrainConfig(
        model=args.model,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        patience=args.epochs,
    )
    start = time.perf_counter()
    run = train_student(project, student)
    train_seconds = time.perf_counter() - start
    report = evaluate(project, run.weights, gt=HIGHWAY / "data.yaml", device=args.device)
    metrics = report.metrics
    human = metrics.vs_human
    assert human is not None  # evaluate() was given the human labels
    return {
        "case": case,
        "teacher": metrics.teacher_description,
        "frames_labelled": labelled.frames_labelled,
        "split": {k: int(v) for k, v in dataset.images.items()},
        "objects": {k: dict(v) for k, v in dataset.instances.items()},
        "student": student.model_dump(),
        "label_seconds": round(label_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(train_seconds / args.epochs, 1),
        "vs_teacher": metrics.vs_teacher.model_dump(include={"map50", "map50_95"}),
        "vs_human": human.model_dump(include={"map50", "map50_95", "per_class", "images"}),
        "speed": metrics.speed.model_dump(exclude_none=True) if metrics.speed else None,
        "report": str(report.html),
    }


if __name__ == "__main__":
    main()
