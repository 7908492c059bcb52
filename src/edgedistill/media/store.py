"""Frames on disk: JPEG files named by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """BGR image to JPEG bytes (deterministic for the same pixels and quality)."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def content_id(data: bytes) -> str:
    """Frame id: the first 32 hex digits (128 bits) of the SHA-256 of the file bytes."""
    return hashlib.sha256(data).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's contents, read in chunks (videos can be gigabytes)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class FrameStore:
    """``root/ab/abcdef….jpg``: two-letter shards keep folders small."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def relative_path(self, frame_id: str) -> Path:
        return Path(frame_id[:2]) / f"{frame_id}.jpg"

    def write(self, frame_id: str, data: bytes) -> Path:
        """Store a frame's bytes atomically (a killed run never leaves half a file)."""
        path = self.root / self.relative_path(frame_id)
        if path.exists() and path.stat().st_size == len(data):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path


def link_image(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy across file systems); kept if present."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
