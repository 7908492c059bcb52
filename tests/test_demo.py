"""``edgedistill demo``: the whole chain so far, offline, on a clip."""

from __future__ import annotations

from pathlib import Path

from edgedistill.config import ProjectConfig
from edgedistill.demo import make_demo_clip, pick_teacher, sample_photos
from edgedistill.ingest.video import VideoReader
from tests.media import write_video


def test_demo_runs_the_whole_loop_offline(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    clip = write_video(tmp_path / "clip.mp4", seconds=2, fps=10, size=(160, 96))
    result = cli("demo", "--video", str(clip), "--dir", str(tmp_path / "demo"))
    assert result.code == 0, result.err
    assert "random weights: its labels are meaningless" in result.out
    for stage in ("ingest", "label", "dataset", "train", "eval", "export", "run"):
        assert f" {stage} " in result.out
    assert "parity: onnx" in result.out and (tmp_path / "demo" / "hud.mp4").is_file()
    report = Path(result.out.split("Report:")[-1].split()[0])
    assert report.name == "report.html" and report.is_file()
    again = cli("demo", "--video", str(clip), "--dir", str(tmp_path / "demo"))
    assert again.code == 0 and "Nothing to label" in again.out
    assert str(report) in again.out  # every stage reused, the same report


def test_teacher_choice(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROBOFLOW_API_KEY", "k")
    assert pick_teacher(ProjectConfig())[0] == "roboflow-sam3"
    monkeypatch.delenv("ROBOFLOW_API_KEY")
    with_sam3 = ProjectConfig(teachers={"sam3": {"weights": "/models/sam3"}})
    assert pick_teacher(with_sam3)[0] == "sam3"
    (tmp_path / "yolo11n.pt").write_bytes(b"")
    assert pick_teacher(ProjectConfig())[1] == {"weights": "yolo11n.pt"}


def test_demo_clip_from_the_packaged_photos(tmp_path: Path) -> None:
    clip = make_demo_clip(
        tmp_path / "c.mp4", sample_photos(), seconds_per_photo=0.4, stop_seconds=0.4
    )
    with VideoReader(clip) as reader:
        assert reader.info.frame_count == 2 * (10 + 10)
        assert (reader.info.width, reader.info.height) == (960, 540)
