"""The driving log of ``edgedistill run --events FILE.jsonl``: one JSON line per frame.

Each line holds the frame's index and time, its size, the tracked detections (box in the
HUD frame's pixels, class, score, track id), the lead vehicle (track id, class, distance,
TTC, warning), the boxes dropped as the car's own hood (``ego_dropped``) and the tracks
refused as the lead for being implausibly close (``refused``) and how many frames a live
source skipped just before this one (``skipped``: a camera or stream hands over only its
newest frame). A frame the HUD dropped to keep up (``--realtime``) is a line with
``"dropped": true``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import supervision as sv

from edgedistill.detections import class_ids, confidences
from edgedistill.errors import EdgedistillError
from edgedistill.hud.overlay import Lead


@dataclass(frozen=True)
class FrameEvent:
    """What the HUD decided on one frame."""

    index: int
    time_s: float
    size: tuple[int, int]
    detections: sv.Detections
    """Tracked, outside the ego mask."""
    lead: Lead | None
    ego_dropped: int
    refused: list[int]
    skipped: int = 0
    """Frames a live source skipped just before this one."""


class EventLog:
    """A JSON-lines file written frame by frame (flushed per line: a kill loses at most
    the frame being written)."""

    def __init__(self, path: Path, names: list[str]) -> None:
        self.path = path
        self.names = names
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = path.open("w", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise EdgedistillError(f"--events {path}: cannot write it ({exc.strerror})") from None

    def frame(self, event: FrameEvent) -> None:
        self._write(
            {
                "frame": event.index,
                "time_s": round(event.time_s, 4),
                "size": list(event.size),
                "detections": self._detections(event.detections),
                "lead": _lead(event.lead),
                "ego_dropped": event.ego_dropped,
                "refused": event.refused,
                "skipped": event.skipped,
            }
        )

    def dropped(self, index: int, time_s: float) -> None:
        self._write({"frame": index, "time_s": round(time_s, 4), "dropped": True})

    def close(self) -> None:
        self._file.close()

    def _write(self, record: dict[str, Any]) -> None:
        try:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        except OSError as exc:
            raise EdgedistillError(f"--events {self.path}: write failed ({exc.strerror})") from None

    def _detections(self, detections: sv.Detections) -> list[dict[str, Any]]:
        tracks = detections.tracker_id
        return [
            {
                "box": [round(float(v), 1) for v in box],
                "class": self.names[int(class_id)],
                "score": round(float(score), 3),
                "track": int(tracks[i]) if tracks is not None else None,
            }
            for i, (box, class_id, score) in enumerate(
                zip(detections.xyxy, class_ids(detections), confidences(detections), strict=True)
            )
        ]


def _lead(lead: Lead | None) -> dict[str, Any] | None:
    if lead is None:
        return None
    return {
        "track": lead.track_id,
        "class": lead.class_name,
        "distance_m": None if lead.distance_m is None else round(lead.distance_m, 2),
        "ttc_s": None if lead.ttc_s is None else round(lead.ttc_s, 2),
        "warning": bool(lead.warning),
    }
