"""Any Ultralytics detection or segmentation model as teacher (YOLO, RT-DETR, YOLOE …).

For users without SAM3: the model's own class names are mapped onto the ontology
by name or prompt (``motorbike`` is found where a class lists it as a prompt).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from edgedistill.devices import resolve_device
from edgedistill.masks import mask_to_rle
from edgedistill.media.store import file_sha256
from edgedistill.student import ModelLoadError, load_yolo
from edgedistill.teachers.base import (
    FrameInput,
    RawDetection,
    Teacher,
    TeacherError,
    TeacherResult,
    register_teacher,
)
from edgedistill.teachers.ultralytics_settings import UltralyticsSettings

log = logging.getLogger(__name__)


@register_teacher
class UltralyticsTeacher(Teacher[UltralyticsSettings]):
    name = "ultralytics"
    title = "Ultralytics model"
    Settings = UltralyticsSettings
    prompted = False

    def __init__(self, settings: UltralyticsSettings) -> None:
        super().__init__(settings)
        if not settings.weights:
            raise TeacherError(
                "the ultralytics teacher needs --weights (e.g. yolo11x.pt, "
                "rtdetr-l.pt, or a path to your own .pt)"
            )
        self.weights: str = settings.weights
        self.random_init = self.weights.endswith((".yaml", ".yml"))
        self.model = _load(self.weights, self.random_init)
        self.device = resolve_device(settings.device)
        self._identity = self._weights_identity()

    def _weights_identity(self) -> str:
        path = Path(self.weights)
        if path.is_file():
            return file_sha256(path)
        # A YAML is built with a fixed seed, so its random weights are reproducible.
        return f"{self.weights}:seed0" if self.random_init else self.weights

    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {
            "weights": self._identity,
            "imgsz": s.imgsz,
            "score_floor": s.score_floor,
            "iou": s.iou,
            "max_det": s.max_det,
        }

    def describe(self) -> str:
        return f"{super().describe()} at {self.settings.imgsz} px"

    @property
    def caveat(self) -> str | None:
        if self.random_init:
            return (
                f"the teacher is {self.weights} with random weights: its labels are "
                "meaningless, and so is a student trained on them"
            )
        return (
            "a closed-vocabulary detector stands in for SAM3: only the classes it was "
            f"trained on ({len(self.class_names)}) are labelled, mapped onto the ontology by name"
        )

    def answer_down_to(self, floor: float, nms_iou: float, max_det: int) -> bool:
        update = {"score_floor": floor, "iou": nms_iou, "max_det": max_det}
        self.settings = self.settings.model_copy(update=update)
        return True

    @property
    def class_names(self) -> list[str]:
        return list(self.model.names.values())

    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        while batch := list(islice(frames, self.settings.batch)):
            results = self.model.predict(
                [str(f.path) for f in batch],
                imgsz=self.settings.imgsz,
                conf=self.settings.score_floor,
                iou=self.settings.iou,
                max_det=self.settings.max_det,
                device=self.device,
                retina_masks=True,
                verbose=False,
            )
            for frame, result in zip(batch, results, strict=True):
                yield TeacherResult(frame, frame.prompts, _detections(result), calls=1)


def _detections(result: Any) -> list[RawDetection]:
    boxes = result.boxes
    masks = result.masks.data.cpu().numpy() > 0.5 if result.masks is not None else None
    detections = []
    for i, (box, score, cls) in enumerate(
        zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True)
    ):
        rle = mask_to_rle(masks[i]) if masks is not None else None
        detections.append(RawDetection(result.names[int(cls)], float(score), tuple(box), rle))
    return detections


def _load(weights: str, random_init: bool) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise TeacherError(f"the ultralytics teacher needs ultralytics and torch ({exc})") from None
    if random_init:
        log.warning("building %s with random weights: its labels are meaningless", weights)
        torch.manual_seed(0)
    try:
        model = load_yolo(weights)
    except ModelLoadError as exc:
        raise TeacherError(
            f"cannot load Ultralytics weights ({exc}); pass a local .pt path, or run once "
            "with internet so Ultralytics can download it"
        ) from None
    if random_init:
        _name_coco_classes(model)
    return model


def _name_coco_classes(model: Any) -> None:
    """A model built from a YAML has classes '0'…'79'; the shipped YAMLs are COCO's 80."""
    import ultralytics

    coco = Path(ultralytics.__file__).parent / "cfg" / "datasets" / "coco.yaml"
    names = yaml.safe_load(coco.read_text())["names"]
    if len(model.names) == len(names):
        model.model.names = dict(names)
