"""Issue 24, point 5: what a newcomer met on a first run — each answered with the right
words, one sentence, and the right exit code."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import pty
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from edgedistill.catalog import now
from edgedistill.dataset import build_dataset
from edgedistill.errors import Interrupted
from edgedistill.logs import configure_logging, native_output_silenced
from edgedistill.project import Project, init_project
from edgedistill.train import train_student
from edgedistill.weights import WEIGHTS_DIR_VARIABLE
from tests.label_helpers import edit_config
from tests.media import write_image
from tests.test_dataset import labelled_project
from tests.test_export import confident_student
from tests.test_quality import labelled_highway
from tests.test_train_eval import TINY, pipeline_project


def test_init_prints_a_cd_the_shell_can_run(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "my drive")
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith("Next: cd "))
    assert "cd 'my drive' &&" in line
    command = line.removeprefix("Next: ").split(" && ")[0]
    done = subprocess.run(["sh", "-c", f"{command} && pwd"], capture_output=True, text=True)
    assert done.stdout.strip() == str(tmp_path / "my drive"), done.stderr
    assert shlex.split(command) == ["cd", "my drive"]


# A model option pointing at something that is no model: one sentence, never exit 70.


def not_models(folder: Path, real: Path) -> dict[str, Path]:
    """A text file, a JPEG, a truncated checkpoint and an export, each where weights go."""
    folder.mkdir()
    notes, photo, cut, export = (folder / n for n in ("notes.txt", "a.jpg", "cut.pt", "m.onnx"))
    notes.write_text("not weights\n")
    write_image(photo, seed=1, size=(64, 48))
    cut.write_bytes(real.read_bytes()[:50_000])
    export.write_bytes(b"\x08\x07")
    return {"text": notes, "jpeg": photo, "truncated": cut, "export": export}


def test_a_model_option_at_a_non_model_is_one_sentence(cli, server, tmp_path: Path) -> None:
    project = labelled_project(tmp_path, videos=1, images=2)
    build_dataset(project)
    files = not_models(tmp_path / "files", confident_student(tmp_path / "real.pt"))
    clip = tmp_path / "media" / "drive0.mp4"
    commands = {
        "eval": ["eval", "--no-speed", "--weights"],
        "export": ["export", "--weights"],
        "export-app": ["export-app", "--out", str(tmp_path / "app"), "--weights"],
        "run": ["run", str(clip), "--output", str(tmp_path / "hud.mp4"), "--model"],
        "train": ["train", "--epochs", "1", "--imgsz", "64", "--model"],
    }
    for command, args in commands.items():
        for kind, path in files.items():
            if command == "run" and kind == "export":
                continue  # ONNX Runtime's own check, tested in test_runtime.py
            result = cli(*args, str(path), "-p", str(project.root))
            said = f"{command} {kind}: {result.code} {result.err}"
            assert result.code == 1, said
            error = [line for line in result.err.splitlines() if line.startswith("error:")]
            assert len(error) == 1 and str(path) in error[0], said
            assert "internal error" not in result.err and "/tmp/tmp" not in result.err, said
    with project.open_catalog() as catalog:
        assert catalog.count("train_runs") == 0  # nothing started on a non-model


def test_eval_does_not_warn_about_training_on_the_cpu(
    cli, server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = labelled_project(tmp_path, videos=1, images=2)
    build_dataset(project)
    train_student(project, TINY)
    capsys.readouterr()  # what training said
    result = cli("eval", "--no-speed", "-p", str(project.root), "--device", "auto")
    assert result.code == 0, result.err
    assert "training on the CPU" not in result.err


# export-app says where it wrote, and where the app looks, without Ultralytics' temp paths.


def test_export_app_says_where_it_wrote_and_where_the_app_looks(tmp_path: Path) -> None:
    weights = confident_student(tmp_path / "student.pt")
    out = tmp_path / "elsewhere"
    result = subprocess.run(
        [sys.executable, "-m", "edgedistill", "export-app", "--weights", str(weights),
         "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Wrote model.onnx and model.json into {out}:" in result.stdout
    app_models = Path(__file__).resolve().parents[1] / "app" / "public" / "model"
    assert f"--out {app_models}" in result.stdout
    printed = result.stdout + result.stderr
    assert tempfile.gettempdir() + "/tmp" not in printed and "Results saved to" not in printed
    assert len(printed.strip().splitlines()) == 2, printed


# Training runs: a run without a checkpoint restarts; a killed run or a full disk is failed.


def project_to_train(tmp_path: Path, epochs: int = 1) -> Project:
    """A labelled project with a dataset, its training tiny: random weights at 64 px."""
    project = labelled_project(tmp_path, videos=1, images=2)
    train = {"model": "yolo11n.yaml", "epochs": epochs, "imgsz": 64, "batch": 4, "workers": 0}
    project = edit_config(project, train=train)
    build_dataset(project)
    return project


def run_counts(cli, project: Project) -> dict[str, int]:
    return json.loads(cli("status", "--json", "-p", str(project.root)).out)["train_runs"]


def test_resume_without_a_checkpoint_trains_the_run_again(
    cli, server, tmp_path: Path, monkeypatch
) -> None:
    project = project_to_train(tmp_path)

    def ctrl_c(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("ultralytics.YOLO.train", ctrl_c)
        stopped = cli("train", "-p", str(project.root))
    assert stopped.code == Interrupted.exit_code
    assert run_counts(cli, project)["interrupted"] == 1
    (run,) = (project.root / "runs" / "train").iterdir()
    assert not (run / "weights" / "last.pt").exists()

    resumed = cli("train", "--resume", "-p", str(project.root))
    assert resumed.code == 0, resumed.err
    assert f"Trained run {run.name}" in resumed.out and "again from the start" in resumed.err
    assert run_counts(cli, project) == {"done": 1, "failed": 0, "interrupted": 0, "running": 0}
    assert [p.name for p in run.parent.iterdir()] == [run.name]
    assert project.latest_weights() == run / "weights" / "best.pt"


def test_a_keep_known_run_restarts_on_the_data_it_was_started_on(
    cli, assets: Path, tmp_path: Path, monkeypatch
) -> None:
    """A ``train.keep_known`` run stopped before its first checkpoint trains again on the
    dataset's copy with the starting weights' labels, not on the dataset's own data.yaml."""
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(assets / "weights"))
    project = labelled_highway(assets, tmp_path, 4, None)
    train = {"model": "yolo11n.pt", "epochs": 1, "imgsz": 64, "batch": 4, "workers": 0}
    project = edit_config(project, train={**train, "keep_known": True})
    build_dataset(project)
    root = str(project.root)

    def ctrl_c(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("ultralytics.YOLO.train", ctrl_c)
        assert cli("train", "-p", root).code == Interrupted.exit_code
    (run,) = (project.root / "runs" / "train").iterdir()
    started_on = Path(json.loads((run / "run.json").read_text())["data"])
    assert "-keep-" in started_on.parent.name and started_on != project.dataset().data_yaml

    started_on.parent.rename(tmp_path / "moved")  # its copy gone: one sentence, nothing lost
    gone = cli("train", "--resume", "-p", root)
    assert gone.code == 1 and f"trained on {started_on}, which is gone" in gone.err
    (tmp_path / "moved").rename(started_on.parent)

    resumed = cli("train", "--resume", "-p", root)
    assert resumed.code == 0, resumed.err
    trained_on = yaml.safe_load((run / "args.yaml").read_text())["data"]
    assert trained_on == str(started_on)
    assert run_counts(cli, project) == {"done": 1, "failed": 0, "interrupted": 0, "running": 0}


def test_a_killed_training_run_is_failed_not_running_for_ever(cli, server, tmp_path: Path) -> None:
    """A real training process killed with SIGKILL: while it lives its run is running and
    cannot be resumed twice; once it is gone, status and resume see it failed."""
    project = project_to_train(tmp_path, epochs=200)
    trainer = subprocess.Popen(
        [sys.executable, "-m", "edgedistill", "-q", "train", "-p", str(project.root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while run_status(project) != "running":
            assert trainer.poll() is None and time.monotonic() < deadline, "it never started"
            time.sleep(0.1)
        assert run_counts(cli, project)["running"] == 1  # alive: not settled
        assert "1 training now" in cli("status", "-p", str(project.root)).out
        twice = cli("train", "--resume", "-p", str(project.root))
        assert twice.code == 1 and "is still training in another process" in twice.err
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()
    status = cli("status", "--json", "-p", str(project.root))
    assert json.loads(status.out)["train_runs"]["running"] == 0
    assert json.loads(status.out)["train_runs"]["failed"] == 1
    assert "was killed: its process ended" in status.err
    with project.open_catalog() as catalog:
        error = catalog.execute("SELECT error FROM train_runs").fetchone()[0]
    assert error.startswith("killed: ")


def test_a_run_an_earlier_version_started_is_not_marked_killed(cli, server, tmp_path) -> None:
    """A run recorded as versions before the run lock recorded one (no lock taken) may be
    training in a process of that version right now: status leaves it running and says
    why, and --resume does not take it up beside that process."""
    project = project_to_train(tmp_path)
    root = str(project.root)
    folder = project.runs_dir / "20260101-000000-yolo11n"
    folder.mkdir(parents=True)
    with project.open_catalog() as catalog:
        catalog.execute(
            "INSERT INTO train_runs (id, dataset, model, settings, directory, status, "
            "started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
            (folder.name, project.dataset().version, "yolo11n.yaml",
             project.config.train.model_dump_json(), str(folder), now()),
        )  # fmt: skip
    status = cli("status", "--json", "-p", root)
    assert json.loads(status.out)["train_runs"]["running"] == 1
    assert json.loads(status.out)["runs_without_lock"] == 1 and "killed" not in status.err
    shown = " ".join(cli("status", "-p", root).out.replace("│", " ").split())  # unwrapped
    assert "1 running (no lock: started by an earlier version)" in shown
    assert "training now" not in shown
    resumed = cli("train", "--resume", "-p", root)
    assert resumed.code == 1 and "started by an earlier version of edgedistill" in resumed.err
    assert run_status(project) == "running"


def run_status(project: Project) -> str | None:
    with project.open_catalog() as catalog:
        row = catalog.execute("SELECT status FROM train_runs").fetchone()
    return row[0] if row else None


def test_a_full_disk_while_training_fails_the_run_in_one_sentence(
    cli, server, tmp_path: Path, monkeypatch
) -> None:
    """The disk fills as Ultralytics writes last.pt (the OSError is raised at that write;
    a real full disk cannot be arranged in a test)."""
    project = project_to_train(tmp_path)
    write_bytes = Path.write_bytes

    def disk_full(path: Path, data: bytes) -> int:
        if path.name == "last.pt":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    result = cli("train", "-p", str(project.root))
    assert result.code == 1
    (error,) = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert "training failed: the disk is full writing" in error and "last.pt" in error
    assert "train --resume" in error and "internal error" not in result.err
    assert run_counts(cli, project) == {"done": 0, "failed": 1, "interrupted": 0, "running": 0}


# Ultralytics' per-layer and per-epoch output, and Ray's warnings, only with -v.


def test_training_prints_ultralytics_output_only_with_verbose(server, tmp_path: Path) -> None:
    project = project_to_train(tmp_path)

    def train(*first: str) -> str:
        argv = [sys.executable, "-m", "edgedistill", *first, "train", "-p", str(project.root)]
        done = subprocess.run(argv, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "Trained run" in done.stdout  # our own summary either way
        return done.stdout + done.stderr

    plain, verbose = train(), train("-v")
    for chatter in ("YOLO11n summary", "Starting training", "Epoch", "engine/trainer:"):
        assert chatter not in plain and chatter in verbose, chatter
    if importlib.util.find_spec("ray") is not None:  # Ultralytics' Ray Tune callback warns
        assert "UserWarning" not in plain and "get_trial_id" in verbose


def in_a_terminal(argv: list[str], cwd: Path | None = None) -> tuple[int, str]:
    """Run ``argv`` (in ``cwd``) with stdout and stderr on a pseudo-terminal: its exit code
    and what it wrote there."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, cwd=cwd,
        env={**env, "TERM": "xterm", "COLUMNS": "120"},
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(), b"".join(chunks).decode(errors="replace")


def test_pipeline_shows_the_epochs_on_a_terminal_as_train_does(server, tmp_path: Path) -> None:
    project = pipeline_project(tmp_path)
    argv = [sys.executable, "-m", "edgedistill", "pipeline", "-p", str(project.root)]
    piped = subprocess.run(argv, capture_output=True, text=True)
    assert piped.returncode == 0, piped.stderr
    assert "Trained run" in piped.stdout and "training (epochs)" not in piped.stderr

    edit_config(project, train={**TINY.model_dump(), "epochs": 2})  # a new run to train
    code, shown = in_a_terminal(argv)
    assert code == 0, shown
    assert "training (epochs)" in shown and "2/2" in shown and "3/2" not in shown
    assert shown.index("training (epochs)") < shown.index("Trained run")


def test_native_output_is_dropped_unless_verbose(capfd: pytest.CaptureFixture[str]) -> None:
    """What a library's C++ core writes to file descriptor 2 (Ray's log-level line as
    it starts) is dropped without -v; its errors reach us as exceptions."""
    try:
        for verbose in (False, True):
            configure_logging(verbose=verbose)
            with native_output_silenced():
                os.write(2, b"native note\n")
            said = capfd.readouterr().err
            assert ("native note" in said) is verbose
    finally:
        configure_logging()


# teachers.<name> settings are flags of label and pipeline, made from the settings models.


def test_teacher_settings_are_documented_flags(cli) -> None:
    """On pipeline, which also trains the student, every teacher flag says it is the
    teacher's (``--teacher-imgsz``); label keeps the bare names."""
    settings = ("imgsz", "score-floor", "iou", "max-det", "batch", "weights", "device")
    for command, prefix in (("label", "--"), ("pipeline", "--teacher-")):
        text = cli(command, "--help").out
        assert "Teacher settings" in text, command
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
        for setting in settings:
            assert prefix + setting in options, (command, setting)
        assert "--install-completion" not in options, command
    pipeline = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", cli("pipeline", "--help").out))
    assert not {"--" + setting for setting in settings} & pipeline
    assert "--mask-threshold" in cli("label", "--help").out  # sam3's, from its model too


def test_teacher_setting_flags_reach_the_teacher(cli, tmp_path: Path, assets: Path) -> None:
    project = init_project(tmp_path / "project", "driving")
    root = str(project.root)
    assert cli("ingest", str(assets / "images" / "dashcam_stills"), "-p", root).code == 0
    weights = str(assets / "weights" / "yolo11n-coco.pt")
    teacher = ("--teacher", "ultralytics", "--weights", weights, "-p", root)
    result = cli("label", *teacher, "--imgsz", "160", "--max-det", "1", "--score-floor", "0.2")
    assert result.code == 0, result.err
    with project.open_catalog() as catalog:
        identity, answers = catalog.execute(
            "SELECT identity, (SELECT group_concat(detections, '|') FROM label_cache) FROM teachers"
        ).fetchone()
    assert json.loads(identity)["imgsz"] == 160 and json.loads(identity)["max_det"] == 1
    per_frame = [json.loads(frame) for frame in answers.split("|")]
    assert len(per_frame) == 6 and all(len(found) <= 1 for found in per_frame)
    assert any(found for found in per_frame)  # cars at 160 px and a 0.2 floor
    assert all(d["score"] >= 0.2 for found in per_frame for d in found)
    # pipeline hands them to the same teacher section, before anything runs
    teacher = ("--teacher", "ultralytics", "--teacher-weights", weights, "-p", root)
    wrong = cli("pipeline", "x.mp4", *teacher, "--teacher-mask-threshold", "0.3")
    assert wrong.code == 2 and "teachers.ultralytics.mask_threshold" in wrong.err


def test_flags_come_from_the_settings_models_fields() -> None:
    """Shared fields are one flag; a field's docstring or description is its help; bounds,
    choices and defaults come along; a field a flag cannot give, or marked, has none."""
    from typing import Literal

    from pydantic import BaseModel, Field

    from edgedistill.flags import settings_flags

    class Fast(BaseModel):
        imgsz: int = Field(default=640, ge=32)
        """Image size in pixels."""
        mode: Literal["a", "b"] = "a"
        classes: list[str] = []
        video: str = Field(default="x", json_schema_extra={"flag": False})

    class Slow(BaseModel):
        imgsz: int = Field(default=1008, ge=32, description="Input side.")
        score: float | None = Field(default=None, le=1.0)

    flags = {flag.option(): flag for flag in settings_flags({"fast": Fast, "slow": Slow})}
    assert list(flags) == ["--imgsz", "--mode", "--score"]
    imgsz = flags["--imgsz"]
    assert (imgsz.kind, imgsz.minimum, imgsz.maximum, imgsz.owners) == (
        int,
        32,
        None,
        ("fast", "slow"),
    )
    assert imgsz.help == "Image size in pixels [fast: default 640, slow: default 1008]."
    assert flags["--mode"].choices == ("a", "b") and flags["--mode"].metavar == "a|b"
    assert (flags["--score"].kind, flags["--score"].maximum) == (float, 1.0)
    assert flags["--score"].help == "Score [slow]."
