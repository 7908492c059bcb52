"""Ingest: sources in, deduplicated frames with provenance out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edgedistill.catalog import Catalog, Frame
from edgedistill.config import IngestConfig
from edgedistill.errors import EdgedistillError, environment_problem
from edgedistill.ingest.dedup import NearDuplicateFilter
from edgedistill.media.files import MediaFile, SourceProblem, expand_sources
from edgedistill.media.images import load_image
from edgedistill.media.store import FrameStore, content_id, encode_jpeg, file_sha256
from edgedistill.media.video import VideoReader
from edgedistill.project import FRAMES_DIR, Project

ResultStatus = Literal["ingested", "unchanged", "skipped", "failed"]
ProgressCallback = Callable[[MediaFile, int, int | None], None]
"""Called as ``(file, done, total)``: frames decoded of a video, or images of a run."""

# Settings that change the pixels of stored frames; a source keeps the ones it
# was first ingested with, so that no frame is stored twice at two sizes.
_PIXEL_SETTINGS = ("max_side", "jpeg_quality")


@dataclass
class SourceResult:
    """What ingesting one file did."""

    file: MediaFile
    status: ResultStatus
    frames_sampled: int = 0
    frames_new: int = 0
    frames_present: int = 0
    near_duplicates: int = 0
    message: str | None = None


@dataclass
class IngestReport:
    """Per-file results, and the arguments that named nothing ingestible."""

    results: list[SourceResult] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)

    @property
    def failures(self) -> list[tuple[str, str]]:
        """``(name, reason)`` for every argument or file that could not be ingested fully."""
        failed = [(str(r.file.path), r.message or "") for r in self.results if r.status == "failed"]
        return [(p.name, p.reason) for p in self.problems] + failed

    def total(self, counter: str) -> int:
        return sum(getattr(result, counter) for result in self.results)


def ingest(
    project: Project,
    arguments: Sequence[str],
    settings: IngestConfig | None = None,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest every video and image named by ``arguments`` into ``project``.

    A file that fails is reported and the others go on; frames stored before a
    failure or an interruption stay, and a second run adds nothing new. ``settings``
    default to the project's ``ingest`` section.
    """
    settings = settings or project.config.ingest
    files, problems = expand_sources(arguments)
    own = [f for f in files if f.path.resolve().is_relative_to(project.root)]
    problems += [SourceProblem(str(f.path), "is inside the project itself") for f in own]
    files = [f for f in files if f not in own]
    report = IngestReport(problems=problems)
    with project.open_catalog() as catalog:
        ingestor = _Ingestor(catalog, FrameStore(project.frames_dir), settings, on_progress)
        image_count = sum(f.kind == "image" for f in files)
        images_done = 0
        for media in files:
            images_done += media.kind == "image"
            report.results.append(ingestor.ingest_file(media, images_done, image_count))
    return report


def source_settings(settings: IngestConfig, kind: str) -> dict[str, Any]:
    """The settings that decide which frames a source yields (fps only for video)."""
    values = settings.model_dump(exclude={"sources"})  # what `pipeline` ingests, not how
    if kind == "image":
        values.pop("fps")
    if not values["dedup"]:
        values.pop("dedup_threshold")
    return values


class _Ingestor:
    def __init__(
        self,
        catalog: Catalog,
        store: FrameStore,
        settings: IngestConfig,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.settings = settings
        self.on_progress = on_progress or (lambda *_: None)
        self._folder_filters: dict[Path, NearDuplicateFilter | None] = {}

    def ingest_file(self, media: MediaFile, image_number: int, image_count: int) -> SourceResult:
        """Ingest one file; what goes wrong becomes the result's message, never an exception."""
        result = SourceResult(media, "ingested")
        try:
            source = self._identify(media, result)
            if source is not None and media.kind == "video":
                self._ingest_video(media, source, result)
            elif source is not None:
                self._ingest_image(media, source, result)
        except EdgedistillError as exc:
            result.status, result.message = "failed", str(exc)
        except OSError as exc:
            if environment_problem(exc) is not None:
                raise  # a full disk stops every file, not just this one
            result.status, result.message = "failed", f"cannot read ({exc.strerror})"
        finally:
            if media.kind == "image":
                self.on_progress(media, image_number, image_count)
        return result

    def _ingest_video(self, media: MediaFile, source: dict[str, Any], result: SourceResult) -> None:
        with VideoReader(media.path) as reader:
            info = reader.info
            source_id = self.catalog.begin_source(
                **source,
                kind="video",
                settings=source_settings(self.settings, "video"),
                width=info.width,
                height=info.height,
                fps=info.fps,
                duration=info.duration,
                rotation=info.rotation,
            )
            dedup = self._new_filter()
            try:
                for sampled in reader.sample(self.settings.fps, self.settings.max_side):
                    self._keep(
                        sampled.image, source_id, sampled.index, sampled.timestamp, dedup, result
                    )
                    self.on_progress(media, reader.frames_decoded, info.frame_count)
            except EdgedistillError as exc:
                self._fail_part_way(source_id, result, str(exc))
                return
        self._finish(source_id, result, "video")

    def _ingest_image(self, media: MediaFile, source: dict[str, Any], result: SourceResult) -> None:
        image, (width, height) = load_image(media.path, self.settings.max_side)
        source_id = self.catalog.begin_source(
            **source,
            kind="image",
            settings=source_settings(self.settings, "image"),
            width=width,
            height=height,
        )
        folder = media.path.parent
        if folder not in self._folder_filters:
            self._folder_filters[folder] = self._new_filter()
        self._keep(image, source_id, 0, None, self._folder_filters[folder], result)
        self._finish(source_id, result, "image")

    def _identify(self, media: MediaFile, result: SourceResult) -> dict[str, Any] | None:
        """The source's identity columns, or None when there is nothing to do."""
        stat = media.path.stat()
        path = str(media.path.resolve())
        content_hash = self.catalog.known_hash(path, stat.st_size, stat.st_mtime_ns)
        content_hash = content_hash or file_sha256(media.path)
        existing = self.catalog.source_by_hash(content_hash)
        wanted = source_settings(self.settings, media.kind)
        if existing is not None and existing.settings:
            changed = [k for k in _PIXEL_SETTINGS if existing.settings.get(k) != wanted[k]]
            if changed:
                was = ", ".join(f"{k} {existing.settings.get(k)}" for k in changed)
                result.status = "skipped"
                result.message = (
                    f"already ingested with {was}; its frames are kept as they are "
                    "(use a new project for another frame size or quality)"
                )
                return None
            if (
                existing.status == "done"
                and existing.settings == wanted
                and not self._frames_damaged(existing.id)
            ):
                result.status = "unchanged"
                return None
        return {
            "content_hash": content_hash,
            "path": path,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }

    def _frames_damaged(self, source_id: int) -> bool:
        """True when a frame file of this source is missing or not the size it was stored
        with (ingesting again rewrites it)."""
        for frame in self.catalog.frames(source_id):
            path = self.store.root.parent / frame.path
            if not path.is_file() or path.stat().st_size != frame.bytes:
                return True
        return False

    def _new_filter(self) -> NearDuplicateFilter | None:
        if not self.settings.dedup:
            return None
        return NearDuplicateFilter(self.settings.dedup_threshold)

    def _keep(
        self,
        image: np.ndarray,
        source_id: int,
        index: int,
        timestamp: float | None,
        dedup: NearDuplicateFilter | None,
        result: SourceResult,
    ) -> None:
        result.frames_sampled += 1
        if dedup is not None and dedup.is_duplicate(image):
            result.near_duplicates += 1
            return
        data = encode_jpeg(image, self.settings.jpeg_quality)
        frame_id = content_id(data)
        if self.catalog.has_frame(frame_id):
            self.store.write(frame_id, data)  # restores a deleted file; no-op otherwise
            result.frames_present += 1
            return
        self.store.write(frame_id, data)
        height, width = image.shape[:2]
        relative = Path(FRAMES_DIR) / self.store.relative_path(frame_id)
        frame = Frame(
            frame_id, source_id, index, timestamp, width, height, len(data), relative.as_posix()
        )
        if self.catalog.add_frame(frame):
            result.frames_new += 1
        else:
            result.frames_present += 1

    def _finish(self, source_id: int, result: SourceResult, kind: str) -> None:
        self.catalog.finish_source(
            source_id,
            status="done",
            settings=source_settings(self.settings, kind),
            frames_sampled=result.frames_sampled,
        )

    def _fail_part_way(self, source_id: int, result: SourceResult, reason: str) -> None:
        result.status = "failed"
        kept = result.frames_new + result.frames_present
        if self.catalog.count("frames", source_id=source_id) == 0:
            self.catalog.forget_source(source_id)
            result.message = reason
            return
        self.catalog.finish_source(
            source_id,
            status="partial",
            settings=source_settings(self.settings, "video"),
            frames_sampled=result.frames_sampled,
            error=reason,
        )
        result.message = f"{reason}; kept the {kept} frames before the break"
