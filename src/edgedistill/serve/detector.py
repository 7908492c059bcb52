"""One student shared by every client: JPEG in, detections out.

An image's size is read from its header before anything is decoded: a small
file that claims hundreds of megapixels (a decompression bomb) is refused, and
decoding itself runs on a bounded number of threads. An ONNX student exported with a
dynamic batch runs the frames that wait for it together (:mod:`edgedistill.serve.batching`).
"""

from __future__ import annotations

import io
import logging
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv
from PIL import Image
from trackers import ByteTrackTracker

from edgedistill.config import ServeConfig
from edgedistill.detections import class_ids, confidences
from edgedistill.ego import Polygon, outside_mask
from edgedistill.runtime import OnnxStudent, StudentRuntime, open_copies
from edgedistill.serve.batching import BatchingModel

log = logging.getLogger("edgedistill.serve")


class BadImage(ValueError):
    """The bytes are not an image the server can decode."""


class ImageTooLarge(ValueError):
    """The image's header declares more pixels than the server decodes."""


@dataclass(frozen=True)
class Answer:
    width: int
    height: int
    detections: sv.Detections
    model_ms: float
    """Milliseconds of the model call that ran this frame (its whole batch)."""
    batch: int = 1
    """Frames in that call."""

    @property
    def model_share_ms(self) -> float:
        """This frame's share of the model call."""
        return self.model_ms / self.batch


@dataclass(frozen=True)
class _Batched:
    student: OnnxStudent
    """Prepares and decodes frames (its ``preprocess`` and ``postprocess``)."""
    model: BatchingModel


class Detector:
    """The student shared by the requests' threads. JPEG decoding, the letterbox and NMS
    run on those threads; the model itself runs one call at a time on each copy (ONNX
    Runtime and PyTorch already use every core given them). A ``.pt`` student is one copy
    behind a lock. An ONNX student runs as ``model_workers`` copies side by side, each on
    its share of the cores, and the frames waiting for a copy run in one batch of up to
    ``max_batch`` (1 where the export's batch is fixed). Boxes inside ``ego_mask`` (the
    car's own hood, ``hud.ego_mask``) are dropped before tracking, as the HUD drops them.
    """

    def __init__(
        self, model_path: Path, settings: ServeConfig, ego_mask: Polygon | None = None
    ) -> None:
        copies = open_copies(model_path, settings.model_workers)
        self.student: StudentRuntime = copies[0]
        self.names: list[str] = self.student.names
        self.conf = settings.conf
        self.ego_mask: Polygon = ego_mask or []
        self.max_pixels = settings.max_image_pixels
        self._lock = threading.Lock()
        self._decoders = threading.BoundedSemaphore(settings.decode_threads)
        self._batched: _Batched | None = None
        onnx = [copy for copy in copies if isinstance(copy, OnnxStudent)]
        if onnx:
            self._batched = _Batched(onnx[0], _batching(onnx, settings.max_batch))

    @property
    def max_batch(self) -> int:
        """The most frames one model call runs."""
        return self._batched.model.max_batch if self._batched else 1

    @property
    def workers(self) -> int:
        """Copies of the model running side by side."""
        return self._batched.model.workers if self._batched else 1

    def detect(self, data: bytes, tracker: ByteTrackTracker | None = None) -> Answer:
        check_size(data, self.max_pixels)
        with self._decoders:
            image = decode_jpeg(data)
        if self._batched is None:  # Ultralytics' predictor prepares and decodes inside
            held = HeldTime(self._lock)
            detections = self.student.detect(image, self.conf, model_lock=held)
            model_ms, batch = held.ms, 1
        else:
            student = self._batched.student
            tensor, placement = student.preprocess(image)
            ran = self._batched.model.run(tensor)
            detections = student.postprocess(ran.output, placement, self.conf)
            model_ms, batch = ran.model_ms, ran.batch
        detections = outside_mask(detections, self.ego_mask, (image.shape[1], image.shape[0]))
        if tracker is not None:
            detections = tracker.update(detections)
        return Answer(image.shape[1], image.shape[0], detections, model_ms, batch)

    def as_json(self, detections: sv.Detections) -> list[dict[str, Any]]:
        items = []
        classes, scores = class_ids(detections), confidences(detections)
        for i in range(len(detections)):
            x1, y1, x2, y2 = (round(float(v), 1) for v in detections.xyxy[i])
            cls = int(classes[i])
            item = {
                "x1": x1,
                "y1": y1,
                "x2": x2,
                "y2": y2,
                "class": self.names[cls],
                "class_id": cls,
                "confidence": round(float(scores[i]), 4),
            }
            if detections.tracker_id is not None and detections.tracker_id[i] >= 0:
                item["track_id"] = int(detections.tracker_id[i])
            items.append(item)
        return items


def _batching(copies: list[OnnxStudent], max_batch: int) -> BatchingModel:
    """The copies behind one queue, each proven at the largest batch it will run."""
    if not copies[0].dynamic_batch:
        if max_batch > 1:
            log.warning(
                "%s has a fixed batch of 1: frames run one at a time (export it with "
                "edgedistill export --dynamic to batch them)",
                copies[0].path.name,
            )
        max_batch = 1
    elif max_batch > 1:
        for copy in copies:
            copy.reserve_batch(max_batch)
    return BatchingModel([copy.infer for copy in copies], max_batch)


class HeldTime:
    """A lock that remembers how long it was held: the model's own milliseconds."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._start = 0.0
        self.ms = 0.0

    def __enter__(self) -> HeldTime:
        self._lock.acquire()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.ms = (time.perf_counter() - self._start) * 1000
        self._lock.release()


FORMATS = ("JPEG", "PNG", "WEBP", "BMP")
"""Formats the server reads; others are refused before any decoder sees them."""


def check_size(data: bytes, max_pixels: int) -> None:
    """Refuse an image whose header declares more than ``max_pixels``, without decoding it.

    Pillow's format plugins read only the header here. They are called through
    Pillow's registry rather than ``Image.open``, which Ultralytics replaces with
    a version that tries to install a plugin for unknown bytes.
    """
    Image.init()
    for name in FORMATS:
        factory, accept = Image.OPEN[name]
        if accept is not None and accept(data[:16]):
            try:
                width, height = factory(io.BytesIO(data), "").size
            except (OSError, ValueError, SyntaxError, struct.error, EOFError):
                raise BadImage("undecodable image") from None
            if width * height > max_pixels:
                raise ImageTooLarge(f"image has {width}x{height} pixels, more than {max_pixels}")
            return
    raise BadImage("not a JPEG, PNG, WebP or BMP image")


def decode_jpeg(data: bytes) -> np.ndarray:
    if not data:
        raise BadImage("empty image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadImage("undecodable image")
    return image
