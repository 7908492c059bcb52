"""Existing human labels as teacher output: a YOLO dataset or a COCO JSON.

Ingested frames are matched to their labels through the source file's name (the
longest matching path tail wins where two splits hold the same name). A frame
whose image is in the dataset without a label file is a negative; a frame from
an image the dataset does not know is reported, not labelled.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import yaml

from edgedistill.ingest.sources import IMAGE_EXTENSIONS
from edgedistill.masks import polygons_to_rle, rle_to_box
from edgedistill.teachers.base import (
    FrameInput,
    RawDetection,
    Teacher,
    TeacherError,
    TeacherResult,
    TeacherSettings,
    register_teacher,
)


class AnnotationsSettings(TeacherSettings):
    annotations: Path | None = None
    """A YOLO data.yaml, a YOLO labels folder, or a COCO JSON file."""


@register_teacher
class AnnotationsTeacher(Teacher):
    """Human labels already on disk, read as if a teacher had produced them."""

    name = "annotations"
    title = "human annotations"
    Settings = AnnotationsSettings
    prompted = False

    def __init__(self, settings: AnnotationsSettings) -> None:
        super().__init__(settings)
        if settings.annotations is None:
            raise TeacherError(
                "the annotations teacher needs --annotations PATH "
                "(a YOLO data.yaml or labels folder, or a COCO JSON file)"
            )
        path = settings.annotations.expanduser().resolve()
        if not path.exists():
            raise TeacherError(f"{settings.annotations}: no such annotations file or folder")
        self.path = path
        self.dataset = load_annotations(path)

    def identity(self) -> dict[str, Any]:
        return {"annotations": str(self.path), "digest": self.dataset.digest}

    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        for frame in frames:
            entry = self.dataset.find(frame.source_path)
            if entry is None:
                yield TeacherResult(frame, (), error="no image of this name in the annotations")
                continue
            yield TeacherResult(frame, frame.prompts, self.dataset.read(entry, frame))


class AnnotationSet:
    """Images by file name, and how to read one image's labels at a frame's size."""

    def __init__(self, names: dict[int, str], digest: str) -> None:
        self.names = names
        self.digest = digest
        self.by_name: dict[str, list[tuple[PurePath, Any]]] = defaultdict(list)

    def add(self, image: PurePath, entry: Any) -> None:
        self.by_name[image.name.lower()].append((image, entry))

    def images(self) -> list[tuple[PurePath, Any]]:
        """Every image and its entry, in path order."""
        return sorted(
            (item for items in self.by_name.values() for item in items),
            key=lambda item: str(item[0]),
        )

    def find(self, source_path: str) -> Any | None:
        candidates = self.by_name.get(PurePath(source_path).name.lower(), [])
        if not candidates:
            return None
        source_parts = PurePath(source_path).parts
        return max(candidates, key=lambda c: _common_tail(c[0].parts, source_parts))[1]

    def read(self, entry: Any, frame: FrameInput) -> list[RawDetection]:
        raise NotImplementedError

    def class_name(self, class_id: int) -> str:
        return self.names.get(class_id, str(class_id))


class _YoloDataset(AnnotationSet):
    def read(self, entry: Path | None, frame: FrameInput) -> list[RawDetection]:
        if entry is None or not entry.is_file():
            return []
        detections = []
        for line in entry.read_text().splitlines():
            values = line.split()
            if len(values) < 5:
                continue
            label = self.class_name(int(float(values[0])))
            coords = [float(v) for v in values[1:]]
            if len(coords) == 4:
                cx, cy, w, h = coords
                box = (
                    (cx - w / 2) * frame.width,
                    (cy - h / 2) * frame.height,
                    (cx + w / 2) * frame.width,
                    (cy + h / 2) * frame.height,
                )
                detections.append(RawDetection(label, 1.0, box))
            else:
                polygon = [
                    v * (frame.width if i % 2 == 0 else frame.height) for i, v in enumerate(coords)
                ]
                rle = polygons_to_rle([polygon], frame.height, frame.width)
                detections.append(RawDetection(label, 1.0, rle_to_box(rle), rle))
        return detections


class _CocoDataset(AnnotationSet):
    def read(self, entry: tuple[dict, list[dict]], frame: FrameInput) -> list[RawDetection]:
        image, annotations = entry
        sx, sy = frame.width / image["width"], frame.height / image["height"]
        detections = []
        for annotation in annotations:
            label = self.class_name(annotation["category_id"])
            x, y, w, h = annotation["bbox"]
            box = (x * sx, y * sy, (x + w) * sx, (y + h) * sy)
            rle = None
            segmentation = annotation.get("segmentation")
            if isinstance(segmentation, list) and segmentation:
                scaled = [
                    [v * (sx if i % 2 == 0 else sy) for i, v in enumerate(p)] for p in segmentation
                ]
                rle = polygons_to_rle(scaled, frame.height, frame.width)
            detections.append(RawDetection(label, 1.0, box, rle))
        return detections


def load_annotations(path: Path) -> AnnotationSet:
    """Human labels from a YOLO data.yaml or labels folder, or a COCO JSON file."""
    return _load_coco(path) if path.suffix.lower() == ".json" else _load_yolo(path)


def _load_yolo(path: Path) -> _YoloDataset:
    if path.is_dir():
        config = next(
            (
                p
                for n in ("data.yaml", "data.yml")
                for p in (path / n, path.parent / n)
                if p.is_file()
            ),
            None,
        )
        if config is None:
            raise TeacherError(
                f"{path}: a labels folder needs its class names; "
                "pass the dataset's data.yaml instead"
            )
        root = path
    elif path.suffix.lower() in (".yaml", ".yml"):
        config, root = path, path.parent
    else:
        raise TeacherError(f"{path}: expected a YOLO data.yaml, a labels folder or a COCO .json")
    try:
        data = yaml.safe_load(config.read_text()) or {}
        names = data["names"]
    except (yaml.YAMLError, KeyError, TypeError, OSError):
        raise TeacherError(f"{config}: not a YOLO data.yaml with a 'names' list") from None
    if isinstance(data.get("path"), str) and path.is_file():
        root = (config.parent / data["path"]).resolve()
    names = (
        dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    )
    images = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    digest = hashlib.sha256(json.dumps(names, sort_keys=True).encode())
    dataset = _YoloDataset(names, "")
    for image in images:
        label = _yolo_label_path(image)
        dataset.add(image, label)
        if label.is_file():
            stat = label.stat()
            digest.update(f"{label.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    if not dataset.by_name:
        raise TeacherError(f"{root}: no images found beside the labels")
    dataset.digest = digest.hexdigest()[:16]
    return dataset


def _yolo_label_path(image: Path) -> Path:
    """YOLO convention: the last ``images`` folder in the path becomes ``labels``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _load_coco(path: Path) -> _CocoDataset:
    try:
        data = json.loads(path.read_text())
        names = {int(c["id"]): c["name"] for c in data["categories"]}
        images = {int(i["id"]): i for i in data["images"]}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, OSError):
        raise TeacherError(f"{path}: not a COCO JSON file with images and categories") from None
    per_image: dict[int, list[dict]] = defaultdict(list)
    for annotation in data.get("annotations", []):
        per_image[int(annotation["image_id"])].append(annotation)
    dataset = _CocoDataset(names, hashlib.sha256(path.read_bytes()).hexdigest()[:16])
    for image_id, image in images.items():
        dataset.add(PurePath(image["file_name"]), (image, per_image.get(image_id, [])))
    return dataset


def _common_tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    count = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x.lower() != y.lower():
            break
        count += 1
    return count
