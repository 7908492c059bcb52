"""Where a paid teacher's requests wait their turn: one process, or a whole cluster.

:class:`CallGate` does nothing: in one process the teacher's own thread pool bounds the
requests in flight and each retry sleeps on its own. Labelling on Ray swaps in a gate
backed by one actor for the whole cluster (:mod:`edgedistill.label.ray_coordinator`),
so that the concurrency limit holds across workers and a 429 pauses all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CallGate:
    """Admits one HTTP attempt at a time through :meth:`slot`; :meth:`hold` pauses all."""

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a request slot for the duration of one attempt."""
        yield

    def hold(self, seconds: float) -> None:
        """No attempt by anyone sharing this gate starts within ``seconds`` from now."""
