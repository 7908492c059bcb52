"""What a new user meets first: where models come from, and every rough edge a fresh
clone showed — each answered with one sentence and the right exit code."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from edgedistill.config import ProjectConfig
from edgedistill.errors import Interrupted
from edgedistill.logs import configure_logging
from edgedistill.project import init_project
from edgedistill.teachers import budget_credits
from edgedistill.weights import WEIGHTS_DIR_VARIABLE, WeightsNotFoundError, resolve_weights
from tests.label_helpers import FAST_RETRIES, edit_config, project_with_frames
from tests.media import write_image


@pytest.fixture(autouse=True)
def no_weights_dir(monkeypatch) -> None:
    monkeypatch.delenv(WEIGHTS_DIR_VARIABLE, raising=False)


# Weights: one rule for every command that takes a model.


def test_an_explicit_path_is_taken_as_it_is(tmp_path: Path) -> None:
    weights = tmp_path / "mine.pt"
    weights.write_bytes(b"")
    assert resolve_weights(weights) == str(weights)
    with pytest.raises(WeightsNotFoundError, match="gone.pt: no such model file or folder"):
        resolve_weights(tmp_path / "gone.pt")


def test_a_name_is_found_in_the_weights_folders(tmp_path: Path, monkeypatch) -> None:
    shared, configured = tmp_path / "shared", tmp_path / "configured"
    shared.mkdir(), configured.mkdir()
    (shared / "yolo11n-coco.pt").write_bytes(b"")
    (configured / "yolo26n.pt").write_bytes(b"")
    (configured / "sam3").mkdir()
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(shared))
    assert resolve_weights("yolo11n.pt") == str(shared / "yolo11n-coco.pt")
    assert resolve_weights("yolo26n.pt", [configured]) == str(configured / "yolo26n.pt")
    assert resolve_weights("sam3", [configured]) == str(configured / "sam3")
    # -seg is another model, never a stand-in for the detector
    with pytest.raises(WeightsNotFoundError):
        resolve_weights("yolo11n-seg.pt", [configured])


def test_random_weights_only_when_a_yaml_is_asked_for(tmp_path: Path) -> None:
    assert resolve_weights("yolo11n.yaml") == "yolo11n.yaml"
    with pytest.raises(WeightsNotFoundError) as missing:
        resolve_weights("yolo11s.pt", [tmp_path])  # offline here: no download
    message = str(missing.value)
    assert "yolo11s.pt: not found (searched" in message and str(tmp_path) in message
    assert WEIGHTS_DIR_VARIABLE in message and "Ultralytics downloads it" in message
    assert "\n" not in message


def test_the_config_weights_dir_is_relative_to_the_project(project, tmp_path: Path) -> None:
    (project.root / "models").mkdir()
    (project.root / "models" / "yolo11n.pt").write_bytes(b"")
    project = edit_config(project, weights_dir="models")
    config = project.config
    assert config.weights_dir == project.root / "models"
    assert resolve_weights("yolo11n.pt", [config.weights_dir]) == str(
        project.root / "models" / "yolo11n.pt"
    )


def test_commands_that_take_a_model_say_where_to_put_it(cli, project, tmp_path: Path) -> None:
    clip = write_image(tmp_path / "a.jpg")
    for args in (
        ("label", "--teacher", "ultralytics", "--weights", "yolo11x.pt"),
        ("run", str(clip), "--model", "student.onnx", "--output", str(tmp_path / "o.mp4")),
        ("eval", "--weights", "best.pt"),
        ("export", "--weights", "best.pt"),
        ("pipeline", str(clip), "--teacher", "ultralytics", "--teacher-weights", "yolo11x.pt"),
    ):
        result = cli(*args, "-p", str(project.root))
        assert result.code == 1, args
        assert "not found (searched" in result.err and WEIGHTS_DIR_VARIABLE in result.err, args
        assert len(result.err.strip().splitlines()) == 1, result.err


# The label stage and the teacher that counts as current.


def test_a_teacher_that_never_answered_does_not_hide_earlier_labels(
    cli, tmp_path: Path, monkeypatch
) -> None:
    project = project_with_frames(tmp_path, 3)
    first = cli(
        "label", "-p", str(project.root), "--teacher", "ultralytics", "--weights", "yolo11n.yaml"
    )
    assert first.code == 0, first.err
    project = edit_config(project, teachers={"roboflow-sam3": {**FAST_RETRIES, "max_retries": 0}})
    monkeypatch.setenv("ROBOFLOW_API_KEY", "x" * 20)
    monkeypatch.setenv("ROBOFLOW_API_URL", "http://127.0.0.1:9")  # nothing listens there
    failed = cli("label", "-p", str(project.root), "--teacher", "roboflow-sam3")
    assert failed.code == 1 and "cannot reach http://127.0.0.1:9" in failed.err
    status = json.loads(cli("status", "--json", "-p", str(project.root)).out)
    assert status["label"]["teacher"] == "ultralytics" and status["labelled_frames"] == 3
    dataset = cli("dataset", "-p", str(project.root))
    assert dataset.code == 0, dataset.err


def test_an_empty_project_says_to_ingest_first(cli, project, monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    for command in ("label", "dataset"):
        result = cli(command, "-p", str(project.root))
        assert result.code == 1
        assert "run `edgedistill ingest VIDEO_OR_FOLDER` first" in result.err, command


def test_a_dry_run_needs_no_key(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    project = project_with_frames(tmp_path, 2)
    result = cli("label", "-p", str(project.root), "--teacher", "roboflow-sam3", "--dry-run")
    assert result.code == 0, result.err
    assert "Dry run, nothing spent. 2 frames of 2 to label" in result.out and "$" in result.out


def test_a_budget_in_dollars_builds_no_teacher(monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    config = ProjectConfig(teachers={"sam3": {"weights": "/nowhere/sam3"}})
    # neither a Roboflow key nor SAM3 weights are needed to do the arithmetic
    assert budget_credits(config, "roboflow-sam3", {}, 3.0) == (1.0, True)
    assert budget_credits(config, "sam3", {}, 3.0) == (None, False)
    assert budget_credits(config, "roboflow-sam3", {}, 3.0, max_credits=0.5) == (0.5, True)


# Training stopped by Ctrl-C.


def test_ctrl_c_in_training_says_resume_and_records_the_run(cli, tmp_path: Path, monkeypatch):
    project = project_with_frames(tmp_path, 3)
    cli("label", "-p", str(project.root), "--teacher", "ultralytics", "--weights", "yolo11n.yaml")
    cli("dataset", "-p", str(project.root))

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    missing = cli("train", "-p", str(project.root), "--model", "yolo11s.pt")
    assert missing.code == 1 and "yolo11s.pt: not found (searched" in missing.err
    monkeypatch.setattr("ultralytics.YOLO.train", interrupted)
    result = cli("train", "-p", str(project.root), "--model", "yolo11n.yaml", "--epochs", "1")
    assert result.code == Interrupted.exit_code
    assert "run `edgedistill train --resume`" in result.err
    with project.open_catalog() as catalog:
        status = catalog.execute("SELECT status FROM train_runs").fetchone()[0]
    assert status == "interrupted"
    runs = json.loads(cli("status", "--json", "-p", str(project.root)).out)["train_runs"]
    assert runs["interrupted"] == 1 and runs["failed"] == 0


# Usage mistakes: one sentence, exit 2; never an internal error.


@pytest.mark.parametrize(
    ("output", "said"),
    [("out.txt", "name a video file ending in .mp4"), ("README.md/o.mp4", "is a file")],
)
def test_run_output_mistakes(cli, tmp_path: Path, monkeypatch, output: str, said: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("a file")
    result = cli("run", "clip.mp4", "--model", "m.onnx", "--output", output)
    assert result.code == 2 and said in result.err
    assert "internal error" not in result.err


def test_project_option_before_the_command_and_quiet(cli, project) -> None:
    result = cli("-p", str(project.root), "-q", "status", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["project"] == str(project.root)


def test_python_m_exits_like_the_console_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgedistill", "status", "-p", str(tmp_path / "none")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "is not an edgedistill project" in result.stderr


def test_one_device_syntax(cli, project) -> None:
    result = cli("train", "-p", str(project.root), "--device", "gpu")
    assert result.code == 2
    assert "device 'gpu' is not one of: auto" in result.err and "cuda:0" in result.err
    several = cli("eval", "-p", str(project.root), "--device", "0,1")
    assert several.code == 2 and "runs on one device" in several.err


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("label:\n  teacher: robflow-sam3\n", "label.teacher: unknown teacher 'robflow-sam3'"),
        ("", "the config is empty"),
    ],
)
def test_config_mistakes_name_the_file_and_exit_2(cli, project, text: str, said: str) -> None:
    project.config_path.write_text(text)
    result = cli("status", "-p", str(project.root))
    assert result.code == 2 and said in result.err and str(project.config_path) in result.err


def test_no_dataset_yet(cli, project) -> None:
    result = cli("train", "-p", str(project.root), "--model", "yolo11n.yaml")
    assert result.code == 1 and "no dataset in this project yet" in result.err


def test_help_shows_metavars_not_type_labels(cli) -> None:
    commands = ("ingest", "label", "dataset", "train", "eval", "export", "export-app", "run")
    for command in (*commands, "serve"):
        text = cli(command, "--help").out
        for label in ("<bool>", "<str>", "<int", "<float", "<path>", "<dir>", "<list", "{"):
            assert label not in text, (command, label)
    assert "[SOURCE]..." in cli("pipeline", "--help").out


def test_each_warning_once(capsys) -> None:
    configure_logging()
    for _ in range(3):
        logging.getLogger("edgedistill.test").warning("training on the CPU is slow")
    assert capsys.readouterr().err.count("training on the CPU is slow") == 1
    configure_logging(quiet=True)
    logging.getLogger("edgedistill.test").warning("not shown")
    assert "not shown" not in capsys.readouterr().err
    configure_logging()


def test_reports_say_what_was_scored_and_why_a_table_is_empty(tmp_path: Path, capsys) -> None:
    from edgedistill.display import print_eval_report
    from edgedistill.evaluate import EvalReport
    from edgedistill.evaluate.report import write_reports
    from edgedistill.metrics import EvalMetrics

    no_scores = {"precision": 0.0, "recall": 0.0, "per_class": {}, "plots": []}
    matrix = {"labels": ["car", "background"], "rows_predicted_columns_true": [[0, 0], [0, 0]]}
    ghost = {"scored_as": None, "detections": 3, "false_positives": 3, "per_image": 1.5}
    metrics = {
        "weights": "/runs/x/weights/best.pt",
        "imgsz": 640,
        "created_at": "2026-11-22T00:00:00Z",
        "dataset": "abc",
        "teacher": "ultralytics:0123",
        "teacher_description": "Ultralytics model (yolo11n-coco.pt) at 832 px",
        "split": "val",
        "held_out": False,
        "caveats": ["Teacher: a closed-vocabulary detector stands in for SAM3."],
        "vs_teacher": {
            "map50": 0.0,
            "map50_95": 0.0,
            **no_scores,
            "confusion_matrix": matrix,
            "false_positives": {"ambulance": ghost},
        },
        "model": {
            "parameters": 2_600_000,
            "train_imgsz": 640,
            "gflops": 4.9,
            "gflops_input": "640x480",
            "weights_mb": 5.5,
            "classes": ["car"],
        },
    }
    record = EvalMetrics.model_validate(metrics)
    write_reports(tmp_path, record, ["sample_a.jpg"])
    page = (tmp_path / "report.html").read_text()
    text = (tmp_path / "report.md").read_text()
    trained_on = "the training frames of dataset abc (nothing could be held out)"
    for shown in (page, text):
        assert trained_on in shown and "val split" not in shown
        assert "No class has a teacher label in the training frames of dataset abc" in shown
        assert f"False positives per class (teacher labels on {trained_on})" in shown
        assert "4.9 GFLOPs at 640x480" in shown
        assert "Ultralytics model (yolo11n-coco.pt) at 832 px" in shown
        assert "Caveat." in shown and "Held-out" not in shown
    assert "<figcaption>sample_a: teacher&#x27;s labels (left)" in page or (
        "<figcaption>sample_a: teacher's labels (left)" in page
    )
    print_eval_report(EvalReport(tmp_path, record))
    printed = capsys.readouterr().out
    assert f"student false positives (teacher labels on {trained_on}): ambulance 3" in printed


HEAVY = (
    "torch", "ultralytics", "supervision", "cv2", "matplotlib", "scipy", "onnxruntime",
    "numpy", "PIL", "httpx", "pycocotools", "av", "filelock", "edgedistill.metrics",
    "edgedistill.label.runner", "edgedistill.teachers.roboflow_api",
)  # fmt: skip
TEACHER_SECTIONS = {
    "annotations": {"annotations": "labels/data.yaml"},
    "roboflow-sam3": {"concurrency": 4},
    "roboflow-workflow": {"workspace": "team", "workflow_id": "cars"},
    "sam3": {"batch_size": 2},
    "ultralytics": {"weights": "yolo11x.pt"},
}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["status"],
        ["status", "--json"],
        ["init", "{new}"],
        ["cost", "--help"],
        ["status", "--bogus"],
    ],
    ids=" ".join,
)
def test_the_light_commands_start_without_the_heavy_libraries(
    tmp_path: Path, args: list[str]
) -> None:
    """`--help`, `status` on a fresh project, `init`, a command's help and a usage error
    load no stage, no teacher backend and none of the heavy libraries: each command
    imports its own, and checking the config's teacher sections loads only their
    settings models."""
    project = init_project(tmp_path / "project", "driving")
    edit_config(project, teachers=TEACHER_SECTIONS)
    argv = [arg.replace("{new}", str(tmp_path / "new")) for arg in args]
    probe = (
        "import sys\n"
        "from edgedistill.cli import main\n"
        f"code = main({argv!r})\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True
    )
    code = 2 if "--bogus" in args else 0
    assert result.stdout.strip().splitlines()[-1] == f"{code} []", result.stderr
