"""Decode a video with PyAV and sample frames at a fixed rate in time."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from edgedistill.errors import EdgedistillError

# Containers sometimes count a frame or two that an edit list hides from decoding;
# fewer decoded frames than this share of the count means the file is cut short.
_TRUNCATED_SHARE = 0.98

# Frame and slice threading, FFmpeg's choice of thread count (one more than the cores).
THREAD_TYPE = "AUTO"


class VideoError(EdgedistillError):
    """A video cannot be opened, or breaks part-way; the message says which and where."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream."""

    width: int
    height: int
    fps: float | None
    duration: float | None
    frame_count: int | None
    rotation: int


@dataclass(frozen=True)
class SampledFrame:
    """A decoded frame: ``image`` is HxWx3 uint8 BGR, upright, at the stored size."""

    index: int
    timestamp: float
    image: np.ndarray


class TimeSampler:
    """Keeps the first frame at or after each multiple of ``1 / fps`` seconds.

    Works on timestamps, not frame counts, so variable-frame-rate phone videos
    sample as evenly as constant-rate ones. ``fps == 0`` keeps every frame.
    """

    _EPSILON = 1e-6

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps if fps > 0 else 0.0
        self._next = -math.inf

    def keep(self, timestamp: float) -> bool:
        if self.period == 0.0:
            return True
        if timestamp < self._next - self._EPSILON:
            return False
        self._next = (math.floor(timestamp / self.period + self._EPSILON) + 1) * self.period
        return True


def fit_within(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Size with the longest side at most ``max_side``, aspect kept, never upscaled."""
    longest = max(width, height)
    if max_side <= 0 or longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


class VideoReader:
    """An open video file; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._container = av.open(str(path))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise VideoError(f"cannot open as a video ({_reason(exc)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError("has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = THREAD_TYPE
        # One scaler for the whole video: a frame's own reformat() sets up a new one, with
        # its own thread pool, every time. One thread: the decoder's threads use the cores.
        self._reformatter = VideoReformatter()
        self.frames_decoded = 0
        self.packets_skipped = 0
        self._frames = self._decode()
        self._first: av.VideoFrame | None = None  # decoded by the probe, kept for sample()
        self._failure: av.FFmpegError | None = None  # met by the probe, raised by sample()
        self.info = self._probe()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *_: object) -> None:
        self._container.close()

    def _probe(self) -> VideoInfo:
        stream = self._stream
        rate = stream.average_rate or stream.guessed_rate
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        width, height = self._display_size(stream.codec_context.width, stream.codec_context.height)
        rotation = self._rotation()
        if rotation % 180:
            width, height = height, width
        return VideoInfo(
            width=width,
            height=height,
            fps=float(rate) if rate else None,
            duration=duration,
            frame_count=stream.frames or None,
            rotation=rotation,
        )

    def _display_size(self, width: int, height: int) -> tuple[int, int]:
        """Coded size corrected for non-square pixels (anamorphic video)."""
        aspect = self._stream.sample_aspect_ratio
        if aspect and Fraction(aspect) != 1:
            width = round(width * Fraction(aspect))
        return width, height

    def _rotation(self) -> int:
        """Counter-clockwise display rotation in degrees (phone videos carry 90 or -90).

        PyAV exposes the display matrix on frames only: the first frame is decoded
        here and handed to sample(), so the file is opened and decoded once.
        """
        try:
            self._first = next(self._frames, None)
        except av.FFmpegError as exc:
            self._failure = exc
        if self._first is None:
            return 0
        return round((self._first.rotation or 0) / 90) * 90 % 360

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Every frame of the stream in order; undecodable packets are skipped and counted."""
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                self.packets_skipped += 1
                continue
            yield from frames

    def sample(self, fps: float, max_side: int) -> Iterator[SampledFrame]:
        """Frames at ``fps`` (0 = all), upright and fitted within ``max_side``.

        Undecodable packets are skipped and counted; a video that ends early or
        cannot be read on raises VideoError after the frames before the break.
        """
        sampler = TimeSampler(fps)
        origin: float | None = None
        first, self._first = self._first, None
        try:
            if self._failure is not None:
                raise self._failure
            for frame in itertools.chain([first] if first is not None else [], self._frames):
                index = self.frames_decoded
                self.frames_decoded += 1
                time = frame.time if frame.time is not None else index / (self.info.fps or 30)
                origin = time if origin is None else origin
                if sampler.keep(time - origin):
                    yield SampledFrame(index, time - origin, self._to_image(frame, max_side))
        except av.FFmpegError as exc:
            raise VideoError(
                f"breaks after {self.frames_decoded} frames ({_reason(exc)})"
            ) from None
        self._check_complete()

    def _to_image(self, frame: av.VideoFrame, max_side: int) -> np.ndarray:
        width, height = self._display_size(frame.width, frame.height)
        width, height = fit_within(width, height, max_side)
        image = self._reformatter.reformat(
            frame, width=width, height=height, format="bgr24", interpolation="AREA", threads=1
        ).to_ndarray()
        turns = self.info.rotation // 90
        return np.ascontiguousarray(np.rot90(image, k=turns)) if turns else image

    def _check_complete(self) -> None:
        expected = self.info.frame_count
        if self.frames_decoded == 0:
            raise VideoError("holds no decodable frames")
        if expected and self.frames_decoded < expected * _TRUNCATED_SHARE - 1:
            raise VideoError(
                f"ends after {self.frames_decoded} of {expected} frames; the file looks truncated"
            )
        if self.packets_skipped:
            raise VideoError(f"has {self.packets_skipped} corrupt packets that were skipped")


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without errno noise and file paths."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return exc.strerror.rstrip(".").lower()
    return str(exc).rstrip(".") or type(exc).__name__
