"""Errors a user can cause and fix: the CLI prints their message as one sentence, no traceback."""

import errno
import sqlite3

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


NO_FRAMES = "the project has no frames yet; run `edgedistill ingest VIDEO_OR_FOLDER` first"


class EdgedistillError(Exception):
    """A problem with the user's input or environment, worded for the user."""

    exit_code = 1


class UsageError(EdgedistillError):
    """A command-line value that cannot work, caught before anything runs."""

    exit_code = 2


class ConfigError(EdgedistillError):
    """The project config is missing, unreadable or invalid."""

    exit_code = 2


class ProjectNotFoundError(EdgedistillError):
    """No edgedistill project at the given directory or any of its parents."""

    exit_code = 2


class Interrupted(EdgedistillError):
    """Ctrl-C during a long stage; whatever finished is already saved."""

    exit_code = 130

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "interrupted; everything finished so far is kept: run the command again"
        )


def environment_problem(exc: BaseException) -> str | None:
    """One sentence for failures of the machine rather than of edgedistill (a full disk)."""
    full = disk_full(exc)
    if full is None:
        return None
    return f"{full}; free some space and run the command again (everything finished so far is kept)"


def disk_full(exc: BaseException) -> str | None:
    """``the disk is full writing FILE`` when ``exc`` is a full disk, else None."""
    full = (isinstance(exc, OSError) and exc.errno in _DISK_FULL) or (
        isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)
    )
    if not full:
        return None
    filename = getattr(exc, "filename", None)
    return "the disk is full" + (f" writing {filename}" if filename else "")
