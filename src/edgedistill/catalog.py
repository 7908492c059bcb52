"""The project catalog: one SQLite file (WAL) holding sources and frames.

Later stages add their tables through ``MIGRATIONS``; the schema version lives in
SQLite's ``user_version`` so that an older project opens and upgrades in place.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from edgedistill.errors import EdgedistillError

SourceKind = Literal["video", "image"]
# "ingesting": started but not finished (a killed run); "partial": the file broke
# part-way and the frames before the break were kept.
SourceStatus = Literal["ingesting", "done", "partial"]

MIGRATIONS: list[str] = [
    """
    CREATE TABLE sources (
        id             INTEGER PRIMARY KEY,
        content_hash   TEXT NOT NULL UNIQUE,
        path           TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('video', 'image')),
        size           INTEGER NOT NULL,
        mtime_ns       INTEGER NOT NULL,
        width          INTEGER,
        height         INTEGER,
        fps            REAL,
        duration       REAL,
        rotation       INTEGER NOT NULL DEFAULT 0,
        settings       TEXT NOT NULL DEFAULT '{}',
        status         TEXT NOT NULL CHECK (status IN ('ingesting', 'done', 'partial')),
        error          TEXT,
        frames_sampled INTEGER NOT NULL DEFAULT 0,
        added_at       TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    );
    CREATE INDEX sources_by_file ON sources (path, size, mtime_ns);
    CREATE TABLE frames (
        id          TEXT PRIMARY KEY,
        source_id   INTEGER NOT NULL REFERENCES sources (id),
        frame_index INTEGER NOT NULL,
        timestamp   REAL,
        width       INTEGER NOT NULL,
        height      INTEGER NOT NULL,
        bytes       INTEGER NOT NULL,
        path        TEXT NOT NULL,
        added_at    TEXT NOT NULL
    );
    CREATE INDEX frames_by_source ON frames (source_id, frame_index);
    """,
    # Label cache: raw teacher output per (teacher fingerprint, frame, prompt).
    """
    CREATE TABLE teachers (
        fingerprint TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        identity    TEXT NOT NULL,
        prompted    INTEGER NOT NULL,
        calls       INTEGER NOT NULL DEFAULT 0,
        credits     REAL NOT NULL DEFAULT 0,
        first_used  TEXT NOT NULL,
        last_used   TEXT NOT NULL
    );
    CREATE TABLE label_cache (
        fingerprint TEXT NOT NULL REFERENCES teachers (fingerprint),
        frame_id    TEXT NOT NULL REFERENCES frames (id),
        prompt      TEXT NOT NULL,
        detections  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (fingerprint, frame_id, prompt)
    ) WITHOUT ROWID;
    """,
    # Datasets written, and student training runs on them.
    """
    CREATE TABLE datasets (
        version     TEXT PRIMARY KEY,
        format      TEXT NOT NULL,
        path        TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        class_names TEXT NOT NULL,
        counts      TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE train_runs (
        id          TEXT PRIMARY KEY,
        dataset     TEXT NOT NULL REFERENCES datasets (version),
        model       TEXT NOT NULL,
        settings    TEXT NOT NULL,
        directory   TEXT NOT NULL,
        weights     TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        error       TEXT,
        started_at  TEXT NOT NULL,
        finished_at TEXT
    );
    """,
    # Teachers described in words, with a caveat where they only stand in for SAM3;
    # training runs stopped by Ctrl-C are "interrupted" (resumable), not "failed".
    """
    ALTER TABLE teachers ADD COLUMN description TEXT NOT NULL DEFAULT '';
    ALTER TABLE teachers ADD COLUMN caveat TEXT;
    CREATE TABLE train_runs_new (
        id          TEXT PRIMARY KEY,
        dataset     TEXT NOT NULL REFERENCES datasets (version),
        model       TEXT NOT NULL,
        settings    TEXT NOT NULL,
        directory   TEXT NOT NULL,
        weights     TEXT,
        status      TEXT NOT NULL
                    CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
        error       TEXT,
        started_at  TEXT NOT NULL,
        finished_at TEXT
    );
    INSERT INTO train_runs_new SELECT * FROM train_runs;
    DROP TABLE train_runs;
    ALTER TABLE train_runs_new RENAME TO train_runs;
    """,
    # Feature distillation: the assistant a student learnt from (a run id or a weights
    # path) and the weight of the distillation loss; NULL for a plain student.
    """
    ALTER TABLE train_runs ADD COLUMN distilled_from TEXT;
    ALTER TABLE train_runs ADD COLUMN distill_weight REAL;
    """,
    # Classes a student lost against its starting weights (JSON list; NULL: not checked).
    """
    ALTER TABLE train_runs ADD COLUMN regressions TEXT;
    """,
    # The settings a teacher labelled with (JSON, flags included; never a secret), so that
    # eval can rebuild it; NULL for teachers registered before.
    """
    ALTER TABLE teachers ADD COLUMN settings TEXT;
    """,
    # 1: the run's process holds runs/train/<id>/train.lock while it trains (edgedistill.
    # run_lock); 0: started by an earlier version, which took no lock, so whether its
    # process still trains cannot be told.
    """
    ALTER TABLE train_runs ADD COLUMN holds_lock INTEGER NOT NULL DEFAULT 0;
    """,
]


@dataclass(frozen=True)
class Source:
    """A video or image file that frames came from, identified by its content hash."""

    id: int
    content_hash: str
    path: str
    kind: SourceKind
    size: int
    mtime_ns: int
    width: int | None
    height: int | None
    fps: float | None
    duration: float | None
    rotation: int
    settings: dict[str, Any]
    status: SourceStatus
    error: str | None
    frames_sampled: int


@dataclass(frozen=True)
class Frame:
    """One stored frame: a JPEG named by the hash of its bytes, and where it came from."""

    id: str
    source_id: int
    frame_index: int
    timestamp: float | None
    width: int
    height: int
    bytes: int
    path: str


def now() -> str:
    """UTC time as ISO 8601, the catalog's timestamp format."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Catalog:
    """Typed access to the project's SQLite catalog."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise EdgedistillError(f"{path}: cannot open the project catalog ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise EdgedistillError(
                f"{self.path} was written by a newer edgedistill (schema {version}); upgrade it"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run one statement; stage modules keep their own queries next to their logic."""
        return self._db.execute(sql, args)

    @property
    def journal_mode(self) -> str:
        return self._db.execute("PRAGMA journal_mode").fetchone()[0]

    # sources

    def source_by_hash(self, content_hash: str) -> Source | None:
        row = self._db.execute(
            "SELECT * FROM sources WHERE content_hash = ?", (content_hash,)
        ).fetchone()
        return _source(row) if row else None

    def known_hash(self, path: str, size: int, mtime_ns: int) -> str | None:
        """Content hash of a file seen before at the same path, size and mtime."""
        row = self._db.execute(
            "SELECT content_hash FROM sources WHERE path = ? AND size = ? AND mtime_ns = ?",
            (path, size, mtime_ns),
        ).fetchone()
        return row[0] if row else None

    def begin_source(  # noqa: PLR0913 — keyword-only, one per column of the sources row
        self,
        *,
        content_hash: str,
        path: str,
        kind: SourceKind,
        size: int,
        mtime_ns: int,
        settings: dict[str, Any],
        width: int | None,
        height: int | None,
        fps: float | None = None,
        duration: float | None = None,
        rotation: int = 0,
    ) -> int:
        """Record that ingesting a source started; returns its id (kept on re-ingest)."""
        stamp = now()
        self._db.execute(
            """
            INSERT INTO sources (content_hash, path, kind, size, mtime_ns, width, height, fps,
                                 duration, rotation, settings, status, added_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ingesting', ?, ?)
            ON CONFLICT (content_hash) DO UPDATE SET
                path = excluded.path, size = excluded.size, mtime_ns = excluded.mtime_ns,
                settings = excluded.settings, status = 'ingesting', error = NULL,
                updated_at = excluded.updated_at
            """,
            (
                content_hash,
                path,
                kind,
                size,
                mtime_ns,
                width,
                height,
                fps,
                duration,
                rotation,
                json.dumps(settings, sort_keys=True),
                stamp,
                stamp,
            ),
        )
        return self._db.execute(
            "SELECT id FROM sources WHERE content_hash = ?", (content_hash,)
        ).fetchone()[0]

    def finish_source(
        self,
        source_id: int,
        *,
        status: SourceStatus,
        settings: dict[str, Any],
        frames_sampled: int,
        error: str | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE sources SET status = ?, settings = ?, frames_sampled = ?, error = ?, "
            "updated_at = ? WHERE id = ?",
            (
                status,
                json.dumps(settings, sort_keys=True),
                frames_sampled,
                error,
                now(),
                source_id,
            ),
        )

    def forget_source(self, source_id: int) -> None:
        """Remove a source that yielded no frames (a file that broke before its first)."""
        self._db.execute("DELETE FROM sources WHERE id = ?", (source_id,))

    def sources(self) -> Iterator[Source]:
        for row in self._db.execute("SELECT * FROM sources ORDER BY id"):
            yield _source(row)

    # frames

    def has_frame(self, frame_id: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM frames WHERE id = ?", (frame_id,)).fetchone()
            is not None
        )

    def add_frame(self, frame: Frame) -> bool:
        """Insert a frame; False when a frame with these bytes is already there."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO frames (id, source_id, frame_index, timestamp, width, height, "
            "bytes, path, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                frame.id,
                frame.source_id,
                frame.frame_index,
                frame.timestamp,
                frame.width,
                frame.height,
                frame.bytes,
                frame.path,
                now(),
            ),
        )
        return cursor.rowcount == 1

    def frames(self, source_id: int | None = None) -> Iterator[Frame]:
        """Frames in ingest order, optionally of one source; streamed, not loaded at once."""
        query = "SELECT * FROM frames"
        args: tuple[Any, ...] = ()
        if source_id is not None:
            query += " WHERE source_id = ?"
            args = (source_id,)
        for row in self._db.execute(query + " ORDER BY source_id, frame_index", args):
            yield Frame(**{key: row[key] for key in Frame.__dataclass_fields__})

    # counts

    def count(self, table: Literal["sources", "frames", "datasets"], **where: Any) -> int:
        clause = " AND ".join(f"{key} = ?" for key in where)
        query = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {clause}" if clause else "")
        return self._db.execute(query, tuple(where.values())).fetchone()[0]

    def frame_bytes(self) -> int:
        return self._db.execute("SELECT COALESCE(SUM(bytes), 0) FROM frames").fetchone()[0]


def _source(row: sqlite3.Row) -> Source:
    values = {key: row[key] for key in Source.__dataclass_fields__}
    values["settings"] = json.loads(values["settings"])
    return Source(**values)
