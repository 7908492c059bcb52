"""Frames that wait for the model together go through it together.

The server's request threads share one or more copies of the model (``workers``). A frame
that arrives while every copy is busy waits in a queue; when a copy frees, a thread whose
frame is among the oldest ``max_batch`` waiting runs them all as one batch and hands each
thread its row. Nothing waits for a batch to fill: a lone stream is never delayed, and
batches form only when frames would have queued anyway. With one copy and ``max_batch`` 1
this is a fair lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

Infer = Callable[[np.ndarray], np.ndarray]
"""A batch of input tensors in, one output row per tensor out."""


@dataclass(frozen=True)
class Ran:
    """One frame's output, and the model call that made it."""

    output: np.ndarray
    model_ms: float
    """The whole batch's milliseconds in the model."""
    batch: int
    """Frames in that batch."""


@dataclass(eq=False)
class _Waiting:
    tensor: np.ndarray
    taken: bool = False
    """A thread has taken this frame into its batch."""
    done: threading.Event = field(default_factory=threading.Event)
    ran: Ran | None = None
    error: Exception | None = None


class BatchingModel:
    """Copies of a model (each an ``Infer``; one per worker) behind one queue of frames."""

    def __init__(self, workers: Sequence[Infer], max_batch: int) -> None:
        if max_batch < 1 or not workers:
            raise ValueError("max_batch and the workers must be at least 1")
        self.max_batch = max_batch
        self.workers = len(workers)
        self._free = deque(workers)
        self._changed = threading.Condition()
        """Notified when a copy frees or frames are taken into a batch."""
        self._waiting: deque[_Waiting] = deque()

    @property
    def waiting(self) -> int:
        """Frames queued for the model now, those running excluded."""
        with self._changed:
            return len(self._waiting)

    def run(self, tensor: np.ndarray) -> Ran:
        """``tensor`` ([1, C, H, W]) through the model, alone or with the frames waiting
        beside it. The tensor is copied into the batch before this returns."""
        mine = _Waiting(tensor)
        with self._changed:
            self._waiting.append(mine)
        if batch := self._take(mine):  # this thread runs the batch that holds its frame
            self._run(*batch)
        mine.done.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.ran is not None
        return mine.ran

    def _take(self, mine: _Waiting) -> tuple[Infer, list[_Waiting]] | None:
        """A free copy and the oldest waiting frames, ``mine`` among them, once there are;
        None once another thread has taken ``mine`` into its batch. The oldest frame's
        thread can always take, so every copy that frees is put to work."""
        with self._changed:
            self._changed.wait_for(lambda: mine.taken or (bool(self._free) and self._next(mine)))
            if mine.taken:
                return None
            count = min(self.max_batch, len(self._waiting))
            frames = [self._waiting.popleft() for _ in range(count)]
            for waiting in frames:
                waiting.taken = True
            self._changed.notify_all()
            return self._free.popleft(), frames

    def _next(self, mine: _Waiting) -> bool:
        """Whether ``mine`` is among the frames the next batch takes."""
        return any(waiting is mine for waiting in islice(self._waiting, self.max_batch))

    def _run(self, infer: Infer, frames: list[_Waiting]) -> None:
        start = time.perf_counter()
        try:
            tensors = [waiting.tensor for waiting in frames]
            outputs = infer(tensors[0] if len(frames) == 1 else np.concatenate(tensors))
            model_ms = (time.perf_counter() - start) * 1000
            for waiting, output in zip(frames, outputs, strict=True):
                waiting.ran = Ran(output, model_ms, len(frames))
        except Exception as exc:  # every frame of the batch gets the model's error
            for waiting in frames:
                waiting.error = exc
        finally:
            for waiting in frames:
                waiting.done.set()
            with self._changed:
                self._free.append(infer)
                self._changed.notify_all()
