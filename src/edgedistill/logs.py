"""What the command line prints besides results: each warning once, ``--quiet``, and
Ultralytics' and Ray's own chatter only with ``--verbose``."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

ULTRALYTICS_LOGGER = "ultralytics"
RAY_MODULES = r"ray(\.|$)"
_verbose = False


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


def configure_logging(quiet: bool = False, verbose: bool = False) -> None:
    """``warning: …`` lines on stderr, each once; only errors with ``quiet``. Ultralytics'
    own output (model summaries, per-layer and per-epoch lines, progress bars, its
    warnings) and Ray's warnings only with ``verbose``; their errors always."""
    global _verbose
    _verbose = verbose and not quiet
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler()
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.addFilter(_Once())
    root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    # Read when Ultralytics is first imported; the level, once it is (its progress bars
    # show only at INFO).
    os.environ["YOLO_VERBOSE"] = "true" if _verbose else "false"
    logging.getLogger(ULTRALYTICS_LOGGER).setLevel(logging.INFO if _verbose else logging.ERROR)
    warnings.filterwarnings("default" if _verbose else "ignore", module=RAY_MODULES)


def verbose() -> bool:
    """Whether ``--verbose`` asked for the libraries' own output."""
    return _verbose


@contextmanager
def native_output_silenced() -> Iterator[None]:
    """Without ``--verbose``, what native code writes straight to stderr (file descriptor
    2, below Python) is dropped for a moment; its errors still reach us as exceptions."""
    if _verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
