"""``edgedistill run``: decode → student → tracker → HUD → video file and/or window."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from edgedistill.config import HudConfig
from edgedistill.detections import subset
from edgedistill.ego import outside_mask
from edgedistill.errors import EdgedistillError
from edgedistill.hud.events import EventLog, FrameEvent
from edgedistill.hud.overlay import LeadTracker, draw_hud
from edgedistill.hud.sources import TimedFrame, open_source
from edgedistill.hud.threads import EncodeBehind, ReadAhead
from edgedistill.runtime import StudentRuntime, cores, open_copies

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
    ego_dropped: int = 0
    """Boxes dropped inside the ego mask: the car's own hood or dashboard."""
    refused_leads: int = 0
    """Frames where a vehicle in the lane was refused as the lead: implausibly close."""
    seconds: float = 0.0
    copies: int = 1
    """Copies of the student that ran side by side."""
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Per frame: decode (its own thread), infer (the student's thread), track, draw, write
    (handing the frame to the encoder) and latency (from the student starting on a frame
    to its HUD drawn; stages on different threads overlap, so they do not add up to it)."""

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
    events: Path | None = None,
) -> RunStats:
    """Run the student over ``source``, in a pipeline of threads: frames are decoded ahead on
    one, the student runs on a second (on as many frames at once as ``model_workers``, a
    copy each) while this one tracks and draws the frame before, and the HUD video is
    encoded behind on another.

    A live source (camera, stream) always hands over its newest frame; ``realtime`` plays
    a file at its own pace and drops frames to keep up with ``settings.target_fps``.
    ``events`` writes the driving log, a JSON line per frame (:mod:`edgedistill.hud.events`).
    """
    if show and not os.environ.get("DISPLAY") and os.name != "nt":
        raise EdgedistillError("--show needs a display; use --output FILE.mp4 instead")
    source_frames = open_source(source, settings.width, settings.target_fps)
    live = source_frames.live or realtime
    students = open_copies(model_path, settings.model_workers or default_copies(live))
    rate = min(source_frames.fps, settings.target_fps) if realtime else source_frames.fps
    log = EventLog(events, students[0].names) if events is not None else None
    loop = HudLoop(students, settings, new_tracker(settings, rate), realtime, log)
    frames = ReadAhead(source_frames.frames, latest_wins=source_frames.live)
    writer = EncodeBehind(output, source_frames.fps) if output is not None else None
    skipped, pending = 0, deque[Job]()
    try:
        with ThreadPoolExecutor(
            len(students), thread_name_prefix="student", initializer=loop.claim_copy
        ) as student_threads:
            for frame in frames:
                missed, skipped = frames.skipped - skipped, frames.skipped
                pending.append(loop.submit(frame, missed, student_threads))
                if len(pending) > len(students):  # the oldest is done or nearly
                    job = pending.popleft()
                    _emit(loop.finish(job), 1 + job.missed, writer, show, loop.stats)
            while pending:
                job = pending.popleft()
                _emit(loop.finish(job), 1 + job.missed, writer, show, loop.stats)
    finally:
        loop.stats.seconds = time.perf_counter() - loop.start
        loop.stats.stage_ms["decode"] = frames.produce_ms
        frames.close()
        if writer is not None:
            writer.close()
        if log is not None:
            log.close()
    return loop.stats


def default_copies(live: bool) -> int:
    """Two copies where frames per second matter (a file read as fast as it goes: about a
    fifth faster on 2 cores, bench/realtime.py), one where each frame's latency does."""
    return 1 if live or cores() < 2 else 2


@dataclass
class Job:
    """A frame in the pipeline: its detections on the way, or none when it is dropped."""

    frame: TimedFrame
    missed: int
    """Frames of a live source skipped just before this one: shown as this one."""
    detections: Future[tuple[sv.Detections, float]] | None
    began: float = 0.0


class HudLoop:
    """Student → tracker → lead vehicle → HUD, frame by frame, dropping frames in realtime."""

    def __init__(
        self,
        students: list[StudentRuntime],
        settings: HudConfig,
        tracker: ByteTrackTracker,
        realtime: bool,
        events: EventLog | None = None,
    ) -> None:
        self.names = students[0].names
        self.stats = RunStats(copies=len(students))
        self._unclaimed = list(students)
        self._claim_lock = threading.Lock()
        self._thread = threading.local()
        self.settings = settings
        self.tracker = tracker
        self.realtime = realtime
        self.events = events
        self.leads = LeadTracker(settings)
        self.hud: np.ndarray | None = None
        self.next_slot = 0.0
        self.finished: deque[float] = deque(maxlen=16)
        self.start = time.perf_counter()

    def submit(self, frame: TimedFrame, missed: int, student_thread: Executor) -> Job:
        """Start the student on ``frame``, unless it is dropped to keep up."""
        self.stats.frames += 1 + missed  # a live source's skipped frames count as dropped
        self.stats.dropped += missed
        if self._drop(frame):
            self.stats.dropped += 1
            return Job(frame, missed, None)
        began = time.perf_counter()
        return Job(frame, missed, student_thread.submit(self._detect, frame.image), began)

    def _drop(self, frame: TimedFrame) -> bool:
        if not self.realtime:
            return False
        now = time.perf_counter() - self.start
        if now < frame.time_s:  # a file plays at its own pace, as a camera
            time.sleep(frame.time_s - now)
            now = frame.time_s
        period = 1.0 / self.settings.target_fps
        if frame.time_s + 1e-6 < self.next_slot or now > frame.time_s + period:
            return True
        self.next_slot = frame.time_s + period
        return False

    def claim_copy(self) -> None:
        """A student thread's start: it takes a copy of its own for good (and with it one
        input buffer), as many threads as copies."""
        with self._claim_lock:
            self._thread.student = self._unclaimed.pop()

    def _detect(self, image: np.ndarray) -> tuple[sv.Detections, float]:
        """On a student thread, with its own copy."""
        student: StudentRuntime = self._thread.student
        began = time.perf_counter()
        detections = student.detect(image, self.settings.conf)
        return detections, (time.perf_counter() - began) * 1000

    def finish(self, job: Job) -> np.ndarray:
        """The image to show for the job's frame: its HUD, or the last HUD when dropped."""
        if job.detections is None:
            if self.events is not None:
                self.events.dropped(job.frame.index, job.frame.time_s)
            return self.hud if self.hud is not None else job.frame.image
        detections, infer_ms = job.detections.result()
        inferred = time.perf_counter()
        event = self._decide(job.frame, detections, job.missed)
        tracked = time.perf_counter()
        self._count(event)
        latency = (tracked - job.began) * 1000
        self.hud = draw_hud(
            job.frame.image, event.detections, self.names, event.lead, self.settings,
            self._fps(), latency,
        )  # fmt: skip
        drawn = time.perf_counter()
        self.finished.append(drawn)
        stage_ms = self.stats.stage_ms
        stage_ms["infer"].append(infer_ms)
        stage_ms["track"].append((tracked - inferred) * 1000)
        stage_ms["draw"].append((drawn - tracked) * 1000)
        stage_ms["latency"].append((drawn - job.began) * 1000)
        return self.hud

    def _decide(self, frame: TimedFrame, found: sv.Detections, skipped: int) -> FrameEvent:
        """The ego vehicle dropped, the rest tracked, the lead vehicle picked; ``skipped``:
        the frames a live source skipped just before this one."""
        height, width = frame.image.shape[:2]
        detections = outside_mask(found, self.settings.ego_polygon, (width, height))
        ego_dropped = len(found) - len(detections)
        detections = self.tracker.update(detections)
        if detections.tracker_id is not None:
            detections = subset(detections, detections.tracker_id >= 0)  # tentative: no id yet
        lead = self.leads.update(detections, self.names, frame.time_s, (width, height))
        return FrameEvent(
            frame.index, frame.time_s, (width, height), detections, lead, ego_dropped,
            self.leads.refused, skipped,
        )  # fmt: skip

    def _count(self, event: FrameEvent) -> None:
        stats, lead = self.stats, event.lead
        stats.processed += 1
        stats.warnings += bool(lead and lead.warning)
        stats.lead_frames += bool(lead and lead.distance_m is not None)
        stats.ttc_frames += bool(lead and lead.ttc_s is not None)
        stats.ego_dropped += event.ego_dropped
        stats.refused_leads += bool(event.refused)
        if self.events is not None:
            self.events.frame(event)

    def _fps(self) -> float:
        """Frames finished per second over the last few."""
        if len(self.finished) < 2:
            return 0.0
        return (len(self.finished) - 1) / (self.finished[-1] - self.finished[0])


def _emit(
    image: np.ndarray, times: int, writer: EncodeBehind | None, show: bool, stats: RunStats
) -> None:
    """Show and/or write ``image`` (``times`` times: a live source's skipped frames too)."""
    began = time.perf_counter()
    for _ in range(times):
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
