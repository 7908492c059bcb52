"""Does the student beat where it started? Human-label AP per class of the starting
weights, the teacher and the student, with and without the measures against forgetting.

Three cases, each labelled by a COCO-pretrained YOLO standing in for SAM3 (``ultralytics``
teacher, yolo11n at 640 px) and scored on the human labels of the highway set's ``test``
split (``../shared/assets/datasets/highway``, CC BY 4.0, 251 images):

- ``highway``: the student learns from the teacher's labels of the highway ``valid`` images;
- ``dashcam``: the student learns from the teacher's labels of the dashcam clip
  (``../shared/assets/videos``; it has no human labels of its own, so it is scored on the
  highway labels: road objects from another camera, the forgetting case of issue 18);
- ``driving``: issue 24's case, ``highway`` with the ``driving`` preset's 19 classes
  (sub-classes and ghost classes the labels never show; ``motorbike`` added as a prompt of
  ``motorcycle``), the teacher given as ``label``'s flags only (no ``teachers`` section)
  and the dataset split by the defaults: ``label --teacher ultralytics --weights
  yolo11n.pt``, ``dataset``, ``train``, ``eval --gt``. Each model's false positives per
  class at the HUD's confidence are printed beside the AP.

Variants (``--variants``): ``baseline`` (plain fine-tuning, nothing frozen); ``keep_known``
(the starting weights' confident boxes added where the teacher is silent); ``freeze`` (the
first 10 layers kept fixed, the default); ``cls_pw`` (class-balanced loss). Each over
``--seeds``. The same yardstick as ``edgedistill eval --gt``
(:mod:`edgedistill.yardstick`); the first run of each case also goes through
``evaluate`` for its report.

    nice -n 10 .venv/bin/python bench/quality.py [--epochs 3] [--imgsz 320] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgedistill.config import DatasetConfig, IngestConfig, TrainConfig  # noqa: E402
from edgedistill.dataset import build_dataset  # noqa: E402
from edgedistill.evaluate import evaluate  # noqa: E402
from edgedistill.evaluate.compare import starting_weights  # noqa: E402
from edgedistill.evaluate.regression import find_regressions  # noqa: E402
from edgedistill.evaluate.teacher_scores import teacher_on_truth  # noqa: E402
from edgedistill.ground_truth import check_ground_truth  # noqa: E402
from edgedistill.ingest import ingest  # noqa: E402
from edgedistill.keep_known import training_data  # noqa: E402
from edgedistill.label import label_project  # noqa: E402
from edgedistill.project import Project, init_project  # noqa: E402
from edgedistill.student import load_student  # noqa: E402
from edgedistill.teachers import build_teacher  # noqa: E402
from edgedistill.train import train_student  # noqa: E402
from edgedistill.weights import WEIGHTS_DIR_VARIABLE  # noqa: E402
from edgedistill.yardstick import predict_ultralytics, score  # noqa: E402
from tests.label_helpers import edit_config  # noqa: E402

ASSETS = ROOT.parent / "shared" / "assets"
HIGHWAY = ASSETS / "datasets" / "highway"
CLIP = ASSETS / "videos" / "dashcam_highway_960x540.mp4"
ONTOLOGY = {
    "classes": [
        {"name": "bus"},
        {"name": "car"},
        {"name": "person", "prompts": ["person", "pedestrian"]},
        {"name": "truck"},
        {"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]},
    ]
}
TEACHER = {"weights": "yolo11n.pt", "imgsz": 640}
SPLITS = {"driving": DatasetConfig()}
"""The dataset split per case; the others train on all but 10 % (val) of their frames."""
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {"freeze": 0},
    "keep_known": {"keep_known": True, "freeze": 0},
    "freeze": {"freeze": 10},
    "cls_pw": {"cls_pw": 1.0, "freeze": 0},
}
"""Each measure alone against plain fine-tuning (``freeze`` is the default since it helped)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="yolo26n.pt", help="starting weights of the student")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--cases", default="dashcam,highway", help="also: driving")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--train-images", type=int, default=240, help="highway valid subset")
    parser.add_argument("--clip-fps", type=float, default=10.0)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "quality")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "quality.json")
    args = parser.parse_args()
    if not HIGHWAY.is_dir() or not CLIP.is_file():
        raise SystemExit(f"{ASSETS} is missing: this benchmark needs ../shared/assets")
    os.environ.setdefault("YOLO_OFFLINE", "true")
    os.environ.setdefault(WEIGHTS_DIR_VARIABLE, str(ASSETS / "weights"))
    cases = [run_case(name, args) for name in args.cases.split(",")]
    summary = {
        "benchmark": "quality",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "gpu": False},
        "truth": "highway v40 test/ (251 images), human labels",
        "settings": {k: str(v) for k, v in vars(args).items()},
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"quality benchmark ({os.cpu_count()} cores, CPU), JSON in {args.out}")
    for case in cases:
        print_case(case)


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """Label the case's footage, then train every variant on every seed and score them."""
    project = _labelled(case, args)
    config = project.config
    human = check_ground_truth(HIGHWAY / "data.yaml")
    truth = human.truth(config.ontology)
    fixed = _fixed_scores(project, truth, args)
    runs = []
    for variant in args.variants.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            runs.append(_train_and_score(project, truth, variant, seed, fixed, args))
            print(f"  {case} {variant} seed {seed}: mAP50 {runs[-1]['student']['map50']:.3f}")
    return {
        "case": case,
        "frames": _frame_count(project),
        "instances": fixed["instances"],
        "starting weights": fixed["start"].to_json(),
        "teacher": fixed["teacher"].to_json() if fixed["teacher"] else None,
        "notes": fixed["notes"],
        "runs": runs,
        "variants": _means(runs),
        "report": fixed.get("report"),
    }


def _labelled(case: str, args: argparse.Namespace) -> Project:
    work = args.work / case
    shutil.rmtree(work, ignore_errors=True)
    flags: dict[str, Any] = {}
    if case == "driving":
        project = init_project(work, "driving")
        project = edit_config(project, ontology=_driving_ontology(project))
        flags = TEACHER  # as `label --weights --imgsz` gives them: eval rebuilds it from these
    else:
        project = init_project(work, "blank")
        project = edit_config(project, ontology=ONTOLOGY, teachers={"ultralytics": TEACHER})
    if case in ("highway", "driving"):
        images = work / "train-images"
        images.mkdir()
        for path in sorted((HIGHWAY / "valid" / "images").glob("*.jpg"))[: args.train_images]:
            (images / path.name).symlink_to(path)
        ingest(project, [str(images)], IngestConfig(dedup=False))
    else:
        ingest(project, [str(CLIP)], IngestConfig(fps=args.clip_fps, dedup=False))
    teacher = build_teacher(project.config, "ultralytics", flags)
    try:
        label_project(project, teacher)
    finally:
        teacher.close()
    build_dataset(project, SPLITS.get(case, DatasetConfig(val=0.1, test=0.0, negatives=0.1)))
    return project


def _driving_ontology(project: Project) -> dict[str, Any]:
    """The driving preset's ontology, where ``motorcycle`` also takes the labels' ``motorbike``."""
    ontology = project.config.ontology.model_dump(mode="json")
    for cls in ontology["classes"]:
        if cls["name"] == "motorcycle":
            cls["prompts"] = [*cls["prompts"], "motorbike"]
    return ontology


def _fixed_scores(project: Project, truth: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Starting weights and teacher on the human labels: once per case."""
    config = project.config
    start = starting_weights(config, args.model)
    paths = [i.path for i in truth.images]
    base_names = list(start.model.names.values())
    base = predict_ultralytics(start.model, paths, args.imgsz, "cpu")
    start_score = score(
        "starting weights", args.model, truth, config.ontology, base_names, base, config.hud.conf
    )
    instances = {
        n: int(sum(int((i.boxes.class_id == k).sum()) for i in truth.images))
        for k, n in enumerate(truth.names)
    }
    # The teacher through the same path as `eval --gt` (it runs here: the ultralytics backend).
    with project.open_catalog() as catalog:
        fingerprint = catalog.execute("SELECT fingerprint FROM datasets").fetchone()[0]
    teacher = teacher_on_truth(project, config, fingerprint, truth, "cpu")
    return {
        "start": start_score,
        "teacher": teacher.score,
        "notes": [teacher.note] if teacher.note else [],
        "instances": instances,
    }


def _train_and_score(
    project: Project,
    truth: Any,
    variant: str,
    seed: int,
    fixed: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    settings = TrainConfig(
        model=args.model,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        patience=args.epochs,
        device="cpu",
        seed=seed,
        **VARIANTS[variant],
    )
    start = time.perf_counter()
    run = train_student(project, settings, data=training_data(project, settings, None))
    seconds = time.perf_counter() - start
    config = project.config
    model = load_student(str(run.weights))
    found = predict_ultralytics(model, [i.path for i in truth.images], args.imgsz, "cpu")
    names = list(model.names.values())
    student = score(
        "student", run.weights.name, truth, config.ontology, names, found, config.hud.conf
    )
    regressed = find_regressions(
        fixed["start"],
        student,
        config.eval.regression_tolerance,
        config.eval.regression_min_ap,
        "human labels",
    )
    if "report" not in fixed:  # the whole `eval --gt` path once per case, for its report
        report = evaluate(project, run.weights, gt=HIGHWAY / "data.yaml", speed=False, device="cpu")
        fixed["report"] = str(report.directory / "report.md")
    return {
        "variant": variant,
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "student": student.to_json(),
        "regressed": [r.line() for r in regressed],
    }


def _means(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per variant: mean AP50 per class and mAP50 over seeds."""
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(run["variant"], []).append(run["student"])
    means = {}
    for variant, students in by_variant.items():
        classes = students[0]["per_class"]
        means[variant] = {
            "map50": round(statistics.mean(s["map50"] for s in students), 4),
            "map50_by_seed": [s["map50"] for s in students],
            "ap50": {
                name: round(statistics.mean(s["per_class"][name]["ap50"] for s in students), 4)
                for name in classes
                if classes[name] is not None
            },
            "regressed_runs": 0,
        }
    for run in runs:
        means[run["variant"]]["regressed_runs"] += bool(run["regressed"])
    return means


def _frame_count(project: Project) -> int:
    with project.open_catalog() as catalog:
        return catalog.count("frames")


def print_case(case: dict[str, Any]) -> None:
    start: dict[str, Any] = case["starting weights"]
    teacher: dict[str, Any] | None = case["teacher"]
    names = list(start["per_class"])
    print(f"\n{case['case']}: {case['frames']} frames; human-label AP50 per class (boxes)")
    header = f"  {'':22}" + "".join(f"{n[:10]:>11}" for n in names) + f"{'mAP50':>9}"
    print(header)
    print(f"  {'':22}" + "".join(f"{case['instances'][n]:>11}" for n in names))
    print(_row("starting weights", start["per_class"], start["map50"]))
    if teacher:
        print(_row("teacher", teacher["per_class"], teacher["map50"]))
    for variant, mean in case["variants"].items():
        per_class = {n: {"ap50": mean["ap50"].get(n, 0.0)} for n in names}
        label = f"student {variant}"
        print(_row(label, per_class, mean["map50"]) + f"  regressed {mean['regressed_runs']}")
    print("  false positives at the HUD's confidence (boxes; * no such label), first run shown:")
    first = {run["variant"]: run["student"] for run in reversed(case["runs"])}
    students = [(f"student {variant}", model) for variant, model in first.items()]
    for label, model in [("starting weights", start), ("teacher", teacher), *students]:
        if model:
            print(f"  {label:22}{_false_positives(model['false_positives'])}")


def _false_positives(counts: dict[str, Any]) -> str:
    found = [(n, c) for n, c in counts.items() if c["false_positives"]]
    return ", ".join(
        f"{n} {c['false_positives']}/{c['detections']}{'*' if c['scored_as'] is None else ''}"
        for n, c in sorted(found, key=lambda item: -item[1]["false_positives"])
    )


def _row(label: str, per_class: dict[str, Any], map50: float) -> str:
    cells = "".join(
        f"{'-':>11}" if v is None else f"{v['ap50']:>11.3f}" for v in per_class.values()
    )
    return f"  {label:22}{cells}{map50:>9.3f}"


if __name__ == "__main__":
    main()
