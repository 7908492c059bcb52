"""Video propagation: detect with the text prompts on keyframes, track in between.

Frames arrive in video order (source, then frame index). Consecutive frames of one
video form a run; a run starts a tracking session whose first frame is a keyframe,
and every ``keyframe_interval``-th frame after it is one too. A new run (and a fresh
detection) starts at a new video, at a gap longer than ``max_gap_s`` between sampled
frames (dropped near-duplicates, a resumed run) and when the prompts still missing
change. Each detection carries a track id unique across runs, so a killed run
resumes at the first uncached frame with a new session and never repeats a frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from edgedistill.teachers.base import FrameInput, RawDetection, TeacherResult


class VideoSession(Protocol):
    """A tracking session over one run of frames."""

    def step(self, image: np.ndarray, detect: bool, mask_threshold: float) -> list[RawDetection]:
        """The objects on the next frame; ``detect``: run the text-prompted detector too."""

    def drop_missed(self, frame_idx: int, max_missed: int) -> None:
        """End tracks no detection confirmed on ``max_missed`` keyframes in a row."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class PropagationRules:
    """When to detect again and when to end a track."""

    keyframe_interval: int
    max_gap_s: float
    max_missed_keyframes: int
    mask_threshold: float


def propagate(
    frames: Iterator[FrameInput],
    open_session: Callable[[tuple[str, ...]], VideoSession],
    load_image: Callable[[FrameInput], np.ndarray],
    rules: PropagationRules,
) -> Iterator[TeacherResult]:
    """One result per frame, in order, as soon as the frame is tracked."""
    session: VideoSession | None = None
    previous: FrameInput | None = None
    run, position = "", 0
    try:
        for frame in frames:
            if session is None or _starts_run(previous, frame, rules.max_gap_s):
                if session is not None:
                    session.close()
                session = open_session(frame.prompts)
                run, position = _run_id(frame), 0
            detect = position % rules.keyframe_interval == 0
            found = session.step(load_image(frame), detect, rules.mask_threshold)
            if detect and position > 0:
                session.drop_missed(position, rules.max_missed_keyframes)
            tracked = [replace(d, track=f"{run}-{d.track}") for d in found]
            yield TeacherResult(frame, frame.prompts, tracked, calls=1)
            previous, position = frame, position + 1
    finally:
        if session is not None:
            session.close()


def _starts_run(previous: FrameInput | None, frame: FrameInput, max_gap_s: float) -> bool:
    if previous is None or previous.source_id != frame.source_id:
        return True
    if previous.prompts != frame.prompts:
        return True
    if previous.timestamp is None or frame.timestamp is None:
        return False
    return frame.timestamp - previous.timestamp > max_gap_s


def _run_id(first: FrameInput) -> str:
    """Names a run by its first frame and prompts: unique, and the same if recomputed."""
    key = "\x1f".join((first.id, *first.prompts))
    return hashlib.sha256(key.encode()).hexdigest()[:10]
