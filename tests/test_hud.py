"""The driver HUD: distance and TTC arithmetic, tracking, the runner, bad sources."""

from __future__ import annotations

import math
import time
from pathlib import Path

import av
import numpy as np
import pytest
import supervision as sv
from trackers import ByteTrackTracker

from edgedistill.config import HudConfig
from edgedistill.errors import EdgedistillError
from edgedistill.hud import run_hud
from edgedistill.hud.estimate import (
    TimeToCollision,
    distance_m,
    focal_length_px,
    inside,
    ttc_from_samples,
)
from edgedistill.hud.overlay import LeadTracker
from edgedistill.hud.threads import EncodeBehind, ReadAhead
from edgedistill.runtime import cores
from tests.conftest import ASSETS, coco_yolo11n_onnx
from tests.media import write_video
from tests.test_export import confident_student

FPS = 15


def approaching(
    distance0: float, speed: float, seconds: float, width_m: float = 1.8, focal: float = 500.0
) -> list[tuple[float, float]]:
    """Box widths of a car closing in at ``speed`` m/s from ``distance0`` m."""
    samples = []
    for i in range(round(seconds * FPS)):
        t = i / FPS
        samples.append((t, focal * width_m / (distance0 - speed * t)))
    return samples


def test_distance_from_box_width() -> None:
    focal = focal_length_px(640, 90.0)  # tan(45°) = 1: f = 320 px
    assert focal == pytest.approx(320)
    assert distance_m(32, 1.8, focal) == pytest.approx(18.0)
    assert distance_m(0, 1.8, focal) is None


def test_ttc_of_an_approaching_car() -> None:
    estimator = TimeToCollision(window_s=1.0)
    ttc = None
    for t, width in approaching(distance0=30, speed=10, seconds=1.5):
        ttc = estimator.update(t, width)
    # At the last sample (t = 1.43 s) the car is 15.7 m away closing at 10 m/s: 1.57 s.
    assert ttc == pytest.approx(3.0 - 22 / FPS, abs=0.1)


def test_no_ttc_when_receding_or_steady() -> None:
    receding = [(t, 500 * 1.8 / (20 + 5 * t)) for t in np.arange(0, 1, 1 / FPS)]
    steady = [(t, 60.0 + (0.3 if i % 2 else -0.3)) for i, t in enumerate(np.arange(0, 1, 1 / FPS))]
    assert ttc_from_samples([(t, math.log(w)) for t, w in receding]) is None
    assert ttc_from_samples([(t, math.log(w)) for t, w in steady]) is None


def test_point_in_the_ego_zone() -> None:
    zone = [(0.42, 0.55), (0.58, 0.55), (0.85, 1.0), (0.15, 1.0)]
    assert inside((0.5, 0.9), zone)
    assert not inside((0.05, 0.9), zone) and not inside((0.5, 0.3), zone)


def moving_box(frame: int) -> sv.Detections:
    x = 100 + 6 * frame
    return sv.Detections(
        xyxy=np.array([[x, 200, x + 60, 240]], dtype=np.float32),
        confidence=np.array([0.9], dtype=np.float32),
        class_id=np.array([0]),
    )


def test_tracker_keeps_the_id_of_a_moving_box() -> None:
    tracker = ByteTrackTracker(frame_rate=FPS, track_activation_threshold=0.25)
    ids = []
    for frame in range(30):
        tracked = tracker.update(moving_box(frame))
        ids += [int(i) for i in tracked.tracker_id if i >= 0]
    assert len(ids) >= 25 and len(set(ids)) == 1


def test_lead_vehicle_gets_distance_ttc_and_a_warning() -> None:
    settings = HudConfig(ttc_warning_s=2.0)
    leads = LeadTracker(settings)
    lead = None
    for i, (t, width) in enumerate(approaching(25, 12, 1.2, focal=focal_length_px(640, 64))):
        cx, bottom = 320, 300 + i
        box = np.array([[cx - width / 2, bottom - width * 0.8, cx + width / 2, bottom]])
        detections = sv.Detections(
            xyxy=box.astype(np.float32),
            class_id=np.array([0]),
            confidence=np.array([0.9], dtype=np.float32),
            tracker_id=np.array([7]),
        )
        lead = leads.update(detections, ["car"], t, (640, 360))
    assert lead is not None and lead.track_id == 7 and lead.class_name == "car"
    assert lead.distance_m == pytest.approx(25 - 12 * (17 / FPS), rel=0.05)
    assert lead.ttc_s is not None and lead.ttc_s < 2.0 and lead.warning


def test_objects_outside_the_lane_are_not_the_lead() -> None:
    detections = sv.Detections(
        xyxy=np.array([[10, 300, 60, 340]], dtype=np.float32),
        class_id=np.array([0]),
        tracker_id=np.array([1]),
        confidence=np.array([0.9], dtype=np.float32),
    )
    assert LeadTracker(HudConfig()).update(detections, ["car"], 0.0, (640, 360)) is None


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    return confident_student(tmp_path_factory.mktemp("student") / "student.pt")


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_runner_writes_a_hud_video_with_every_frame(tmp_path, student) -> None:
    clip = write_video(tmp_path / "clip.mp4", seconds=2, fps=10, size=(320, 180))
    stats = run_hud(str(clip), student, HudConfig(), output=tmp_path / "hud.mp4")
    assert stats.frames == stats.processed == 20 and stats.dropped == 0
    assert frame_count(tmp_path / "hud.mp4") == 20
    assert set(stats.median_ms()) >= {"decode", "infer", "track", "draw", "write"}
    assert stats.fps > 0


def test_realtime_drops_frames_to_keep_up_and_keeps_the_frame_count(tmp_path, student) -> None:
    clip = write_video(tmp_path / "clip.mp4", seconds=2, fps=30, size=(320, 180))
    stats = run_hud(
        str(clip), student, HudConfig(target_fps=10), output=tmp_path / "hud.mp4", realtime=True
    )
    assert stats.frames == 60 and stats.dropped >= 35
    assert stats.processed + stats.dropped == 60
    assert frame_count(tmp_path / "hud.mp4") == 60


def test_bad_sources_and_models_are_one_sentence(tmp_path, student, cli) -> None:
    with pytest.raises(EdgedistillError, match="no such file, folder, camera or stream"):
        run_hud(str(tmp_path / "missing.mp4"), student, HudConfig(), tmp_path / "o.mp4")
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    with pytest.raises(EdgedistillError, match="not a video file"):
        run_hud(str(notes), student, HudConfig(), tmp_path / "o.mp4")
    with pytest.raises(EdgedistillError, match="cannot open camera 9"):
        run_hud("9", student, HudConfig(), tmp_path / "o.mp4")
    with pytest.raises(EdgedistillError, match="cannot open stream rtsp://127.0.0.1:9/"):
        run_hud("rtsp://127.0.0.1:9/live", student, HudConfig(), tmp_path / "o.mp4")
    fake = tmp_path / "model.onnx"
    fake.write_text("not a model")
    clip = write_video(tmp_path / "clip.mp4", seconds=1, fps=10)
    with pytest.raises(EdgedistillError, match="not a model ONNX Runtime can load"):
        run_hud(str(clip), fake, HudConfig(), tmp_path / "o.mp4")
    result = cli("run", str(clip), "--model", str(tmp_path / "none.pt"), "--output", "o.mp4")
    assert result.code == 1 and "none.pt: no such model file" in result.err
    assert "Traceback" not in result.err


def test_read_ahead_keeps_order_and_runs_at_most_depth_ahead() -> None:
    produced: list[int] = []

    def numbers():
        for i in range(20):
            produced.append(i)
            yield i

    ahead = ReadAhead(numbers(), depth=3)
    taken = []
    for item in ahead:
        time.sleep(0.01)  # a slow consumer: the producer must wait for it
        assert len(produced) <= item + 1 + 3 + 1  # queued ones plus the one in hand
        taken.append(item)
    assert taken == list(range(20)) and ahead.skipped == 0


def test_read_ahead_latest_wins_skips_what_the_consumer_missed() -> None:
    ahead = ReadAhead(iter(range(200)), latest_wins=True)
    taken = []
    for item in ahead:
        time.sleep(0.005)
        taken.append(item)
    assert taken[-1] == 199 and taken == sorted(taken)
    assert ahead.skipped == 200 - len(taken) > 0


def test_read_ahead_hands_over_the_producers_error() -> None:
    def broken():
        yield 1
        raise EdgedistillError("clip breaks after 1 frame")

    with pytest.raises(EdgedistillError, match="breaks after 1 frame"):
        list(ReadAhead(broken()))


def test_a_video_that_cannot_be_written_is_one_sentence(tmp_path) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    writer = EncodeBehind(tmp_path / "file" / "hud.mp4", fps=10)
    with pytest.raises(EdgedistillError, match="cannot write the HUD video"):
        for _ in range(50):
            writer.write(np.zeros((64, 64, 3), np.uint8))
        writer.close()


def test_a_live_stream_hands_over_its_newest_frame_and_keeps_the_timing(tmp_path, student) -> None:
    clip = write_video(tmp_path / "clip.mp4", seconds=4, fps=30, size=(320, 180))
    stats = run_hud(f"file://{clip}", student, HudConfig(), output=tmp_path / "hud.mp4")
    assert stats.frames == 120 and stats.dropped > 0  # decoding outruns the student
    assert stats.processed + stats.dropped == 120
    assert frame_count(tmp_path / "hud.mp4") == 120


def dashcam_clip(path: Path, frames: int) -> Path:
    """The first ``frames`` of the real dashcam clip, re-encoded."""
    from edgedistill.media.video import VideoReader

    with VideoReader(ASSETS / "videos" / "dashcam_highway_960x540.mp4") as reader:
        images = [f.image for f in reader.sample(fps=0, max_side=960)][:frames]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 960, 540, "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    return path


def test_two_copies_of_the_student_draw_the_same_hud(tmp_path) -> None:
    """Two frames in flight on two copies: every frame still tracked in order."""
    model = coco_yolo11n_onnx(tmp_path)
    clip = dashcam_clip(tmp_path / "dashcam.mp4", 45)
    one = run_hud(str(clip), model, HudConfig(model_workers=1), output=tmp_path / "one.mp4")
    two = run_hud(str(clip), model, HudConfig(), output=tmp_path / "two.mp4")  # 2 on a file
    assert one.processed == two.processed == 45 and frame_count(tmp_path / "two.mp4") == 45
    assert one.copies == 1 and two.copies == min(2, cores()) and one.lead_frames > 0
    assert (two.lead_frames, two.ttc_frames, two.warnings) == (
        one.lead_frames,
        one.ttc_frames,
        one.warnings,
    )
    assert run_hud(str(clip), model, HudConfig(), realtime=True).copies == 1  # latency first
