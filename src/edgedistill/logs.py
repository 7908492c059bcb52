"""What the command line prints besides results: each warning once, ``--quiet``, and
Ultralytics' own chatter kept out of the way where it would mislead."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

ULTRALYTICS_LOGGER = "ultralytics"


class _Once(logging.Filter):
    """Lets each distinct message through once per process."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


class _Handler(logging.StreamHandler):
    """The CLI's own handler, recognised so that a second configure() replaces it."""


def configure_logging(quiet: bool = False) -> None:
    """``warning: …`` lines on stderr, each once; only errors with ``quiet``."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler()
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.addFilter(_Once())
    root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    if quiet:
        os.environ["YOLO_VERBOSE"] = "false"  # read when Ultralytics is first imported
        logging.getLogger(ULTRALYTICS_LOGGER).setLevel(logging.ERROR)


@contextmanager
def ultralytics_silenced() -> Iterator[None]:
    """Ultralytics' info lines off for a moment (its exporter prints paths that we move)."""
    logger = logging.getLogger(ULTRALYTICS_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
