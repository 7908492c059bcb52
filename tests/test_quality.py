"""Starting weights, teacher and student on the same human labels, with real COCO-pretrained
weights and the human-labelled highway set from ../shared/assets (skipped without them)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
import yaml

from edgedistill.catalog import Catalog
from edgedistill.coco_eval import coco_per_class
from edgedistill.config import IngestConfig
from edgedistill.dataset import build_dataset
from edgedistill.evaluate.compare import Starting, on_starting_detections
from edgedistill.evaluate.teacher_scores import teacher_on_truth
from edgedistill.evaluate.validation import Scoring
from edgedistill.ground_truth import check_ground_truth
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.ontology import Ontology
from edgedistill.pipeline import run_pipeline
from edgedistill.project import DatasetRecord, Project, init_project
from edgedistill.status import project_status
from edgedistill.student import load_student
from edgedistill.teachers import build_teacher
from edgedistill.teachers.cache import LabelCache
from edgedistill.weights import WEIGHTS_DIR_VARIABLE
from edgedistill.yardstick import class_map, predict_ultralytics, score
from tests.label_helpers import edit_config

ONTOLOGY = {
    "classes": [
        {"name": "bus"},
        {"name": "car"},
        {"name": "person", "prompts": ["person", "pedestrian"]},
        {"name": "truck"},
        {"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]},
    ]
}
BUS = "0"


def highway_subset(
    assets: Path, root: Path, split: str, count: int, bus: bool | None = None
) -> Path:
    """``count`` images of a highway split with their human labels (with or without a bus)."""
    highway = assets / "datasets" / "highway"
    names = yaml.safe_load((highway / "data.yaml").read_text())["names"]
    for folder in ("images", "labels"):
        (root / split / folder).mkdir(parents=True)
    taken = 0
    for label in sorted((highway / split / "labels").glob("*.txt")):
        has_bus = any(line.split()[:1] == [BUS] for line in label.read_text().splitlines())
        image = highway / split / "images" / f"{label.stem}.jpg"
        if (bus is not None and has_bus != bus) or not image.is_file():
            continue
        shutil.copy(image, root / split / "images" / image.name)
        shutil.copy(label, root / split / "labels" / label.name)
        taken += 1
        if taken == count:
            break
    data = {"train": f"{split}/images", "val": f"{split}/images", "test": f"{split}/images"}
    (root / "data.yaml").write_text(yaml.safe_dump({**data, "names": names}))
    return root / "data.yaml"


def labelled_highway(assets: Path, tmp_path: Path, count: int, bus: bool | None) -> Project:
    """A project of highway images labelled by the human annotations as its teacher."""
    train = highway_subset(assets, tmp_path / "train-set", "valid", count, bus)
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(project, ontology=ONTOLOGY)
    ingest(project, [str(train.parent / "valid" / "images")], IngestConfig(dedup=False))
    teacher = build_teacher(project.config, "annotations", {"annotations": train})
    label_project(project, teacher)
    return project


def test_eval_scores_a_coco_model_on_human_labels_by_class_name(assets, tmp_path, cli) -> None:
    project = labelled_highway(assets, tmp_path, 4, None)
    build_dataset(project)
    gt = highway_subset(assets, tmp_path / "human", "test", 12, bus=True)
    coco = assets / "weights" / "yolo11n-coco.pt"
    result = cli(
        "eval", "-p", str(project.root), "--weights", str(coco), "--gt", str(gt), "--no-speed"
    )
    assert result.code == 0, result.err
    report = next((project.root / "reports").glob("*/metrics.json")).parent
    metrics = json.loads((report / "metrics.json").read_text())
    # Scored by name: COCO's bus (index 5) and car (2) against the labels' bus (0) and car (1).
    human = metrics["vs_human"]
    teacher = metrics["vs_teacher"]  # the validator would have matched COCO's indices
    assert teacher["matched_by_name"] and teacher["per_class"]
    assert set(teacher["per_class"]) <= {"bus", "car", "person", "truck", "motorcycle"}
    assert "bus" in human["per_class"] and "airplane" not in human["per_class"]
    assert set(human["per_class"]) <= {"bus", "car", "person", "truck", "motorcycle"}
    assert human["per_class"]["bus"]["ap50"] > 0.3
    student = human["models"]["student"]
    assert "airplane" in student["ignored_classes"] and human["unknown_labels"] == []
    assert any("not trained in this project" in note for note in human["notes"])
    assert any(note.startswith("Teacher not scored") for note in human["notes"])
    page = (report / "report.md").read_text()
    assert "Student per class (12 images, human labels)" in page and "airplane" in page
    assert "student vs human labels" in result.out
    # False positives per class of the model's output at the HUD's confidence, against
    # the human labels and the teacher's; classes outside the ontology are not the HUD's.
    wrong = student["false_positives"]
    assert "airplane" not in wrong and wrong["bus"]["scored_as"] == "bus"
    assert wrong["bus"]["detections"] >= wrong["bus"]["false_positives"]
    assert set(teacher["false_positives"]) == set(wrong)
    assert human["protocol"]["score_floor"] == 0.001 and human["protocol"]["nms_iou"] == 0.7
    assert human["protocol"]["fp_conf"] == project.config.hud.conf
    assert "False positives per class at confidence 0.25" in page
    assert page.count("One protocol for every model") == 1
    assert "student false positives (human labels):" in result.out
    assert "student false positives (teacher labels on the held-out " in result.out


def test_eval_rebuilds_the_teacher_that_label_ran_with_flags(assets, tmp_path, cli) -> None:
    """No teachers.ultralytics in the config: label's flags are the teacher's settings."""
    train = highway_subset(assets, tmp_path / "train-set", "valid", 4, None)
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(project, ontology=ONTOLOGY, ingest={"dedup": False})
    root = str(project.root)
    coco = str(assets / "weights" / "yolo11n-coco.pt")
    assert cli("ingest", "-p", root, str(train.parent / "valid" / "images")).code == 0
    labelled = cli(
        "label", "-p", root, "--teacher", "ultralytics", "--weights", coco, "--imgsz", "832"
    )
    assert labelled.code == 0, labelled.err
    assert cli("dataset", "-p", root).code == 0
    with Catalog(project.root / "catalog.db") as catalog:
        (settings,) = catalog.execute("SELECT settings FROM teachers").fetchone()
    assert json.loads(settings)["imgsz"] == 832 and json.loads(settings)["weights"] == coco
    gt = highway_subset(assets, tmp_path / "human", "test", 4, bus=True)
    result = cli("eval", "-p", root, "--weights", coco, "--gt", str(gt), "--no-speed")
    assert result.code == 0, result.err
    metrics = json.loads(next((project.root / "reports").glob("*/metrics.json")).read_text())
    teacher = metrics["vs_human"]["teacher"]
    assert teacher is not None, metrics["vs_human"]["notes"]
    assert teacher["model"] == (
        "Ultralytics model (yolo11n-coco.pt) at 832 px (run here at score floor 0.001)"
    )
    assert "teacher vs human labels" in result.out


def test_pipeline_marks_a_student_that_lost_what_it_knew(
    assets, tmp_path, monkeypatch, caplog
) -> None:
    """Trained on frames without a bus, checked on human labels full of them."""
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(assets / "weights"))
    train = highway_subset(assets, tmp_path / "train-set", "valid", 12, bus=False)
    gt = highway_subset(assets, tmp_path / "human", "test", 12, bus=True)
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(
        project,
        ontology=ONTOLOGY,
        ingest={"sources": [str(train.parent / "valid" / "images")], "dedup": False},
        train={
            "model": "yolo11n.pt",
            "epochs": 2,
            "imgsz": 160,
            "batch": 4,
            "workers": 0,
            "keep_known": True,
            "freeze": 0,
        },
        eval={"gt": str(gt), "regression_tolerance": 0.0, "regression_min_ap": 0.0},
    )
    with caplog.at_level(logging.WARNING):
        result = run_pipeline(
            project, teacher="annotations", teacher_options={"annotations": train}
        )
    assert "show no bus, motorcycle: the student will not output them" in caplog.text
    assert "train.keep_known: true" in caplog.text

    metrics = result.evaluation.metrics.model_dump()
    models = metrics["vs_human"]["models"]
    assert models["starting weights"]["model"] == "yolo11n.pt"
    base, student = models["starting weights"]["per_class"], models["student"]["per_class"]
    lost = [
        name
        for name, figures in base.items()
        if figures["instances"] >= 3 and student[name]["ap50"] < figures["ap50"]
    ]
    assert lost, "a student trained without buses should lose some AP somewhere"
    assert [line.split()[1] for line in metrics["regressions"]] == lost
    assert "**Regression.** regressed: " in (result.evaluation.directory / "report.md").read_text()
    status = project_status(project)
    assert status.student_regressed == lost and status.regressed_runs == 1

    # keep_known: the starting weights answered as a second, cached teacher, the project's
    # teacher stayed the current one, and training read the merged copy of the dataset.
    with Catalog(project.root / "catalog.db") as catalog:
        teachers = [row[0] for row in catalog.execute("SELECT name FROM teachers")]
        assert sorted(teachers) == ["annotations", "ultralytics"]
        assert LabelCache(catalog).last_teacher()[1] == "annotations"
    args = yaml.safe_load((result.train.directory / "args.yaml").read_text())
    assert "-keep-" in args["data"] and (Path(args["data"]).parent / "keep.json").is_file()


def test_without_human_labels_the_starting_detections_are_the_reference(assets, tmp_path) -> None:
    project = labelled_highway(assets, tmp_path, 6, bus=True)
    config = project.config
    frames = sorted((project.root / "frames").rglob("*.jpg"))
    base = load_student(str(assets / "weights" / "yolo11n-coco.pt"))
    start = Starting("yolo11n.pt", base, None)
    record = DatasetRecord("unused", "yolo", project.root, "unused")
    scoring = Scoring(Path("same.pt"), base, record, "cpu", 320, tmp_path)
    same = on_starting_detections(config, frames, scoring, start)
    assert same is not None and "bus" in same.truth.names
    assert same.regressions == []
    figures = same.to_record().model_dump()["models"]
    assert figures["student"]["per_class"] == figures["starting weights"]["per_class"]
    assert figures["starting weights"]["per_class"]["bus"]["ap50"] == pytest.approx(1.0, abs=0.02)


def test_a_local_teacher_is_run_on_labelled_images_it_never_saw(assets, tmp_path) -> None:
    train = highway_subset(assets, tmp_path / "train-set", "valid", 3, None)
    project = init_project(tmp_path / "project", "blank")
    weights = str(assets / "weights" / "yolo11n-coco.pt")
    project = edit_config(
        project, ontology=ONTOLOGY, teachers={"ultralytics": {"weights": weights, "imgsz": 160}}
    )
    ingest(project, [str(train.parent / "valid" / "images")], IngestConfig(dedup=False))
    teacher = build_teacher(project.config, "ultralytics", {})
    label_project(project, teacher)
    config = project.config
    gt = check_ground_truth(highway_subset(assets, tmp_path / "human", "test", 6, bus=True))
    truth = gt.truth(config.ontology)
    scored = teacher_on_truth(project, config, teacher.fingerprint, truth, "cpu")
    assert scored.score is not None and scored.score.model.endswith(
        "(run here at score floor 0.001)"
    )
    assert scored.score.per_class["bus"] is not None and scored.score.images == 6
    # Rebuilt from the settings it labelled with, whatever the config says now.
    project = edit_config(project, teachers={"ultralytics": {"weights": weights, "imgsz": 192}})
    again = teacher_on_truth(project, project.config, teacher.fingerprint, truth, "cpu")
    assert again.score is not None and again.score.per_class == scored.score.per_class
    # A teacher registered before settings were kept is taken from the config, if the same.
    with Catalog(project.root / "catalog.db") as catalog:
        catalog.execute("UPDATE teachers SET settings = NULL")
    other = teacher_on_truth(project, project.config, teacher.fingerprint, truth, "cpu")
    assert other.score is None and "is not the teacher that labelled" in str(other.note)


def test_the_teacher_is_scored_by_the_protocol_every_model_gets(assets, tmp_path) -> None:
    """A teacher with the starting weights' weights and size scores exactly what they do:
    same floor, same NMS, same merge (no labelling threshold or cross-class NMS)."""
    train = highway_subset(assets, tmp_path / "train-set", "valid", 2, None)
    project = init_project(tmp_path / "project", "blank")
    weights = assets / "weights" / "yolo11n-coco.pt"
    project = edit_config(project, ontology=ONTOLOGY)
    ingest(project, [str(train.parent / "valid" / "images")], IngestConfig(dedup=False))
    teacher = build_teacher(project.config, "ultralytics", {"weights": str(weights), "imgsz": 320})
    label_project(project, teacher)
    config = project.config
    gt = check_ground_truth(highway_subset(assets, tmp_path / "human", "test", 40, bus=None))
    truth = gt.truth(config.ontology)
    scored = teacher_on_truth(project, config, teacher.fingerprint, truth, "cpu").score
    start = load_student(str(weights))
    found = predict_ultralytics(start, [i.path for i in truth.images], 320, "cpu")
    names = list(start.names.values())
    base = score("starting weights", "coco", truth, config.ontology, names, found, 0.25)
    assert scored is not None and scored.per_class == base.per_class
    assert scored.false_positives["bus"] == base.false_positives["bus"]


def test_cached_answers_say_the_floor_they_were_cached_at(assets, tmp_path) -> None:
    """A teacher that cannot run here any more is scored from its cache, and says so."""
    gt = highway_subset(assets, tmp_path / "human", "test", 4, bus=True)
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(project, ontology=ONTOLOGY)
    ingest(project, [str(gt.parent / "test" / "images")], IngestConfig(dedup=False))
    weights = shutil.copy(assets / "weights" / "yolo11n-coco.pt", tmp_path / "teacher.pt")
    teacher = build_teacher(project.config, "ultralytics", {"weights": str(weights), "imgsz": 320})
    label_project(project, teacher)
    Path(weights).unlink()
    truth = check_ground_truth(gt).truth(project.config.ontology)
    scored = teacher_on_truth(project, project.config, teacher.fingerprint, truth, "cpu")
    assert scored.score is not None and scored.score.model.endswith("(cached answers)")
    assert scored.score.per_class["bus"] is not None
    assert "hold no box under score 0.05, the floor it labelled at" in str(scored.note)
    assert "not from 0.001 like the other models" in str(scored.note)


def test_a_rename_that_merges_classes_merges_their_duplicates(assets, tmp_path) -> None:
    """COCO's car, truck and bus renamed to one vehicle: where the model calls one bus both
    a bus and a truck, the yardstick keeps one vehicle, and the vehicle AP rises."""
    ontology = Ontology.model_validate(
        {**ONTOLOGY, "class_mapping": {"car": "vehicle", "truck": "vehicle", "bus": "vehicle"}}
    )
    gt = check_ground_truth(highway_subset(assets, tmp_path / "human", "test", 40, bus=True))
    truth = gt.truth(ontology)
    model = load_student(str(assets / "weights" / "yolo11n-coco.pt"))
    names = list(model.names.values())
    found = predict_ultralytics(model, [i.path for i in truth.images], 320, "cpu")
    merged = score("starting weights", "coco", truth, ontology, names, found, 0.25)
    mapping, _ = class_map(ontology, names, truth.names)
    duplicated = [_renamed(f, mapping) for f in found]
    sizes = [(i.width, i.height) for i in truth.images]
    before = coco_per_class(sizes, [i.boxes for i in truth.images], duplicated, truth.names)
    vehicle = merged.per_class["vehicle"]
    assert vehicle is not None and vehicle.ap50 > before["vehicle"].ap50 + 0.01  # 0.868 vs 0.852


def _renamed(found: sv.Detections, mapping: dict[int, int]) -> sv.Detections:
    """The boxes in the scored classes, no suppression after the rename."""
    keep = np.isin(found.class_id, list(mapping))
    return sv.Detections(
        xyxy=found.xyxy[keep],
        confidence=found.confidence[keep],
        class_id=np.array([mapping[int(c)] for c in found.class_id[keep]], dtype=int),
    )
