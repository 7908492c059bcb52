"""The label cache: raw teacher output per (teacher fingerprint, frame, prompt).

Stored at the teacher's low score floor so that thresholds, NMS and the ontology
can change offline. A frame's prompts are written in one transaction as soon as
its answer arrives: a killed run loses at most the calls that were in flight.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.catalog import Catalog, now
from edgedistill.teachers.base import (
    ALL_CLASSES,
    FrameInput,
    RawDetection,
    Teacher,
    TeacherResult,
)

_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class TeacherRecord:
    """A teacher as the catalog remembers it, for reports, model cards and eval."""

    fingerprint: str
    name: str
    description: str
    caveat: str | None
    prompted: bool = True
    settings: dict[str, Any] | None = None
    """The settings it labelled with, flags included; None when registered before they
    were kept."""


def cache_keys(prompts: Sequence[str], prompted: bool) -> tuple[str, ...]:
    """The keys a teacher's answers are cached under: the ontology's prompts, or
    ``ALL_CLASSES`` for teachers that label with their own class names."""
    return tuple(prompts) if prompted else (ALL_CLASSES,)


_PAGE = 500


class LabelCache:
    """Label-cache queries on a project catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def register(self, teacher: Teacher) -> None:
        """Record the teacher (name, identity, description, settings) and that it was used
        now. Its settings are what built it, flags included, so that ``eval`` can build it
        again; they hold no secret (API keys come only from the environment)."""
        stamp = now()
        self.catalog.execute(
            "INSERT INTO teachers (fingerprint, name, identity, prompted, first_used, last_used, "
            "description, caveat, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (fingerprint) DO UPDATE SET last_used = excluded.last_used, "
            "description = excluded.description, caveat = excluded.caveat, "
            "settings = excluded.settings",
            (
                teacher.fingerprint,
                teacher.name,
                json.dumps(teacher.identity(), sort_keys=True),
                int(teacher.prompted),
                stamp,
                stamp,
                teacher.describe(),
                teacher.caveat,
                teacher.settings.model_dump_json(),
            ),
        )

    def pending(
        self,
        fingerprint: str,
        prompts: tuple[str, ...],
        frames_root: Path,
        in_video_order: bool = False,
    ) -> Iterator[FrameInput]:
        """Frames missing any of ``prompts`` for this teacher, streamed page by page.

        In id (hash) order, which is all a frame-by-frame teacher needs; with
        ``in_video_order``, each video's frames one after the other in time, for
        teachers that track objects through videos.
        """
        order = ("source_id", "frame_index", "id") if in_video_order else ("id",)
        key = ", ".join(f"f.{column}" for column in order)
        after: tuple[object, ...] = (-1, -1, "") if in_video_order else ("",)
        while True:
            rows = self.catalog.execute(
                "SELECT f.id, f.path, f.width, f.height, f.source_id, f.frame_index, "
                "f.timestamp, s.path AS source_path, "
                "(SELECT group_concat(c.prompt, char(31)) FROM label_cache c "
                " WHERE c.fingerprint = ? AND c.frame_id = f.id) AS done "
                "FROM frames f JOIN sources s ON s.id = f.source_id "
                f"WHERE ({key}) > ({', '.join('?' * len(order))}) ORDER BY {key} LIMIT ?",
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
            after = tuple(rows[-1][column] for column in order)

    def count_pending(self, fingerprint: str, prompts: tuple[str, ...]) -> int:
        """Frames still missing any of ``prompts`` for this teacher."""
        placeholders = ",".join("?" * len(prompts))
        row = self.catalog.execute(
            "SELECT COUNT(*) FROM (SELECT ? - COUNT(c.prompt) AS n "
            "FROM frames f LEFT JOIN label_cache c ON c.frame_id = f.id AND c.fingerprint = ? "
            f"AND c.prompt IN ({placeholders}) GROUP BY f.id) WHERE n > 0",
            (len(prompts), fingerprint, *prompts),
        ).fetchone()
        return row[0]

    def store(self, fingerprint: str, result: TeacherResult) -> int:
        """Cache one frame's answer, every prompt it covers, and its spend, atomically.

        Detections with a non-finite score or coordinate are dropped; returns how many.
        """
        by_prompt: dict[str, list[dict]] = {prompt: [] for prompt in result.prompts}
        finite = [d for d in result.detections if is_finite(d)]
        for detection in finite:
            key = detection.label if detection.label in by_prompt else None
            if key is None and len(result.prompts) == 1:
                key = result.prompts[0]
            if key is not None:
                by_prompt[key].append(detection.to_json())
        stamp = now()
        with self.catalog.transaction():
            for prompt, detections in by_prompt.items():
                self.catalog.execute(
                    "INSERT OR REPLACE INTO label_cache (fingerprint, frame_id, prompt, "
                    "detections, created_at) VALUES (?, ?, ?, ?, ?)",
                    (fingerprint, result.frame.id, prompt, json.dumps(detections), stamp),
                )
            self.catalog.execute(
                "UPDATE teachers SET calls = calls + ?, credits = credits + ? "
                "WHERE fingerprint = ?",
                (result.calls, result.credits, fingerprint),
            )
        return len(result.detections) - len(finite)

    def detections(
        self, fingerprint: str, prompts: tuple[str, ...]
    ) -> Iterator[tuple[str, list[RawDetection]]]:
        """``(frame id, raw detections)`` for every frame that has all ``prompts`` cached."""
        placeholders = ",".join("?" * len(prompts))
        cursor = self.catalog.execute(
            "SELECT frame_id, group_concat(detections, char(31)) AS parts, COUNT(*) AS n "
            f"FROM label_cache WHERE fingerprint = ? AND prompt IN ({placeholders}) "
            "GROUP BY frame_id ORDER BY frame_id",
            (fingerprint, *prompts),
        )
        for row in cursor:
            if row["n"] < len(prompts):
                continue
            raw = [d for part in row["parts"].split(_SEPARATOR) for d in _decode(part)]
            yield row["frame_id"], raw

    def frame_detections(
        self, fingerprint: str, frame_id: str, prompts: tuple[str, ...]
    ) -> list[RawDetection] | None:
        """One frame's raw detections, or None unless every prompt is cached."""
        placeholders = ",".join("?" * len(prompts))
        rows = self.catalog.execute(
            f"SELECT detections FROM label_cache WHERE fingerprint = ? AND frame_id = ? "
            f"AND prompt IN ({placeholders})",
            (fingerprint, frame_id, *prompts),
        ).fetchall()
        if len(rows) < len(prompts):
            return None
        return [d for row in rows for d in _decode(row[0])]

    def last_teacher(self) -> tuple[str, str, bool] | None:
        """``(fingerprint, name, prompted)`` of the most recently used teacher that has
        answered: one that failed before its first answer hides no earlier labels."""
        row = self.catalog.execute(
            "SELECT fingerprint, name, prompted FROM teachers t WHERE EXISTS "
            "(SELECT 1 FROM label_cache c WHERE c.fingerprint = t.fingerprint) "
            "ORDER BY last_used DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1], bool(row[2])) if row else None

    def about(self, fingerprint: str) -> TeacherRecord | None:
        """What the catalog knows of a teacher: name, description, caveat and settings."""
        row = self.catalog.execute(
            "SELECT name, description, caveat, prompted, settings FROM teachers "
            "WHERE fingerprint = ?",
            (fingerprint,),
        ).fetchone()
        if row is None:
            return None
        settings = json.loads(row[4]) if row[4] is not None else None
        return TeacherRecord(fingerprint, row[0], row[1] or row[0], row[2], bool(row[3]), settings)

    def spend(self, fingerprint: str) -> tuple[int, float]:
        row = self.catalog.execute(
            "SELECT calls, credits FROM teachers WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return (row[0], row[1]) if row else (0, 0.0)


def is_finite(detection: RawDetection) -> bool:
    """True when the score and every box coordinate are finite numbers."""
    return all(math.isfinite(v) for v in (detection.score, *detection.box))


def _decode(text: str) -> list[RawDetection]:
    """A cached prompt's detections; non-finite ones (cached by older versions) are skipped."""
    detections = (RawDetection.from_json(d) for d in json.loads(text))
    return [d for d in detections if is_finite(d)]
