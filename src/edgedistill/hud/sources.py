"""Frames for the HUD: a video file, an image folder, a webcam, or an RTSP/HTTP stream."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from edgedistill.errors import EdgedistillError
from edgedistill.media.files import media_kind
from edgedistill.media.images import load_image
from edgedistill.media.video import VideoError, VideoReader, fit_within


@dataclass(frozen=True)
class TimedFrame:
    index: int
    time_s: float
    image: np.ndarray  # BGR, fitted to the HUD width


@dataclass
class FrameSource:
    """Frames with timestamps, and the rate they arrive at."""

    frames: Iterator[TimedFrame]
    fps: float
    name: str
    live: bool = False
    """Frames arrive at their own pace (a camera, a stream): the newest one matters."""


def open_source(source: str, width: int, folder_fps: float) -> FrameSource:
    """The frames of ``source``; a problem opening it is one sentence."""
    if source.isdigit():
        return _camera(int(source), width)
    if "://" in source:
        return _stream(source, width)
    path = Path(source).expanduser()
    if path.is_dir():
        images = sorted(p for p in path.rglob("*") if media_kind(p) == "image")
        if not images:
            raise EdgedistillError(f"{source}: folder holds no images")
        return FrameSource(_images(images, width, folder_fps), folder_fps, path.name)
    if not path.exists():
        raise EdgedistillError(f"{source}: no such file, folder, camera or stream")
    if media_kind(path) != "video":
        raise EdgedistillError(f"{source}: not a video file")
    try:
        reader = VideoReader(path)
    except VideoError as exc:
        raise EdgedistillError(f"{source}: {exc}") from None
    return FrameSource(_video(reader, width), reader.info.fps or 30.0, path.name)


def _video(reader: VideoReader, width: int) -> Iterator[TimedFrame]:
    with reader:
        for frame in reader.sample(fps=0, max_side=width):
            yield TimedFrame(frame.index, frame.timestamp, frame.image)


def _images(images: list[Path], width: int, fps: float) -> Iterator[TimedFrame]:
    for index, path in enumerate(images):
        image, _ = load_image(path, width)
        yield TimedFrame(index, index / fps, image)


def _camera(index: int, width: int) -> FrameSource:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our sentence instead
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise EdgedistillError(f"cannot open camera {index}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0

    def frames() -> Iterator[TimedFrame]:
        try:
            for index_ in itertools.count():
                ok, image = capture.read()
                if not ok:
                    return
                yield TimedFrame(index_, index_ / fps, _fit(image, width))
        finally:
            capture.release()

    return FrameSource(frames(), fps, f"camera {index}", live=True)


def _stream(url: str, width: int) -> FrameSource:
    try:
        container = av.open(
            url, options={"rtsp_transport": "tcp", "timeout": "5000000"}, timeout=10
        )
    except (av.FFmpegError, OSError) as exc:
        raise EdgedistillError(f"cannot open stream {url} ({exc})") from None
    stream = container.streams.video[0]
    fps = float(stream.average_rate or 30)

    def frames() -> Iterator[TimedFrame]:
        with container:
            for index, frame in enumerate(container.decode(stream)):
                time_s = frame.time if frame.time is not None else index / fps
                yield TimedFrame(index, time_s, _fit(frame.to_ndarray(format="bgr24"), width))

    return FrameSource(frames(), fps, url, live=True)


def _fit(image: np.ndarray, width: int) -> np.ndarray:
    size = fit_within(image.shape[1], image.shape[0], width)
    if size == (image.shape[1], image.shape[0]):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
