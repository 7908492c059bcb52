"""The distillation loop through the real Ultralytics trainer, tiny and quick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from edgedistill.config import DatasetConfig, TrainConfig
from edgedistill.dataset import build_dataset
from edgedistill.errors import EdgedistillError
from edgedistill.evaluate import evaluate
from edgedistill.export import export_student
from edgedistill.pipeline import run_pipeline
from edgedistill.project import Project, init_project
from edgedistill.status import project_status
from edgedistill.train import train_student
from tests.label_helpers import SMALL_ONTOLOGY, edit_config
from tests.media import write_image, write_video
from tests.test_dataset import label, labelled_project, write_scene

TINY = TrainConfig(model="yolo11n.yaml", epochs=1, imgsz=64, batch=4, workers=0)


def human_labels(root: Path, stills: Path) -> Path:
    """A YOLO dataset of the same stills with 'human' boxes (one car each)."""
    for folder in ("test/images", "test/labels"):
        (root / folder).mkdir(parents=True)
    for image in sorted(stills.glob("*.jpg")):
        (root / "test/images" / image.name).write_bytes(image.read_bytes())
        (root / "test/labels" / f"{image.stem}.txt").write_text("0 0.2 0.25 0.2 0.3\n")
    data = {"train": "test/images", "val": "test/images", "test": "test/images", "names": ["car"]}
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root / "data.yaml"


def test_train_then_eval_writes_weights_metrics_and_report(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=3, images=4)
    dataset = build_dataset(project)
    run = train_student(project, TINY)
    assert run.status == "done" and run.weights.is_file()
    assert project.latest_weights() == run.weights
    assert project.latest_runnable() == run.weights  # no ONNX export yet
    exported = export_student(project, ["onnx"], parity_frames=1)
    assert project.latest_runnable() == exported.directory / f"{run.weights.stem}.onnx"
    saved = json.loads((run.directory / "run.json").read_text())
    assert saved["dataset"] == dataset.version
    assert saved["teacher_fingerprint"] == dataset.fingerprint
    assert saved["settings"]["epochs"] == 1
    # train.freeze (10 by default) keeps pretrained layers; random weights are never frozen.
    assert saved["settings"]["freeze"] == 10
    assert yaml.safe_load((run.directory / "args.yaml").read_text())["freeze"] == 0

    gt = human_labels(tmp_path / "human", tmp_path / "media" / "stills")
    report = evaluate(project, gt=gt, speed_runs=2)
    metrics = json.loads((report.directory / "metrics.json").read_text())
    teacher = metrics["vs_teacher"]
    # A student trained for one epoch from random weights finds nothing: disjoint, so 0.
    assert teacher["map50"] == 0.0 and teacher["map50_95"] == 0.0
    assert set(teacher["per_class"]) <= {"car", "police car", "person"}
    assert len(teacher["confusion_matrix"]["rows_predicted_columns_true"]) == 4
    human = metrics["vs_human"]
    assert human["images"] == 4 and human["unknown_labels"] == []
    assert human["teacher"]["images"] == 4  # the teacher labelled the same stills
    assert 0.0 <= human["teacher"]["map50"] <= 1.0
    assert metrics["model"]["parameters"] > 1e6 and metrics["model"]["weights_mb"] > 1
    speed = metrics["speed"]
    assert speed["input"] == "640x480" and speed["pytorch"]["total_ms"] > 0
    onnx = report.directory / speed["onnxruntime"]["file"]  # relative: the folder can move
    assert speed["onnxruntime"]["total_ms"] > 0 and onnx.is_file()
    page = report.html.read_text()
    assert "Per class (student vs teacher)" in page and "Speed at 640x480" in page
    for image in (report.directory / "report.md").read_text().split("](")[1:]:
        assert (report.directory / image.split(")")[0]).is_file()
    assert "teacher (left) and student (right)" in page


def test_training_problems_are_one_sentence(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=2)
    with pytest.raises(EdgedistillError, match="run `edgedistill dataset` first"):
        train_student(project, TINY)
    build_dataset(project, DatasetConfig(format="coco"))
    with pytest.raises(EdgedistillError, match="trains on YOLO datasets"):
        train_student(project, TINY)
    build_dataset(project)
    with pytest.raises(EdgedistillError, match="is a segmentation model"):
        train_student(project, TINY.model_copy(update={"model": "yolo11n-seg.yaml"}))
    with pytest.raises(EdgedistillError, match="no such model file"):
        train_student(project, TINY.model_copy(update={"model": "models/mine.pt"}))
    with pytest.raises(EdgedistillError, match="no unfinished training run"):
        train_student(project, TINY, resume=True)
    with pytest.raises(EdgedistillError, match="no trained student"):
        evaluate(project)


def pipeline_project(tmp_path: Path) -> Project:
    """A project whose config lists three short videos and a still, its training tiny."""
    media = tmp_path / "media"
    media.mkdir()
    for v in range(3):
        write_video(
            media / f"drive{v}.mp4", 2, 10, picture=lambda t, v=v: write_scene(v, t), size=(160, 96)
        )
    write_image(media / "still.jpg", seed=5, size=(160, 96))
    project = init_project(tmp_path / "project", "blank")
    return edit_config(
        project, ontology=SMALL_ONTOLOGY, ingest={"sources": ["../media"]}, train=TINY.model_dump()
    )


def test_pipeline_runs_every_stage_and_then_reuses_them(server, tmp_path) -> None:
    project = pipeline_project(tmp_path)
    stages: list[str] = []
    first = run_pipeline(project, announce=lambda stage, _: stages.append(stage))
    assert stages == ["ingest", "label", "dataset", "train", "eval"]
    assert first.label.frames_labelled == 13 and first.evaluation.html.is_file()
    requests = server.requests
    again = run_pipeline(project)
    assert server.requests == requests
    assert again.dataset.reused and again.train.id == first.train.id
    assert again.evaluation.directory == first.evaluation.directory
    counts = project_status(project)
    assert counts.datasets == 1 and counts.train_runs["done"] == 1
    assert counts.student == str(first.train.weights)
    assert counts.report == str(first.evaluation.html)


def test_pipeline_needs_sources(tmp_path) -> None:
    project = init_project(tmp_path / "p", "driving")
    with pytest.raises(EdgedistillError, match="nothing to ingest"):
        run_pipeline(project)


def test_label_reuses_the_cache_when_relabelled(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=1)
    requests = server.requests
    label(project)
    assert server.requests == requests
