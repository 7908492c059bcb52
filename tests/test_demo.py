"""``edgedistill demo``: the whole chain on a clip, with the best models found here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from edgedistill.config import ProjectConfig
from edgedistill.demo import make_demo_clip, pick_student, pick_teacher, sample_photos
from edgedistill.media.video import VideoReader
from edgedistill.weights import WEIGHTS_DIR_VARIABLE
from tests.media import panning, write_video
from tests.test_newcomer import in_a_terminal


def _report(output: str) -> Path:
    return Path(output.split("Report:")[-1].split()[0])


def test_demo_offline_with_random_weights_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    monkeypatch.delenv(WEIGHTS_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    clip = write_video(tmp_path / "clip.mp4", seconds=2, fps=10, size=(160, 96))
    result = cli("demo", "--video", str(clip), "--dir", str(tmp_path / "demo"), "--epochs", "1")
    assert result.code == 0, result.err
    assert "random weights: its labels are meaningless" in result.out
    assert "YOLO11n from random weights" in result.out
    for stage in ("ingest", "label", "dataset", "train", "eval", "export", "run"):
        assert f" {stage} " in result.out
    assert "parity: onnx" in result.out
    (workspace,) = (tmp_path / "demo").iterdir()
    assert workspace.name.startswith("clip-") and (workspace / "hud.mp4").is_file()
    report = _report(result.out)
    assert report.name == "report.html" and report.is_file()
    page = report.read_text()
    assert page.count('class="caveat"') >= 2 and "random weights" in page
    card = next((workspace / "project" / "exports").rglob("MODEL_CARD.md")).read_text()
    assert "**Caveat.** Teacher:" in card and "**Caveat.** Student:" in card
    gallery = next((workspace / "project" / "datasets").rglob("gallery.html")).read_text()
    assert 'class="caveat"' in gallery
    assert "Read before trusting these figures" in result.err
    again = cli("demo", "--video", str(clip), "--dir", str(tmp_path / "demo"), "--epochs", "1")
    assert again.code == 0 and "Nothing to label" in again.out
    assert "ONNX already exported" in again.out and "HUD video already made" in again.out
    assert str(report) in again.out  # every stage reused, the same report


def test_each_clip_gets_its_own_project(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    monkeypatch.delenv(WEIGHTS_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    clips = []
    for name, pace in (("a", 0.5), ("b", 0.3)):
        (tmp_path / name).mkdir()
        clips.append(write_video(tmp_path / name / "clip.mp4", 1, 10, panning(pace), (160, 96)))
    for clip in clips:
        result = cli("demo", "--video", str(clip), "--dir", str(tmp_path / "demo"), "--epochs", "1")
        assert result.code == 0, result.err
    assert len(list((tmp_path / "demo").iterdir())) == 2


def test_demo_on_real_footage_with_pretrained_models(cli, assets, tmp_path, monkeypatch):
    """The first impression: boxes, a lead vehicle with its distance, a TTC, a real mAP."""
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(assets / "weights"))
    monkeypatch.chdir(tmp_path)
    clip = assets / "videos" / "dashcam_highway_960x540.mp4"
    result = cli("demo", "--video", str(clip), "--dir", str(tmp_path / "demo"), "--epochs", "1")
    assert result.code == 0, result.err
    assert "yolo11n-coco.pt at 832 px, a COCO-pretrained detector standing in" in result.out
    leads, ttcs = (
        int(n)
        for n in re.findall(
            r"a lead vehicle in (\d+), a time to collision "
            r"in (\d+)",
            result.out,
        )[0]
    )
    assert leads > 100 and ttcs > 0
    metrics = json.loads((_report(result.out).parent / "metrics.json").read_text())
    assert metrics["vs_teacher"]["map50"] > 0.2
    assert "car" in metrics["vs_teacher"]["per_class"]
    assert metrics["teacher_description"].startswith("Ultralytics model (yolo11n-coco.pt)")
    page = _report(result.out).read_text()
    assert "teacher&#x27;s labels (left)" in page or "teacher's labels (left)" in page
    assert page.count("<figcaption>") >= 1
    # What the driver sees: no class the footage never showed, every frame in the log.
    (workspace,) = (tmp_path / "demo").iterdir()
    (run,) = (workspace / "project" / "runs" / "train").iterdir()
    untrained = set(json.loads((run / "run.json").read_text())["untrained_classes"]["classes"])
    assert {"emergency lights", "ambulance", "scooter"} <= untrained
    events = [json.loads(line) for line in (workspace / "hud.events.jsonl").open()]
    assert len(events) == 221
    shown = {d["class"] for event in events for d in event["detections"]}
    assert "car" in shown and not shown & untrained


def test_teacher_and_student_choice(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(WEIGHTS_DIR_VARIABLE, raising=False)
    monkeypatch.setenv("ROBOFLOW_API_KEY", "k")
    assert pick_teacher(ProjectConfig()).name == "roboflow-sam3"
    monkeypatch.delenv("ROBOFLOW_API_KEY")
    with_sam3 = ProjectConfig(teachers={"sam3": {"weights": "/models/sam3"}})
    assert pick_teacher(with_sam3).name == "sam3"
    random = pick_teacher(ProjectConfig())
    assert random.settings["weights"] == "yolo11n.yaml" and random.stand_in
    assert pick_student(ProjectConfig()).name == "yolo11n.yaml"
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "yolo11s.pt").write_bytes(b"")
    (tmp_path / "w" / "yolo11n-coco.pt").write_bytes(b"")
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(tmp_path / "w"))
    stand_in = pick_teacher(ProjectConfig())
    assert stand_in.settings == {"weights": str(tmp_path / "w" / "yolo11s.pt"), "imgsz": 832}
    assert pick_student(ProjectConfig()).name == str(tmp_path / "w" / "yolo11n-coco.pt")


def test_demo_clip_from_the_packaged_photos(tmp_path: Path) -> None:
    clip = make_demo_clip(
        tmp_path / "c.mp4", sample_photos(), seconds_per_photo=0.4, stop_seconds=0.4
    )
    with VideoReader(clip) as reader:
        assert reader.info.frame_count == 2 * (10 + 10)
        assert (reader.info.width, reader.info.height) == (960, 540)


def test_demo_shows_the_epochs_on_a_terminal(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    monkeypatch.delenv(WEIGHTS_DIR_VARIABLE, raising=False)
    clip = write_video(tmp_path / "clip.mp4", seconds=1, fps=10, size=(160, 96))
    argv = [sys.executable, "-m", "edgedistill", "demo", "--video", str(clip), "--epochs", "2"]
    code, shown = in_a_terminal([*argv, "--dir", str(tmp_path / "demo")], cwd=tmp_path)
    assert code == 0, shown
    assert "training (epochs)" in shown and "2/2" in shown
    assert shown.index("training (epochs)") < shown.index("Trained run")
