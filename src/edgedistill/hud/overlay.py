"""The heads-up display drawn over a frame: tracked boxes, the lane ahead, the lead vehicle."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import supervision as sv

from edgedistill.config import HudConfig
from edgedistill.detections import class_ids
from edgedistill.hud.estimate import (
    TimeToCollision,
    distance_m,
    focal_length_px,
    inside,
)

WARNING_RED = (40, 40, 230)
ZONE_GREEN = (80, 200, 80)


@dataclass(frozen=True)
class Lead:
    """The vehicle ahead in the ego zone."""

    index: int
    track_id: int
    class_name: str
    distance_m: float | None
    ttc_s: float | None
    warning: bool


class LeadTracker:
    """Picks the lead vehicle each frame and keeps a TTC estimator per track.

    The lead is the lowest box of a class with a known width whose bottom centre is in the
    ego zone. A box estimated closer than ``min_lead_distance_m`` is refused unless its
    track was once seen at a plausible distance: the car's own hood, or a misdetection, is
    that close from its first frame, while a real vehicle closing in was farther first and
    stays the lead (with its TTC and BRAKE) however close it comes.
    """

    def __init__(self, settings: HudConfig) -> None:
        self.settings = settings
        self._ttc: dict[int, TimeToCollision] = {}
        self._plausible: set[int] = set()
        """Tracks once seen at or beyond the closest plausible distance."""
        self.refused: list[int] = []
        """Track ids refused as the lead in the last frame: implausibly close."""

    def update(
        self, detections: sv.Detections, names: list[str], time_s: float, size: tuple[int, int]
    ) -> Lead | None:
        self.refused = []
        tracks = detections.tracker_id
        if tracks is None:  # untracked: no lead, and no track's history is still live
            self._ttc.clear()
            self._plausible.clear()
            return None
        classes = class_ids(detections)
        width, height = size
        focal = focal_length_px(width, self.settings.horizontal_fov_deg)
        zone = [(x * width, y * height) for x, y in self.settings.ego_zone]
        live = set(tracks.tolist())
        self._plausible &= live
        best: int | None = None
        for i in range(len(detections)):
            real_width = self.settings.vehicle_widths_m.get(names[int(classes[i])])
            if real_width is None:
                continue
            x1, _, x2, y2 = detections.xyxy[i]
            track = int(tracks[i])
            distance = distance_m(float(x2 - x1), real_width, focal)
            if distance is None or distance >= self.settings.min_lead_distance_m:
                self._plausible.add(track)
            if not inside(((x1 + x2) / 2, y2), zone):
                continue
            if track not in self._plausible:
                self.refused.append(track)
                continue
            if best is None or y2 > detections.xyxy[best][3]:
                best = i
        for track in [t for t in self._ttc if t not in live]:
            del self._ttc[track]
        if best is None:
            return None
        track_id = int(tracks[best])
        box_width = float(detections.xyxy[best][2] - detections.xyxy[best][0])
        estimator = self._ttc.setdefault(track_id, TimeToCollision(self.settings.ttc_window_s))
        ttc = estimator.update(time_s, box_width)
        name = names[int(classes[best])]
        distance = distance_m(box_width, self.settings.vehicle_widths_m[name], focal)
        warning = ttc is not None and ttc < self.settings.ttc_warning_s
        return Lead(best, track_id, name, distance, ttc, warning)


def draw_hud(
    frame: np.ndarray,
    detections: sv.Detections,
    names: list[str],
    lead: Lead | None,
    settings: HudConfig,
    fps: float,
    latency_ms: float,
) -> np.ndarray:
    scene = frame.copy()
    height, width = scene.shape[:2]
    zone = np.array([(x * width, y * height) for x, y in settings.ego_zone], dtype=np.int32)
    tint = scene.copy()
    cv2.fillPoly(tint, [zone], WARNING_RED if lead and lead.warning else ZONE_GREEN)
    # uint8 in, uint8 out; OpenCV's stubs only say "some array", supervision wants uint8.
    scene = cv2.addWeighted(tint, 0.18, scene, 0.82, 0).astype(np.uint8, copy=False)
    cv2.polylines(scene, [zone], True, ZONE_GREEN, 1, cv2.LINE_AA)
    if len(detections):
        labels = [_label(names, detections, i, lead) for i in range(len(detections))]
        scene = sv.BoxAnnotator(thickness=2).annotate(scene, detections)
        scene = sv.LabelAnnotator(text_scale=0.4, text_padding=3).annotate(
            scene, detections, labels
        )
    if lead is not None:
        x1, y1, x2, y2 = detections.xyxy[lead.index].astype(int)
        cv2.rectangle(scene, (x1, y1), (x2, y2), WARNING_RED if lead.warning else (0, 215, 255), 3)
    _readouts(scene, lead, fps, latency_ms)
    return scene


def _label(names: list[str], detections: sv.Detections, i: int, lead: Lead | None) -> str:
    text = names[int(class_ids(detections)[i])]
    if detections.tracker_id is not None:
        text += f" #{int(detections.tracker_id[i])}"
    if lead is not None and lead.index == i and lead.distance_m is not None:
        text += f" {lead.distance_m:.0f} m"
    return text


def _readouts(scene: np.ndarray, lead: Lead | None, fps: float, latency_ms: float) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(
        scene,
        f"{fps:4.1f} fps  {latency_ms:5.1f} ms",
        (8, 20),
        font,
        0.5,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    if lead is None:
        return
    ttc = f"TTC {lead.ttc_s:.1f} s" if lead.ttc_s is not None else "TTC -"
    distance = f"{lead.distance_m:.0f} m" if lead.distance_m is not None else "?"
    cv2.putText(
        scene,
        f"lead {lead.class_name} {distance}  {ttc}",
        (8, 42),
        font,
        0.5,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    if lead.warning:
        width = scene.shape[1]
        cv2.rectangle(scene, (0, 50), (width, 90), WARNING_RED, -1)
        cv2.putText(
            scene, "BRAKE", (width // 2 - 45, 80), font, 1.0, (255, 255, 255), 2, cv2.LINE_AA
        )
