"""Decoding ahead of the student and encoding behind it, each on its own thread.

PyAV and libx264 release the GIL while they work, so while ONNX Runtime runs the
student the next frame is being decoded and the last HUD frame encoded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Generic, TypeVar

import av
import numpy as np

from edgedistill.errors import EdgedistillError

ItemT = TypeVar("ItemT")

ENCODER_OPTIONS = {"preset": "ultrafast", "threads": "1"}
"""libx264 on one thread at its cheapest preset: 1.4 ms of CPU per 640x360 frame against
4.7 ms for ``veryfast`` (6.1 ms with its own threads) on this project's 2-core machine, for a
file about 2.7 times as large (1.2 Mbit/s); the cores go to the student instead."""


class ReadAhead(Generic[ItemT]):
    """Items of ``source`` produced on a thread and handed over in order.

    ``depth`` bounds how far the producer runs ahead. With ``latest_wins`` the
    producer never waits: a new item replaces one not yet taken (a live camera's
    frames do not queue up behind a slow consumer), and :attr:`skipped` counts them.
    """

    def __init__(self, source: Iterator[ItemT], depth: int = 4, latest_wins: bool = False) -> None:
        self._source = source
        self._items: deque[ItemT] = deque(maxlen=1 if latest_wins else None)
        self._depth = 1 if latest_wins else depth
        self._latest_wins = latest_wins
        self._ready = threading.Condition()
        self._done = False
        self._stopped = False
        self._error: BaseException | None = None
        self.skipped = 0
        self.produce_ms: list[float] = []
        self._thread = threading.Thread(target=self._produce, name="read-ahead", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while True:
                began = time.perf_counter()
                item = next(self._source, None)
                self.produce_ms.append((time.perf_counter() - began) * 1000)
                if item is None or not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._error = exc
        finally:
            with self._ready:
                self._done = True
                self._ready.notify_all()

    def _put(self, item: ItemT) -> bool:
        with self._ready:
            while not self._latest_wins and len(self._items) >= self._depth and not self._stopped:
                self._ready.wait()
            if self._stopped:
                return False
            self.skipped += self._latest_wins and len(self._items) > 0
            self._items.append(item)
            self._ready.notify_all()
            return True

    def __iter__(self) -> Iterator[ItemT]:
        while True:
            with self._ready:
                while not self._items and not self._done:
                    self._ready.wait()
                if not self._items:
                    break
                item = self._items.popleft()
                self._ready.notify_all()
            yield item
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop producing (the producer ends at its next item)."""
        with self._ready:
            self._stopped = True
            self._items.clear()
            self._ready.notify_all()


class EncodeBehind:
    """An H.264 video written on its own thread; ``write`` waits only when ``depth`` frames
    are already queued. A failure to write is raised by the next ``write`` or ``close``."""

    def __init__(self, output: Path, fps: float, depth: int = 8) -> None:
        self.output = output
        self.fps = fps
        self._queue: deque[np.ndarray | None] = deque()
        self._depth = depth
        self._ready = threading.Condition()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def write(self, image: np.ndarray) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._encode, args=(image.shape,), name="encode", daemon=True
            )
            self._thread.start()
        self._put(image)

    def _put(self, image: np.ndarray | None) -> None:
        with self._ready:
            while len(self._queue) >= self._depth and self._error is None:
                self._ready.wait()
            self._raise()
            self._queue.append(image)
            self._ready.notify_all()

    def _next(self) -> np.ndarray | None:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            image = self._queue.popleft()
            self._ready.notify_all()
            return image

    def _encode(self, shape: tuple[int, ...]) -> None:
        try:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            with av.open(str(self.output), "w") as container:
                stream = container.add_stream(
                    "libx264", rate=round(self.fps), options=ENCODER_OPTIONS
                )
                stream.width, stream.height = shape[1] // 2 * 2, shape[0] // 2 * 2
                stream.pix_fmt = "yuv420p"
                while (image := self._next()) is not None:
                    crop = image[: stream.height, : stream.width]
                    container.mux(stream.encode(av.VideoFrame.from_ndarray(crop, format="bgr24")))
                container.mux(stream.encode())
        except BaseException as exc:  # raised on the caller's thread
            with self._ready:
                self._error = exc
                self._queue.clear()
                self._ready.notify_all()

    def close(self) -> None:
        """Encode what is queued, finish the file and wait for it."""
        if self._thread is None:
            return
        if self._error is None:
            self._put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise EdgedistillError(
                f"{self.output}: cannot write the HUD video ({type(error).__name__}: {error})"
            ) from None
