"""Pending frames in video order, for teachers that track objects through videos.

The label cache hands out pending frames in id (hash) order, which is all a frame-by-
frame teacher needs. A propagating teacher needs each video's frames one after the
other, in time, with where they sit in the video.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edgedistill.catalog import Catalog
from edgedistill.teachers.base import FrameInput

_PAGE = 500
_SEPARATOR = "\x1f"


def pending_in_video_order(
    catalog: Catalog, fingerprint: str, prompts: tuple[str, ...], frames_root: Path
) -> Iterator[FrameInput]:
    """Frames missing any of ``prompts`` for this teacher, by source then frame index,
    streamed page by page."""
    after: tuple[int, int, str] = (-1, -1, "")
    while True:
        rows = catalog.execute(
            "SELECT f.id, f.path, f.width, f.height, f.source_id, f.frame_index, f.timestamp, "
            "s.path AS source_path, "
            "(SELECT group_concat(c.prompt, char(31)) FROM label_cache c "
            " WHERE c.fingerprint = ? AND c.frame_id = f.id) AS done "
            "FROM frames f JOIN sources s ON s.id = f.source_id "
            "WHERE (f.source_id, f.frame_index, f.id) > (?, ?, ?) "
            "ORDER BY f.source_id, f.frame_index, f.id LIMIT ?",
            (fingerprint, *after, _PAGE),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            done = set((row["done"] or "").split(_SEPARATOR))
            missing = tuple(p for p in prompts if p not in done)
            if missing:
                yield FrameInput(
                    row["id"],
                    frames_root / row["path"],
                    row["width"],
                    row["height"],
                    row["source_path"],
                    missing,
                    row["source_id"],
                    row["frame_index"],
                    row["timestamp"],
                )
        last = rows[-1]
        after = (last["source_id"], last["frame_index"], last["id"])
