"""One student shared by every client: JPEG in, detections out, one inference at a time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from edgedistill.hud import load_model
from edgedistill.hud.runner import MODEL_INPUT


class BadImage(ValueError):
    """The bytes are not an image the server can decode."""


@dataclass(frozen=True)
class Answer:
    width: int
    height: int
    detections: sv.Detections
    model_ms: float


class Detector:
    """The student behind a lock: ONNX Runtime and PyTorch already use every core."""

    def __init__(self, model_path: Path, conf: float) -> None:
        self.model = load_model(model_path)
        self.names: list[str] = list(self.model.names.values())
        self.conf = conf
        self._lock = threading.Lock()

    def detect(self, data: bytes, tracker: ByteTrackTracker | None = None) -> Answer:
        image = decode_jpeg(data)
        with self._lock:
            start = time.perf_counter()
            result = self.model.predict(image, imgsz=MODEL_INPUT, conf=self.conf, verbose=False)[0]
            model_ms = (time.perf_counter() - start) * 1000
        detections = sv.Detections.from_ultralytics(result)
        if tracker is not None:
            detections = tracker.update(detections)
        return Answer(image.shape[1], image.shape[0], detections, model_ms)

    def as_json(self, detections: sv.Detections) -> list[dict[str, Any]]:
        items = []
        for i in range(len(detections)):
            x1, y1, x2, y2 = (round(float(v), 1) for v in detections.xyxy[i])
            cls = int(detections.class_id[i])
            item = {
                "x1": x1,
                "y1": y1,
                "x2": x2,
                "y2": y2,
                "class": self.names[cls],
                "class_id": cls,
                "confidence": round(float(detections.confidence[i]), 4),
            }
            if detections.tracker_id is not None and detections.tracker_id[i] >= 0:
                item["track_id"] = int(detections.tracker_id[i])
            items.append(item)
        return items


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadImage("undecodable image")
    return image
