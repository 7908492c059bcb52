"""Teacher-assistant distillation through the real Ultralytics trainer, tiny and quick.

The assistant is a YOLO26s built from its YAML (random weights: no larger checkpoint
exists offline), trained for one epoch on the teacher's labels at 64 px.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from edgedistill.config import TrainConfig
from edgedistill.dataset import build_dataset
from edgedistill.errors import UsageError
from edgedistill.pipeline import run_pipeline
from edgedistill.project import Project, init_project
from edgedistill.status import project_status
from edgedistill.train import train_student
from tests.label_helpers import SMALL_ONTOLOGY, edit_config
from tests.media import write_image, write_video
from tests.test_dataset import labelled_project, write_scene

STUDENT = TrainConfig(model="yolo26n.yaml", epochs=1, imgsz=64, batch=4, workers=0)


def _saved_model(architecture: str, path: Path) -> Path:
    """A randomly initialised checkpoint of ``architecture``, as a user's .pt would be."""
    from ultralytics import YOLO

    YOLO(architecture).save(str(path))
    return path


def test_pipeline_with_an_assistant_distils_and_compares(server, tmp_path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for v in range(3):
        write_video(
            media / f"drive{v}.mp4", 2, 10, picture=lambda t, v=v: write_scene(v, t), size=(160, 96)
        )
    write_image(media / "still.jpg", seed=5, size=(160, 96))
    project = init_project(tmp_path / "project", "blank")
    train = {**STUDENT.model_dump(), "assistant": "yolo26s.yaml", "distill_weight": 3.0}
    project = edit_config(
        project, ontology=SMALL_ONTOLOGY, ingest={"sources": ["../media"]}, train=train
    )
    stages: list[str] = []
    first = run_pipeline(project, announce=lambda stage, _: stages.append(stage))
    assert stages == ["ingest", "label", "dataset", "assistant", "plain student", "train", "eval"]

    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT id, model, distilled_from, distill_weight FROM train_runs ORDER BY started_at"
        ).fetchall()
    (assistant, _, helper_from, _), (plain, _, plain_from, _), distilled = rows
    assert helper_from is None and plain_from is None
    assert distilled[0] == first.train.id and distilled[1] == "yolo26n.yaml"
    assert distilled[2] == assistant and distilled[3] == 3.0
    # Ultralytics really distilled: its training args carry the assistant's weights.
    args = (first.train.directory / "args.yaml").read_text()
    assert "distill_model:" in args and f"{assistant}/weights/" in args and "dis: 3.0" in args

    metrics = json.loads((first.evaluation.directory / "metrics.json").read_text())
    students = metrics["distillation"]["students"]
    assert [s["run"] for s in students] == [first.train.id, plain]
    assert students[0]["distilled_from"] == assistant and students[1]["distilled_from"] is None
    assert all(0.0 <= s["vs_teacher"]["map50"] <= 1.0 for s in students)
    page = first.evaluation.html.read_text()
    assert "Distillation: with and without the assistant" in page and plain in page

    counts = project_status(project)
    assert counts.train_runs["done"] == 3
    assert [asdict(run) for run in counts.distillation] == [
        {
            "student_run": first.train.id,
            "student_model": "yolo26n.yaml",
            "status": "done",
            "assistant": assistant,
            "distill_weight": 3.0,
        }
    ]
    again = run_pipeline(project)  # every run is reused, nothing trains again
    assert again.train.id == first.train.id
    assert project_status(project).train_runs["done"] == 3


def test_pipeline_refuses_an_assistant_of_another_family_before_training(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=1)
    project = edit_config(project, train={**STUDENT.model_dump(), "assistant": "yolo11s.yaml"})
    with pytest.raises(UsageError, match="is a yolo11 detect model and the student a yolo26"):
        run_pipeline(project, [str(tmp_path / "media")])
    assert project_status(project).train_runs["done"] == 0


@pytest.fixture
def dataset_project(server, tmp_path) -> Project:
    project = labelled_project(tmp_path, videos=2, images=2)
    build_dataset(project)
    return project


def test_distil_from_a_run_by_id_on_the_cli(dataset_project, cli) -> None:
    project = dataset_project
    assistant = train_student(project, STUDENT.model_copy(update={"model": "yolo26s.yaml"}))
    result = cli(
        "train", "-p", str(project.root), "--model", "yolo26n.yaml", "--epochs", "1",
        "--imgsz", "64", "--batch", "4", "--distill-from", assistant.id, "--distill-weight", "2",
    )  # fmt: skip
    assert result.code == 0, result.err
    with project.open_catalog() as catalog:
        row = catalog.execute(
            "SELECT distilled_from, distill_weight, status FROM train_runs "
            "WHERE distilled_from IS NOT NULL"
        ).fetchone()
    assert tuple(row) == (assistant.id, 2.0, "done")


@pytest.mark.parametrize(
    ("assistant", "said"),
    [
        ("yolo11s.yaml", "is a yolo11 detect model and the student a yolo26 detect model"),
        ("yolo26s-seg.yaml", "is a yolo26 segment model and the student a yolo26 detect model"),
        ("yolo26s.yaml", "knows other classes (0, 1, 2, 3, 4, 5 …) than this dataset (car"),
    ],
)
def test_an_assistant_that_does_not_fit_is_one_sentence(
    dataset_project, cli, tmp_path, assistant, said
) -> None:
    weights = _saved_model(assistant, tmp_path / f"{Path(assistant).stem}.pt")
    result = cli(
        "train", "-p", str(dataset_project.root), "--model", "yolo26n.yaml", "--epochs", "1",
        "--imgsz", "64", "--distill-from", str(weights),
    )  # fmt: skip
    assert result.code == 2
    assert said in result.err and "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1  # one sentence, beside the warning about random weights
    with dataset_project.open_catalog() as catalog:  # nothing was started
        assert catalog.execute("SELECT COUNT(*) FROM train_runs").fetchone()[0] == 0


def test_distill_options_are_checked_before_training(dataset_project, cli) -> None:
    root = str(dataset_project.root)
    result = cli("train", "-p", root, "--distill-weight", "2")
    assert result.code == 2 and "--distill-weight needs --distill-from" in result.err
    result = cli("train", "-p", root, "--distill-from", "no-such-run")
    assert result.code == 2 and "neither a training run of this project nor a .pt" in result.err


def test_assistant_settings_keep_the_students_schedule() -> None:
    from edgedistill.distill import assistant_settings

    settings = STUDENT.model_copy(update={"assistant": "yolo26s.pt", "seed": 3})
    helper = assistant_settings(settings)
    assert helper.model == "yolo26s.pt" and helper.assistant is None
    assert (helper.epochs, helper.imgsz, helper.seed) == (1, 64, 3)
    with pytest.raises(UsageError, match="train.assistant is not set"):
        assistant_settings(STUDENT)
