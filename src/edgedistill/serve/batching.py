"""Frames that wait for the model together go through it together.

The server's request threads share one model. A frame that arrives while the model is
busy waits in a queue; whichever waiting thread gets the model next runs every frame
then waiting (up to ``max_batch``, oldest first) as one batch and hands each thread its
row. Nothing waits for a batch to fill: a lone stream is never delayed, and batches form
only when frames would have queued anyway. With ``max_batch`` 1 this is a fair lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ran:
    """One frame's output, and the model call that made it."""

    output: np.ndarray
    model_ms: float
    """The whole batch's milliseconds in the model."""
    batch: int
    """Frames in that batch."""


@dataclass
class _Waiting:
    tensor: np.ndarray
    ran: Ran | None = None
    error: Exception | None = None


class BatchingModel:
    """``infer`` (a batch of input tensors in, one output row per tensor out) behind a queue."""

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.max_batch = max_batch
        self._infer = infer
        self._model = threading.Lock()
        self._queue_lock = threading.Lock()
        self._waiting: deque[_Waiting] = deque()

    @property
    def waiting(self) -> int:
        """Frames queued for the model now, the one running excluded."""
        with self._queue_lock:
            return len(self._waiting)

    def run(self, tensor: np.ndarray) -> Ran:
        """``tensor`` ([1, C, H, W]) through the model, alone or with the frames waiting
        beside it. The tensor is copied into the batch before this returns."""
        mine = _Waiting(tensor)
        with self._queue_lock:
            self._waiting.append(mine)
        while True:
            if mine.error is not None:
                raise mine.error
            if mine.ran is not None:
                return mine.ran
            with self._model:
                if mine.ran is None and mine.error is None:  # else another thread ran it
                    self._run_waiting()

    def _run_waiting(self) -> None:
        with self._queue_lock:
            count = min(self.max_batch, len(self._waiting))
            batch = [self._waiting.popleft() for _ in range(count)]
        start = time.perf_counter()
        try:
            tensors = [waiting.tensor for waiting in batch]
            outputs = self._infer(tensors[0] if count == 1 else np.concatenate(tensors))
        except Exception as exc:  # every frame of the batch gets the model's error
            for waiting in batch:
                waiting.error = exc
            return
        model_ms = (time.perf_counter() - start) * 1000
        for waiting, output in zip(batch, outputs, strict=True):
            waiting.ran = Ran(output, model_ms, count)
