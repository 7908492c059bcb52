"""``edgedistill run``: decode → student → tracker → HUD → video file and/or window."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from edgedistill.config import HudConfig
from edgedistill.detections import subset
from edgedistill.errors import EdgedistillError
from edgedistill.hud.overlay import LeadTracker, draw_hud
from edgedistill.hud.sources import open_source
from edgedistill.student import PHONE_INPUT, open_detector

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
    if show and not os.environ.get("DISPLAY") and os.name != "nt":
        raise EdgedistillError("--show needs a display; use --output FILE.mp4 instead")
    model = open_detector(model_path)
    frames = open_source(source, settings.width, settings.target_fps)
    names = list(model.names.values())
    rate = min(frames.fps, settings.target_fps) if realtime else frames.fps
    tracker = new_tracker(settings, rate)
    leads = LeadTracker(settings)
    stats = RunStats()
    writer = None
    hud: np.ndarray | None = None
    period = 1.0 / settings.target_fps
    next_slot = 0.0
    start = time.perf_counter()
    decode_start = start
    try:
        for frame in frames.frames:
            stats.frames += 1
            stats.stage_ms["decode"].append((time.perf_counter() - decode_start) * 1000)
            now = time.perf_counter() - start
            if realtime and now < frame.time_s:  # a file plays at its own pace, as a camera
                time.sleep(frame.time_s - now)
                now = frame.time_s
            behind = now > frame.time_s + period
            if realtime and (frame.time_s + 1e-6 < next_slot or behind):
                stats.dropped += 1
            else:
                next_slot = frame.time_s + period
                hud = _process(frame, model, tracker, leads, names, settings, stats)
                stats.processed += 1
            shown = hud if hud is not None else frame.image
            written = time.perf_counter()
            writer = _write(writer, output, shown, frames.fps)
            if show:
                _show(shown)
            decode_start = time.perf_counter()
            stats.stage_ms["write"].append((decode_start - written) * 1000)
    finally:
        stats.seconds = time.perf_counter() - start
        if writer is not None:
            _close(writer)
    return stats


def _process(
    frame: Any,
    model: Any,
    tracker: ByteTrackTracker,
    leads: LeadTracker,
    names: list[str],
    settings: HudConfig,
    stats: RunStats,
) -> np.ndarray:
    began = time.perf_counter()
    result = model.predict(frame.image, imgsz=PHONE_INPUT, conf=settings.conf, verbose=False)[0]
    inferred = time.perf_counter()
    detections = tracker.update(sv.Detections.from_ultralytics(result))
    if detections.tracker_id is not None:
        detections = subset(detections, detections.tracker_id >= 0)  # tentative: no id yet
    tracked = time.perf_counter()
    height, width = frame.image.shape[:2]
    lead = leads.update(detections, names, frame.time_s, (width, height))
    stats.warnings += bool(lead and lead.warning)
    stats.lead_frames += bool(lead and lead.distance_m is not None)
    stats.ttc_frames += bool(lead and lead.ttc_s is not None)
    fps = 1000 / float(np.mean(stats.stage_ms["total"][-15:])) if stats.stage_ms["total"] else 0.0
    latency = (tracked - began) * 1000
    hud = draw_hud(frame.image, detections, names, lead, settings, fps, latency)
    drawn = time.perf_counter()
    stats.stage_ms["infer"].append((inferred - began) * 1000)
    stats.stage_ms["track"].append((tracked - inferred) * 1000)
    stats.stage_ms["draw"].append((drawn - tracked) * 1000)
    stats.stage_ms["total"].append((drawn - began) * 1000)
    return hud


def _write(writer: Any, output: Path | None, image: np.ndarray, fps: float) -> Any:
    if output is None:
        return None
    if writer is None:
        output.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(output), "w")
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height = image.shape[1] // 2 * 2, image.shape[0] // 2 * 2
        stream.pix_fmt = "yuv420p"
        writer = (container, stream)
    container, stream = writer
    frame = av.VideoFrame.from_ndarray(image[: stream.height, : stream.width], format="bgr24")
    for packet in stream.encode(frame):
        container.mux(packet)
    return writer


def _close(writer: Any) -> None:
    container, stream = writer
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def _show(image: np.ndarray) -> None:
    import cv2

    cv2.imshow("edgedistill HUD", image)
    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
        raise KeyboardInterrupt
