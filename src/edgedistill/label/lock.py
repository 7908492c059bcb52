"""One labelling run per project at a time: the project's label lock.

Two runs that both read "frame X still lacks prompt P" from the catalog would
both pay for it. The lock is an exclusive OS file lock (``flock`` through
``filelock``) on ``<project>/label.lock``: the operating system releases it when
the holder exits, however it exits (``kill -9`` included), so a crashed run
never leaves the project stuck.

Whatever submits paid calls for a project takes this lock for the whole run,
before it reads the pending frames. The Ray label path (``label/ray_runner.py``) uses it
the same way: its driver process, which reads the pending frames from the
catalog, feeds the actor pool and writes every answer back into the label
cache, holds ``project_label_lock(project)`` around the whole job; the actors
only compute and never read or write the catalog, so they need no lock of
their own. On a cluster the project directory must then be on a file system
with working ``flock`` (local disk or NFSv4), as the catalog's SQLite already
requires.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from edgedistill.errors import EdgedistillError
from edgedistill.project import Project

LOCK_NAME = "label.lock"


class ProjectBusyError(EdgedistillError):
    """Another labelling run holds the project."""


@contextmanager
def project_label_lock(project: Project, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the project's label lock; refuse in one sentence when another run holds it."""
    lock = FileLock(project.root / LOCK_NAME, timeout=wait_seconds)
    try:
        lock.acquire()
    except Timeout:
        raise ProjectBusyError(
            f"another `edgedistill label` or `pipeline` is labelling {project.root}; "
            "wait for it to finish (or stop it) and run this again"
        ) from None
    try:
        yield
    finally:
        lock.release()
