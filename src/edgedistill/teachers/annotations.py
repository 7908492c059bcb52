"""Existing human labels as teacher output: a YOLO dataset or a COCO JSON.

Ingested frames are matched to their labels through the source file's name (the
longest matching path tail wins where two splits hold the same name). A frame
whose image is in the dataset without a label file is a negative; a frame from
an image the dataset does not know is reported, not labelled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import yaml

from edgedistill.masks import polygons_to_rle, rle_to_box
from edgedistill.media.files import IMAGE_EXTENSIONS
from edgedistill.teachers.annotations_settings import AnnotationsSettings
from edgedistill.teachers.base import (
    FrameInput,
    RawDetection,
    Teacher,
    TeacherError,
    TeacherResult,
    register_teacher,
)
from edgedistill.yolo_format import parse_line, pixel_box, pixel_polygon

log = logging.getLogger(__name__)


@register_teacher
class AnnotationsTeacher(Teacher[AnnotationsSettings]):
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
        """One image's labels; a line that is not a YOLO label is skipped with a warning."""
        if entry is None or not entry.is_file():
            return []
        try:
            lines = entry.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s: skipped, not a text label file (%s)", entry, type(exc).__name__)
            return []
        detections = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                class_id, coords = parse_line(line)
            except ValueError as exc:
                log.warning("%s:%d: skipped (%s)", entry, number, exc)
                continue
            detections.append(self._detection(self.class_name(class_id), coords, frame))
        return detections

    @staticmethod
    def _detection(label: str, coords: list[float], frame: FrameInput) -> RawDetection:
        if len(coords) == 4:
            return RawDetection(label, 1.0, pixel_box(coords, frame.width, frame.height))
        polygon = pixel_polygon(coords, frame.width, frame.height)
        rle = polygons_to_rle([polygon], frame.height, frame.width)
        return RawDetection(label, 1.0, rle_to_box(rle), rle)


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
        names = (
            dict(enumerate(names))
            if isinstance(names, list)
            else {int(k): str(v) for k, v in names.items()}
        )
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError, OSError):
        raise TeacherError(f"{config}: not a YOLO data.yaml with a 'names' list") from None
    folders = _split_folders(config, data) if path.is_file() else [root]
    images = sorted(
        {p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS}
    )
    digest = hashlib.sha256(json.dumps(names, sort_keys=True).encode())
    dataset = _YoloDataset(names, "")
    for image in images:
        label = _yolo_label_path(image)
        dataset.add(image, label)
        if label.is_file():
            stat = label.stat()
            name = label.relative_to(root) if label.is_relative_to(root) else label
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    if not dataset.by_name:
        raise TeacherError(f"{root}: no images found beside the labels")
    dataset.digest = digest.hexdigest()[:16]
    return dataset


def _split_folders(config: Path, data: dict[str, Any]) -> list[Path]:
    """The image folders a data.yaml names (``train``/``val``/``test`` under ``path``);
    the data.yaml's own folder when it names none. Never a whole file system."""
    base = data.get("path")
    root = (config.parent / base).resolve() if isinstance(base, str) else config.parent
    folders = []
    for split in ("train", "val", "test"):
        entries = data.get(split)
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, str) and (root / entry).is_dir():
                folders.append((root / entry).resolve())
    folders = folders or [config.parent.resolve()]
    for folder in folders:
        if folder == Path(folder.anchor):
            raise TeacherError(
                f"{config}: its image folders resolve to {folder}, a whole file system; "
                "point 'path' and the splits at the dataset's own folders"
            )
    return folders


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
        images = data["images"]
        annotations = data.get("annotations", [])
        if not isinstance(images, list) or not isinstance(annotations, list):
            raise TypeError
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, OSError):
        raise TeacherError(f"{path}: not a COCO JSON file with images and categories") from None
    per_image: dict[int, list[dict]] = defaultdict(list)
    for number, annotation in enumerate(annotations):
        try:
            image_id, annotation = _coco_annotation(annotation)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: annotations[%d] skipped (%s)", path, number, _why(exc))
            continue
        per_image[image_id].append(annotation)
    dataset = _CocoDataset(names, hashlib.sha256(path.read_bytes()).hexdigest()[:16])
    for number, image in enumerate(images):
        try:
            image_id, file_name = _coco_image(image)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: images[%d] skipped (%s)", path, number, _why(exc))
            continue
        dataset.add(PurePath(file_name), (image, per_image.get(image_id, [])))
    return dataset


def _coco_annotation(annotation: Any) -> tuple[int, dict[str, Any]]:
    """``(image id, annotation)`` with a numeric category and a finite ``[x, y, w, h]``."""
    image_id = int(annotation["image_id"])
    category = int(annotation["category_id"])
    box = [float(v) for v in annotation["bbox"]]
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ValueError("bbox must be four finite numbers")
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, list):
        segmentation = [
            [float(v) for v in polygon]
            for polygon in segmentation
            if isinstance(polygon, list) and len(polygon) >= 6
        ]
    else:
        segmentation = None
    return image_id, {"category_id": category, "bbox": box, "segmentation": segmentation}


def _coco_image(image: Any) -> tuple[int, str]:
    """``(id, file name)`` of an image entry with a positive width and height."""
    image_id, file_name = int(image["id"]), str(image["file_name"])
    if not (float(image["width"]) > 0 and float(image["height"]) > 0):
        size = f"{image['width']}x{image['height']}"
        raise ValueError(f"width and height must be positive, not {size}")
    return image_id, file_name


def _why(exc: Exception) -> str:
    return f"no '{exc.args[0]}'" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__


def _common_tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    count = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x.lower() != y.lower():
            break
        count += 1
    return count
