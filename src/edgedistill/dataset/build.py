"""The dataset stage: labelled frames (ontology applied) to YOLO or COCO on disk."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import supervision as sv

from edgedistill.catalog import Catalog, now
from edgedistill.config import DatasetConfig, ProjectConfig
from edgedistill.dataset.confidence import calibrated, uncertain
from edgedistill.dataset.gallery import Gallery
from edgedistill.dataset.split import HoldOut, TimedFrame, Unit, plan_splits, unit_score
from edgedistill.dataset.writers import CocoWriter
from edgedistill.detections import class_ids
from edgedistill.ego import find_ego_mask, outside_mask
from edgedistill.errors import NO_FRAMES, EdgedistillError
from edgedistill.project import Project
from edgedistill.teachers.base import RawDetection
from edgedistill.teachers.cache import LabelCache, cache_keys
from edgedistill.teachers.resolve import resolve
from edgedistill.teachers.tracks import track_voting_cache
from edgedistill.yolo_format import SPLITS, Split, YoloWriter

_COMPLETE = ".complete"


@dataclass(frozen=True)
class _Frame:
    id: str
    path: Path
    width: int
    height: int
    unit: str
    timestamp: float | None
    camera: str
    """The camera that took it: its video, or the project's images as one camera."""


IMAGES_CAMERA = "images"
"""The camera of every image source: stills cannot be told apart by the car they came from."""


@dataclass
class EgoMaskUse:
    """The ego vehicle's mask (``hud.ego_mask``) as this dataset applied it: one per camera
    when found (each video's own hood), and the one the HUD uses."""

    polygon: list[tuple[float, float]]
    """The HUD's mask: the config's, or the one found on the most frames."""
    note: str
    """Where it came from: the config, or what found it in the labelled frames."""
    labels_dropped: int = 0
    """Teacher labels inside a mask (the car's own hood), kept out of the dataset."""
    by_camera: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """Found masks by camera (a video's file name, or ``images``); empty when set."""
    cameras: dict[str, str] = field(default_factory=dict, repr=False)
    """Camera key of a frame → its name in ``by_camera`` (not saved)."""

    def for_camera(self, camera: str) -> list[tuple[float, float]]:
        """The mask of the frames of ``camera``."""
        if not self.cameras:  # set in the config: every camera
            return self.polygon
        return self.by_camera.get(self.cameras.get(camera, ""), [])


@dataclass
class DatasetReport:
    """What was written (or found already written) and how it splits."""

    version: str
    format: str
    root: Path
    data_yaml: Path | None
    teacher: str
    fingerprint: str
    class_names: list[str]
    images: Counter[str] = field(default_factory=Counter)
    negatives: Counter[str] = field(default_factory=Counter)
    instances: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    unlabelled_frames: int = 0
    warnings: list[str] = field(default_factory=list)
    reused: bool = False
    gallery: Path | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    """Per-class confidences chosen for ``label.precision_target``."""
    uncertain_frames: int = 0
    """Frames left out by ``dataset.uncertain_band``."""
    holdout: HoldOut = field(default_factory=lambda: HoldOut("nothing"))
    """What val and test hold out, and how."""
    ego_mask: EgoMaskUse = field(default_factory=lambda: EgoMaskUse([], "none"))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "format": self.format,
            "root": str(self.root),
            "data_yaml": str(self.data_yaml) if self.data_yaml else None,
            "teacher": self.teacher,
            "fingerprint": self.fingerprint,
            "class_names": self.class_names,
            "images": dict(self.images),
            "negatives": dict(self.negatives),
            "instances": {s: dict(c) for s, c in self.instances.items()},
            "unlabelled_frames": self.unlabelled_frames,
            "warnings": self.warnings,
            "gallery": str(self.gallery) if self.gallery else None,
            "thresholds": self.thresholds,
            "uncertain_frames": self.uncertain_frames,
            "holdout": self.holdout.to_json(),
            "ego_mask": asdict(self.ego_mask, dict_factory=_without_cameras),
        }


def _without_cameras(items: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: value for key, value in items if key != "cameras"}


def build_dataset(
    project: Project, settings: DatasetConfig | None = None, teacher: str | None = None
) -> DatasetReport:
    """Write the labelled frames of ``teacher`` (default: the one used last) as a dataset.

    The same inputs give the same version, and a finished version is reused.
    """
    config = project.config
    settings = settings or config.dataset
    with project.open_catalog() as catalog:
        if catalog.count("frames") == 0:
            raise EdgedistillError(NO_FRAMES)
        cache = LabelCache(catalog)
        fingerprint, name, prompted = _teacher(cache, teacher)
        config = calibrated(config, cache, fingerprint)
        prompts = cache_keys(config.ontology.prompts, prompted)
        if prompted:  # tracked objects (video propagation) get one class per track
            cache = track_voting_cache(catalog, fingerprint, prompts, config.ontology, config.label)
        ego = _ego_mask(catalog, cache, config, fingerprint, prompted)
        frames, objects, dropped = _labelled_frames(
            catalog, cache, config, fingerprint, prompted, settings, ego
        )
        if not frames:
            raise EdgedistillError(f"no labelled frames for {name}; run `edgedistill label` first")
        plan = plan_splits(
            _units(catalog, frames),
            [TimedFrame(f.id, f.unit, f.timestamp) for f in frames.values()],
            (settings.val, settings.test),
            settings.seed,
            settings.guard_s,
        )
        splits = plan.splits
        selected = _with_negatives(frames, objects, splits, settings)
        version = _version(config, settings, fingerprint, selected, splits, ego)
        root = project.datasets_dir / f"{settings.format}-{version}"
        report = DatasetReport(
            version, settings.format, root, None, name, fingerprint, config.ontology.student_names
        )
        report.unlabelled_frames = catalog.count("frames") - len(frames) - dropped
        report.uncertain_frames = dropped
        report.holdout = plan.kept(selected)
        report.ego_mask = ego
        report.thresholds = {
            c.name: c.confidence
            for c in config.ontology.classes
            if c.confidence is not None and config.label.precision_target is not None
        }
        if (root / _COMPLETE).is_file():
            _load_counts(report)
            report.reused = True
        else:
            chosen = _Selection(frames, splits, selected)
            _write(report, config, settings, cache, prompts, prompted, chosen)
        _record(catalog, report)  # the latest dataset is what `train` uses by default
        report.data_yaml = root / "data.yaml" if (root / "data.yaml").is_file() else None
        report.gallery = root / "gallery.html" if (root / "gallery.html").is_file() else None
    return report


def _teacher(cache: LabelCache, name: str | None) -> tuple[str, str, bool]:
    if name is None:
        last = cache.last_teacher()
        if last is None:
            raise EdgedistillError("no frames are labelled yet; run `edgedistill label` first")
        return last
    row = cache.catalog.execute(
        "SELECT fingerprint, name, prompted FROM teachers WHERE name = ? "
        "ORDER BY last_used DESC LIMIT 1",
        (name,),
    ).fetchone()
    if row is None:
        raise EdgedistillError(f"nothing was labelled with teacher '{name}' in this project")
    return row[0], row[1], bool(row[2])


def _labelled_frames(
    catalog: Catalog,
    cache: LabelCache,
    config: ProjectConfig,
    fingerprint: str,
    prompted: bool,
    settings: DatasetConfig,
    ego: EgoMaskUse,
) -> tuple[dict[str, _Frame], dict[str, int], int]:
    """Frames with a complete answer from the teacher, their object counts (outside the
    ego mask), and how many were left out as uncertain."""
    prompts = cache_keys(config.ontology.prompts, prompted)
    frames: dict[str, _Frame] = {}
    objects: dict[str, int] = {}
    dropped = 0
    for frame_id, raw in cache.detections(fingerprint, prompts):
        if uncertain(raw, config.ontology, config.label, settings.uncertain_band):
            dropped += 1
            continue
        row = catalog.execute(
            "SELECT f.path, f.width, f.height, f.timestamp, f.source_id, s.content_hash, "
            "s.kind, s.path AS source FROM frames f JOIN sources s ON s.id = f.source_id "
            "WHERE f.id = ?",
            (frame_id,),
        ).fetchone()
        unit = row["content_hash"]
        if settings.group_folders and row["kind"] == "image":
            unit = str(Path(row["source"]).parent)
        frames[frame_id] = _Frame(
            frame_id,
            catalog.path.parent / row["path"],
            row["width"],
            row["height"],
            unit,
            row["timestamp"],
            _camera(row["kind"], row["source_id"]),
        )
        size, mask = (row["width"], row["height"]), ego.for_camera(frames[frame_id].camera)
        objects[frame_id] = len(_labels(raw, config, prompted, size, mask)[0])
    return frames, objects, dropped


def _units(catalog: Catalog, frames: dict[str, _Frame]) -> list[Unit]:
    """The sources of ``frames`` as split units: a video with its duration (else its last
    frame's time), an image or a folder of images without one."""
    units: dict[str, Unit] = {}
    for frame in frames.values():
        if frame.unit in units:
            continue
        row = catalog.execute(
            "SELECT s.kind, s.path, COALESCE(s.duration, MAX(f.timestamp)) AS duration "
            "FROM sources s JOIN frames f ON f.source_id = s.id WHERE s.content_hash = ?",
            (frame.unit,),
        ).fetchone()
        name = Path(row["path"]).name if row["path"] else frame.unit  # a folder of images
        duration = row["duration"] if row["kind"] == "video" else None
        units[frame.unit] = Unit(frame.unit, name, duration)
    return list(units.values())


def _labels(
    raw: list[RawDetection],
    config: ProjectConfig,
    prompted: bool,
    size: tuple[int, int],
    ego_mask: list[tuple[float, float]],
) -> tuple[sv.Detections, int]:
    """A frame's labels (the ontology applied to the teacher's raw answer) outside the ego
    mask, and how many fell inside it."""
    detections = resolve(raw, config.ontology, config.label, prompted).detections
    kept = outside_mask(detections, ego_mask, size)
    return kept, len(detections) - len(kept)


def _camera(kind: str, source_id: int) -> str:
    return str(source_id) if kind == "video" else IMAGES_CAMERA


def _ego_mask(
    catalog: Catalog, cache: LabelCache, config: ProjectConfig, fingerprint: str, prompted: bool
) -> EgoMaskUse:
    """``hud.ego_mask`` as set in the config, or (``auto``) as found in the teacher's
    labels of each camera's frames (a video each; the images together)."""
    if config.hud.ego_mask != "auto":
        return EgoMaskUse(config.hud.ego_polygon, "set in the config (hud.ego_mask)")
    rows = catalog.execute(
        "SELECT f.id, f.width, f.height, f.source_id, s.kind, s.path FROM frames f "
        "JOIN sources s ON s.id = f.source_id"
    ).fetchall()
    about = {row[0]: (row[1], row[2], _camera(row[4], row[3])) for row in rows}
    paths = {_camera(row[4], row[3]): row[5] for row in rows if row[4] == "video"}
    prompts = cache_keys(config.ontology.prompts, prompted)
    boxes: dict[str, list[tuple[sv.Detections, int, int]]] = defaultdict(list)
    for frame_id, raw in cache.detections(fingerprint, prompts):
        if frame_id in about:
            width, height, camera = about[frame_id]
            found = resolve(raw, config.ontology, config.label, prompted).detections
            boxes[camera].append((sv.Detections(xyxy=found.xyxy), width, height))
    findings = {camera: find_ego_mask(frames) for camera, frames in boxes.items()}
    found_in = {camera: f for camera, f in findings.items() if f is not None}
    if not found_in:
        return EgoMaskUse([], "auto: no hood or dashboard found in the labelled frames")
    camera = max(found_in, key=lambda c: found_in[c].frames_on)
    shown = Path(paths.get(camera, IMAGES_CAMERA)).name
    others = f"; {len(found_in) - 1} other camera(s) have their own" if len(found_in) > 1 else ""
    return EgoMaskUse(
        found_in[camera].polygon,
        f"auto: {found_in[camera].describe()} of {shown}{others}",
        by_camera={paths.get(c, IMAGES_CAMERA): f.polygon for c, f in found_in.items()},
        cameras={c: paths.get(c, IMAGES_CAMERA) for c in boxes},
    )


def _with_negatives(
    frames: dict[str, _Frame],
    objects: dict[str, int],
    splits: dict[str, Split],
    settings: DatasetConfig,
) -> set[str]:
    """Every frame with a split and objects, and negatives up to ``settings.negatives`` of
    each split; frames in guard gaps (no split) are left out."""
    selected = {f for f, n in objects.items() if n > 0 and f in splits}
    if not selected:  # the teacher found nothing anywhere: keep what there is
        return set(splits)
    for split in SPLITS:
        positives = sum(1 for f in selected if splits[f] == split)
        allowed = int(positives * settings.negatives / (1 - settings.negatives))
        negatives = sorted(
            (f for f, n in objects.items() if n == 0 and splits.get(f) == split),
            key=lambda f: unit_score(f, settings.seed),
        )
        selected.update(negatives[:allowed])
    return selected


def _version(
    config: ProjectConfig,
    settings: DatasetConfig,
    fingerprint: str,
    selected: set[str],
    splits: dict[str, Split],
    ego: EgoMaskUse,
) -> str:
    # Only what changes the files: guard_s shows in the frames chosen, and a dataset with no
    # ego mask keeps the version it had before masks existed.
    identity = {
        **({"ego_mask": ego.by_camera or ego.polygon} if ego.polygon else {}),
        "settings": settings.model_dump(exclude={"gallery_max", "min_instances", "guard_s"}),
        "ontology": config.ontology.model_dump(),
        "label": config.label.model_dump(),
        "teacher": fingerprint,
        "frames": sorted((f, splits[f]) for f in selected),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class _Selection:
    """The frames that go into the dataset, and the split of each frame."""

    frames: dict[str, _Frame]
    splits: dict[str, Split]
    selected: set[str]


def _write(
    report: DatasetReport,
    config: ProjectConfig,
    settings: DatasetConfig,
    cache: LabelCache,
    prompts: tuple[str, ...],
    prompted: bool,
    chosen: _Selection,
) -> None:
    frames, splits, selected = chosen.frames, chosen.splits, chosen.selected
    root = report.root
    if root.exists():
        shutil.rmtree(root)  # an unfinished earlier attempt at this version
    names = config.ontology.student_names
    if settings.format == "coco":
        parents = {
            config.ontology.output_name(c.name): config.ontology.output_name(c.parent)
            for c in config.ontology.classes
            if c.parent
        }
        writer: YoloWriter | CocoWriter = CocoWriter(
            root, names, parents, config.label.output_format == "rle"
        )
    else:
        writer = YoloWriter(root, names, segments=settings.format == "yolo-seg")
    gallery = Gallery(root, names, settings.gallery_max)
    for frame_id, raw in cache.detections(report.fingerprint, prompts):
        if frame_id not in selected:
            continue
        frame = frames[frame_id]
        split = splits[frame_id]
        mask = report.ego_mask.for_camera(frame.camera)
        detections, inside = _labels(raw, config, prompted, (frame.width, frame.height), mask)
        report.ego_mask.labels_dropped += inside
        writer.add(split, frame, detections)
        report.images[split] += 1
        report.negatives[split] += len(detections) == 0
        report.instances[split].update(names[c] for c in class_ids(detections))
        if not gallery.full:
            gallery.add(frame_id, split, frame.path, detections)
    if "val" not in report.images:
        advice = "add more videos or images" if settings.val else "set dataset.val above 0"
        report.warnings.append(
            f"no val split ({report.holdout.sentence()}): validation during training uses the "
            f"training frames, so its figures will be optimistic; {advice}"
        )
    writer.close(fallback_val=True)
    rare = [n for n in names if report.instances["train"][n] < settings.min_instances]
    if rare:
        counts = ", ".join(f"{n} {report.instances['train'][n]}" for n in rare)
        report.warnings.append(
            f"{len(rare)} of {len(names)} classes have fewer than {settings.min_instances} "
            f"training instances, too rare to learn well ({counts}): add footage that shows "
            "them, or drop the classes from the ontology"
        )
    teacher = cache.about(report.fingerprint)
    described = teacher.description if teacher else report.teacher
    caveat = f"Teacher: {teacher.caveat}." if teacher and teacher.caveat else None
    title = f"{report.format} dataset {report.version} — labels by {described}"
    gallery.write(title, report.holdout.sentence(), caveat)
    (root / "dataset.json").write_text(json.dumps(report.to_json(), indent=2))
    (root / _COMPLETE).write_text(now())


def _load_counts(report: DatasetReport) -> None:
    saved = json.loads((report.root / "dataset.json").read_text())
    report.images.update(saved["images"])
    report.negatives.update(saved["negatives"])
    for split, counts in saved["instances"].items():
        report.instances[split].update(counts)
    report.warnings = saved["warnings"]
    report.ego_mask = EgoMaskUse(**saved["ego_mask"]) if "ego_mask" in saved else report.ego_mask


def _record(catalog: Catalog, report: DatasetReport) -> None:
    catalog.execute(
        "INSERT OR REPLACE INTO datasets (version, format, path, fingerprint, class_names, "
        "counts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            report.version,
            report.format,
            str(report.root),
            report.fingerprint,
            json.dumps(report.class_names),
            json.dumps(report.to_json()),
            now(),
        ),
    )
