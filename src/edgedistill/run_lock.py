"""Which training runs are alive: a training process holds its run's lock.

While a process trains a run it holds ``runs/train/<id>/train.lock``, an exclusive OS file
lock (``flock`` through ``filelock``) that the operating system releases however the
process ends, ``kill -9`` and an out-of-memory kill included; the catalog records that it
does (``train_runs.holds_lock``). A run the catalog calls running whose lock is free was
killed: :func:`settle_killed_runs` records it failed, so that no run stays "running" for
ever. A run started by an earlier version, which took no lock, is left as it is: its
process may still be training. Light on purpose: ``status`` imports it, and ``filelock``
loads only when a run is found running.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgedistill.catalog import Catalog, now
from edgedistill.errors import EdgedistillError

log = logging.getLogger(__name__)

LOCK_NAME = "train.lock"
WITHOUT_LOCK = "started by an earlier version of edgedistill, which took no lock"
"""Why whether a run still trains cannot be told."""
KILLED = (
    "killed: its process ended without recording how (killed, out of memory, or the "
    "machine stopped)"
)
"""The error recorded on a run whose process is gone."""


@contextmanager
def owning(directory: Path) -> Iterator[None]:
    """Hold the lock of the run in ``directory`` (made if missing) while this process
    trains it; one sentence when another process holds it."""
    from filelock import FileLock, Timeout

    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(directory / LOCK_NAME, timeout=5)
    try:
        lock.acquire()
    except Timeout:
        raise EdgedistillError(
            f"run {directory.name} is being trained by another process; wait for it to "
            "finish, or stop it and run this again"
        ) from None
    try:
        yield
    finally:
        lock.release()


def settle_killed_runs(catalog: Catalog) -> list[str]:
    """Record as failed (:data:`KILLED`) each run the catalog calls running whose process
    held its lock and is gone, with a warning; the ids of those runs. Whatever lists or
    resumes runs calls it first."""
    rows = catalog.execute(
        "SELECT id, directory FROM train_runs WHERE status = 'running' AND holds_lock = 1"
    )
    killed = [
        run_id for run_id, folder in rows.fetchall() if _settle(catalog, run_id, Path(folder))
    ]
    for run_id in killed:
        log.warning(
            "training run %s was %s; it is recorded as failed, and `edgedistill train "
            "--resume` goes on from its last finished epoch",
            run_id, KILLED,
        )  # fmt: skip
    return killed


def running_without_lock(catalog: Catalog) -> list[str]:
    """The runs the catalog calls running that an earlier version started
    (:data:`WITHOUT_LOCK`): whether they still train cannot be told."""
    rows = catalog.execute(
        "SELECT id FROM train_runs WHERE status = 'running' AND holds_lock = 0 ORDER BY id"
    )
    return [run_id for (run_id,) in rows.fetchall()]


def _settle(catalog: Catalog, run_id: str, directory: Path) -> bool:
    """Mark the run failed when no process holds its lock; the update happens under the
    lock, so a process resuming the run at that moment waits instead of being overwritten."""
    mark = (
        "UPDATE train_runs SET status = 'failed', error = ?, finished_at = ? "
        "WHERE id = ? AND status = 'running'"
    )
    if not directory.is_dir():  # its folder is gone: nothing can be training it
        return catalog.execute(mark, (KILLED, now(), run_id)).rowcount > 0
    from filelock import FileLock, Timeout

    lock = FileLock(directory / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return False  # alive
    try:
        return catalog.execute(mark, (KILLED, now(), run_id)).rowcount > 0
    finally:
        lock.release()
