"""The distillation loop on real labelled road images; writes JSON and prints a summary.

``../shared/assets/datasets/highway`` (CC BY 4.0, Roboflow Universe "Highway Object
Detection" v40 by universitas-tidar) is labelled by the ``annotations`` teacher: the
student trains on its ``valid`` split (487 images) and is evaluated on ``test``
(251 images) against the human labels.

    .venv/bin/python bench/distill.py [--epochs 10] [--imgsz 320] [--model yolo11n.yaml]
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
from tests.label_helpers import edit_config  # noqa: E402

HIGHWAY = ROOT.parent / "shared" / "assets" / "datasets" / "highway"
ONTOLOGY = {
    "classes": [
        {"name": "bus"},
        {"name": "car"},
        {"name": "person"},
        {"name": "truck"},
        {"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]},
    ]
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="yolo11n.yaml", help="student weights or YAML")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "distill")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "distill.json")
    args = parser.parse_args()
    if not HIGHWAY.is_dir():
        raise SystemExit(f"{HIGHWAY} is missing: this benchmark needs ../shared/assets")
    os.environ.setdefault("YOLO_OFFLINE", "true")
    shutil.rmtree(args.work, ignore_errors=True)
    project = init_project(args.work, "blank")
    edit_config(project, ontology=ONTOLOGY)

    ingest(project, [str(HIGHWAY / "valid" / "images")], IngestConfig(dedup=False))
    teacher = build_teacher(
        project.load_config(), "annotations", {"annotations": HIGHWAY / "data.yaml"}
    )
    labelled = label_project(project, teacher)
    dataset = build_dataset(project, DatasetConfig(val=0.1, test=0.0, negatives=0.1))
    settings = TrainConfig(
        model=args.model,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        patience=args.epochs,
    )
    start = time.perf_counter()
    run = train_student(project, settings)
    train_seconds = time.perf_counter() - start
    report = evaluate(project, run.weights, gt=HIGHWAY / "data.yaml", device=args.device)
    human = report.metrics["vs_human"]
    result = {
        "benchmark": "distill",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "dataset": "highway v40 (CC BY 4.0): train on valid/ (487), test on test/ (251)",
        "frames_labelled": labelled.frames_labelled,
        "split": {k: int(v) for k, v in dataset.images.items()},
        "student": settings.model_dump(),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(train_seconds / args.epochs, 1),
        "vs_human": {k: human[k] for k in ("map50", "map50_95", "per_class", "images")},
        "teacher_vs_human": human.get("teacher"),
        "speed": report.metrics.get("speed"),
        "report": str(report.html),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"distill benchmark ({os.cpu_count()} cores), JSON in {args.out}")
    print(
        f"student {args.model}, {args.epochs} epochs at {args.imgsz}: trained in "
        f"{train_seconds:.0f} s ({result['seconds_per_epoch']} s/epoch)"
    )
    print(f"vs human labels on test/: mAP50 {human['map50']:.3f}, mAP50-95 {human['map50_95']:.3f}")
    for name, values in human["per_class"].items():
        print(f"  {name:12} AP50 {values['ap50']:.3f}  AP50-95 {values['ap50_95']:.3f}")
    for backend in ("pytorch", "onnxruntime"):
        timing = (result["speed"] or {}).get(backend, {})
        if "total_ms" in timing:
            print(f"{backend}: {timing['total_ms']:.1f} ms/frame at 640x480")
    print(f"report: {report.html}")


if __name__ == "__main__":
    main()
