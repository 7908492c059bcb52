"""Sampling arithmetic, sizes, rotation and containers of the video reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgedistill.media.video import TimeSampler, VideoError, VideoReader, fit_within
from tests.media import truncate, write_video


def kept_indices(fps: float, source_fps: float, count: int) -> list[int]:
    sampler = TimeSampler(fps)
    return [i for i in range(count) if sampler.keep(i / source_fps)]


@pytest.mark.parametrize(
    ("fps", "source_fps", "count", "expected"),
    [
        (2, 30, 300, 20),  # 10 s at 30 fps
        (1, 30, 300, 10),
        (2, 25, 221, 18),  # 8.84 s: samples at 0, 0.5, ..., 8.5
        (3, 30, 300, 30),
        (0, 30, 300, 300),  # 0 keeps every frame
        (60, 30, 300, 300),  # asking for more than there is keeps every frame
        (2, 29.97, 301, 21),  # NTSC: frame 300 is at 10.01 s
    ],
)
def test_sampler_keeps_one_frame_per_period(fps, source_fps, count, expected) -> None:
    assert len(kept_indices(fps, source_fps, count)) == expected


def test_sampler_picks_the_first_frame_at_each_multiple() -> None:
    assert kept_indices(2, 30, 60) == [0, 15, 30, 45]
    assert kept_indices(2, 25, 50) == [0, 13, 25, 38]  # 0.52 s is the first frame past 0.5 s


def test_sampler_on_variable_frame_rate_timestamps() -> None:
    sampler = TimeSampler(1)
    times = [0.0, 0.03, 0.9, 1.4, 1.45, 2.0, 5.0, 5.2, 6.1]  # stalls and bursts, as on phones
    assert [t for t in times if sampler.keep(t)] == [0.0, 1.4, 2.0, 5.0, 6.1]


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((1920, 1080), 640, (640, 360)),
        ((1080, 1920), 640, (360, 640)),
        ((320, 240), 640, (320, 240)),  # never upscaled
        ((1920, 1080), 0, (1920, 1080)),  # 0 keeps the size
        ((4000, 10), 640, (640, 2)),
    ],
)
def test_fit_within(size, max_side, expected) -> None:
    assert fit_within(*size, max_side) == expected


@pytest.mark.parametrize(("fps", "expected"), [(2, 20), (1, 10), (0, 300)])
def test_sampling_a_real_encoded_video(tmp_path: Path, fps: float, expected: int) -> None:
    video = write_video(tmp_path / "clip.mp4", seconds=10, fps=30)
    with VideoReader(video) as reader:
        frames = list(reader.sample(fps, max_side=0))
        assert reader.info.frame_count == 300
        assert reader.info.fps == pytest.approx(30)
        assert reader.info.duration == pytest.approx(10, abs=0.05)
    assert len(frames) == expected
    step = 30 // fps if fps else 1
    assert [f.index for f in frames] == list(range(0, 300, step))
    assert frames[1].timestamp == pytest.approx(step / 30)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".avi", ".MP4"])
def test_containers(tmp_path: Path, suffix: str) -> None:
    name = f"clip{suffix}"
    video = write_video(tmp_path / name, seconds=2, fps=10, size=(160, 120))
    with VideoReader(video) as reader:
        frames = list(reader.sample(fps=2, max_side=80))
    assert len(frames) == 4
    assert frames[0].image.shape == (60, 80, 3)
    assert frames[0].image.dtype == np.uint8


def half_white(t: float) -> np.ndarray:
    image = np.zeros((64, 96, 3), np.uint8)
    image[:, :48] = 255  # left half white as encoded
    return image


@pytest.mark.parametrize(
    ("rotation", "white_part"),
    [(-90, "top"), (90, "bottom"), (180, "right"), (None, "left")],
)
def test_rotation_metadata_is_applied(tmp_path: Path, rotation, white_part) -> None:
    video = write_video(tmp_path / "phone.mp4", 1, 10, half_white, rotation=rotation)
    with VideoReader(video) as reader:
        image = next(reader.sample(fps=1, max_side=0)).image
        info = reader.info
    upright = rotation is None or rotation == 180
    assert image.shape[:2] == ((64, 96) if upright else (96, 64))
    assert (info.width, info.height) == (image.shape[1], image.shape[0])
    h, w = image.shape[:2]
    halves = {
        "top": image[: h // 2],
        "bottom": image[h // 2 :],
        "left": image[:, : w // 2],
        "right": image[:, w // 2 :],
    }
    assert halves[white_part].mean() > 200


def test_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"definitely not a video" * 50)
    with pytest.raises(VideoError, match="cannot open as a video"):
        VideoReader(garbage)


def test_truncated_video_yields_frames_before_the_break(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", seconds=4, fps=25, faststart=True)
    cut = truncate(video, tmp_path / "cut.mp4")
    kept = []
    with VideoReader(cut) as reader, pytest.raises(VideoError, match="truncated|breaks after"):
        for frame in reader.sample(fps=0, max_side=0):
            kept.append(frame)
    assert 0 < len(kept) < 100


def test_truncated_video_without_index_cannot_open(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", seconds=2, fps=25)
    with pytest.raises(VideoError, match="cannot open as a video"):
        VideoReader(truncate(video, tmp_path / "cut.mp4"))
