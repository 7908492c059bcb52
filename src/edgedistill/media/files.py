"""Turn command-line source arguments (files, folders, globs) into media files."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


@dataclass(frozen=True)
class MediaFile:
    """A video or image file to ingest."""

    path: Path
    kind: Literal["video", "image"]


@dataclass(frozen=True)
class SourceProblem:
    """An argument that names nothing ingestible, with the reason in words."""

    name: str
    reason: str


def media_kind(path: Path) -> Literal["video", "image"] | None:
    """``video`` or ``image`` from the file extension (any case), else None."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    return None


def expand_sources(arguments: Sequence[str]) -> tuple[list[MediaFile], list[SourceProblem]]:
    """Media files named by ``arguments``, in order and without repeats, and the problems.

    A folder is searched recursively (hidden files and folders skipped, sorted by
    path); an argument that is not an existing path is tried as a glob pattern.
    """
    found: dict[Path, MediaFile] = {}
    problems: list[SourceProblem] = []
    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_dir():
            files = list(_media_in_folder(path))
            if not files:
                problems.append(SourceProblem(argument, "folder holds no video or image files"))
        elif path.exists():
            kind = media_kind(path)
            if not path.is_file():  # after following links: a device or pipe never ends
                problems.append(SourceProblem(argument, "not a regular file"))
                continue
            if kind is None:
                problems.append(SourceProblem(argument, _unsupported(path)))
                continue
            files = [MediaFile(path, kind)]
        elif glob.has_magic(argument):
            files = list(_media_in_glob(argument))
            if not files:
                problems.append(SourceProblem(argument, "no video or image files match"))
        else:
            problems.append(SourceProblem(argument, "no such file or folder"))
            continue
        for media in files:
            found.setdefault(media.path.resolve(), media)
    return list(found.values()), problems


def _media_in_folder(folder: Path) -> Iterable[MediaFile]:
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        kind = media_kind(path)
        if kind is not None and not hidden and path.is_file():
            yield MediaFile(path, kind)


def _media_in_glob(pattern: str) -> Iterable[MediaFile]:
    for name in sorted(glob.glob(str(Path(pattern).expanduser()), recursive=True)):
        path = Path(name)
        if path.is_dir():
            yield from _media_in_folder(path)
        elif (kind := media_kind(path)) is not None and path.is_file():
            yield MediaFile(path, kind)


def _unsupported(path: Path) -> str:
    videos = " ".join(sorted(VIDEO_EXTENSIONS))
    images = " ".join(sorted(IMAGE_EXTENSIONS))
    suffix = path.suffix or "(none)"
    return f"unsupported file type {suffix}; videos: {videos}; images: {images}"
