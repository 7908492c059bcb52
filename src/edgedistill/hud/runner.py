"""``edgedistill run``: decode → student → tracker → HUD → video file and/or window."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from trackers import ByteTrackTracker

from edgedistill.config import HudConfig
from edgedistill.detections import subset
from edgedistill.errors import EdgedistillError
from edgedistill.hud.overlay import LeadTracker, draw_hud
from edgedistill.hud.sources import TimedFrame, open_source
from edgedistill.hud.threads import EncodeBehind, ReadAhead
from edgedistill.runtime import StudentRuntime, open_runtime

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
"""What ``--output`` may be: containers that hold the H.264 the HUD writes."""


@dataclass
class RunStats:
    frames: int = 0
    processed: int = 0
    dropped: int = 0
    warnings: int = 0
    lead_frames: int = 0
    """Processed frames with a lead vehicle whose distance is known."""
    ttc_frames: int = 0
    """Processed frames where the lead vehicle was closing in (a TTC shown)."""
    seconds: float = 0.0
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def fps(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0

    def median_ms(self) -> dict[str, float]:
        return {stage: round(float(np.median(v)), 2) for stage, v in self.stage_ms.items() if v}


def new_tracker(settings: HudConfig, frame_rate: float) -> ByteTrackTracker:
    """The HUD's ByteTrack; the app's TypeScript tracker mirrors these settings."""
    return ByteTrackTracker(
        frame_rate=frame_rate,
        track_activation_threshold=settings.conf,
        high_conf_det_threshold=max(settings.conf, 0.5),
    )


def run_hud(
    source: str,
    model_path: Path,
    settings: HudConfig,
    output: Path | None = None,
    show: bool = False,
    realtime: bool = False,
) -> RunStats:
    """Run the student over ``source``: frames decoded ahead on one thread, the HUD video
    encoded behind on another, the student, tracker and HUD on this one.

    A live source (camera, stream) always hands over its newest frame; ``realtime`` plays
    a file at its own pace and drops frames to keep up with ``settings.target_fps``.
    """
    if show and not os.environ.get("DISPLAY") and os.name != "nt":
        raise EdgedistillError("--show needs a display; use --output FILE.mp4 instead")
    student = open_runtime(model_path)
    source_frames = open_source(source, settings.width, settings.target_fps)
    rate = min(source_frames.fps, settings.target_fps) if realtime else source_frames.fps
    loop = HudLoop(student, settings, new_tracker(settings, rate), realtime)
    frames = ReadAhead(source_frames.frames, latest_wins=source_frames.live)
    writer = EncodeBehind(output, source_frames.fps) if output is not None else None
    stats, skipped = loop.stats, 0
    try:
        for frame in frames:
            shown = loop.step(frame)
            missed, skipped = frames.skipped - skipped, frames.skipped
            stats.frames += missed  # a live source's frames that arrived while we worked
            stats.dropped += missed
            for _ in range(1 + missed):  # the video keeps the source's timing
                _emit(shown, writer, show, stats)
    finally:
        stats.seconds = time.perf_counter() - loop.start
        stats.stage_ms["decode"] = frames.produce_ms
        frames.close()
        if writer is not None:
            writer.close()
    return stats


class HudLoop:
    """Student → tracker → lead vehicle → HUD, frame by frame, dropping frames in realtime."""

    def __init__(
        self,
        student: StudentRuntime,
        settings: HudConfig,
        tracker: ByteTrackTracker,
        realtime: bool,
    ) -> None:
        self.student = student
        self.settings = settings
        self.tracker = tracker
        self.realtime = realtime
        self.leads = LeadTracker(settings)
        self.stats = RunStats()
        self.hud: np.ndarray | None = None
        self.next_slot = 0.0
        self.start = time.perf_counter()

    def step(self, frame: TimedFrame) -> np.ndarray:
        """The image to show for ``frame``: its HUD, or the last HUD when it is dropped."""
        self.stats.frames += 1
        now = time.perf_counter() - self.start
        if self.realtime and now < frame.time_s:  # a file plays at its own pace, as a camera
            time.sleep(frame.time_s - now)
            now = frame.time_s
        period = 1.0 / self.settings.target_fps
        late = now > frame.time_s + period
        if self.realtime and (frame.time_s + 1e-6 < self.next_slot or late):
            self.stats.dropped += 1
        else:
            self.next_slot = frame.time_s + period
            self.hud = self._process(frame)
            self.stats.processed += 1
        return self.hud if self.hud is not None else frame.image

    def _process(self, frame: TimedFrame) -> np.ndarray:
        stats, settings = self.stats, self.settings
        began = time.perf_counter()
        detections = self.student.detect(frame.image, settings.conf)
        inferred = time.perf_counter()
        detections = self.tracker.update(detections)
        if detections.tracker_id is not None:
            detections = subset(detections, detections.tracker_id >= 0)  # tentative: no id yet
        tracked = time.perf_counter()
        height, width = frame.image.shape[:2]
        names = self.student.names
        lead = self.leads.update(detections, names, frame.time_s, (width, height))
        stats.warnings += bool(lead and lead.warning)
        stats.lead_frames += bool(lead and lead.distance_m is not None)
        stats.ttc_frames += bool(lead and lead.ttc_s is not None)
        recent = stats.stage_ms["total"][-15:]
        fps = 1000 / float(np.mean(recent)) if recent else 0.0
        hud = draw_hud(
            frame.image, detections, names, lead, settings, fps, (tracked - began) * 1000
        )
        drawn = time.perf_counter()
        stats.stage_ms["infer"].append((inferred - began) * 1000)
        stats.stage_ms["track"].append((tracked - inferred) * 1000)
        stats.stage_ms["draw"].append((drawn - tracked) * 1000)
        stats.stage_ms["total"].append((drawn - began) * 1000)
        return hud


def _emit(image: np.ndarray, writer: EncodeBehind | None, show: bool, stats: RunStats) -> None:
    began = time.perf_counter()
    if writer is not None:
        writer.write(image)
    if show:
        _show(image)
    stats.stage_ms["write"].append((time.perf_counter() - began) * 1000)


def _show(image: np.ndarray) -> None:
    import cv2

    cv2.imshow("edgedistill HUD", image)
    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
        raise KeyboardInterrupt
