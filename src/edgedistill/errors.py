"""Errors a user can cause and fix: the CLI prints their message as one sentence, no traceback."""


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
