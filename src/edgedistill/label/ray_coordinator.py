"""One actor per Ray label run that every worker asks before it spends: the run's shared state.

- **Budget.** Workers ask :meth:`Coordinator.admit` before handing frames to the teacher
  and report what those frames were billed through :meth:`Coordinator.settle`. The rule
  is the single-process one (:class:`edgedistill.label.runner.Budget`): a frame starts
  only while the credits spent plus the estimate of every frame in flight, cluster-wide,
  stay within the cap. A worker whose frames do not fit waits until frames in flight
  settle; once nothing is in flight and the next frame still does not fit, the budget is
  reached for everyone.
- **Request slots.** A paid teacher's HTTP attempts each hold one of ``slots`` slots, so
  the concurrency limit holds across all workers; a slot whose holder died is taken
  back after ``lease`` seconds. :meth:`Coordinator.hold` (a 429) pauses every worker.
- **Stop.** :meth:`Coordinator.stop` (Ctrl-C, a fatal error) admits nothing more, so the
  driver can wait for the frames already in flight and cache them: paid answers are kept.
- **Environment.** The teacher's variables (the Roboflow key) reach the workers through
  method calls, which Ray neither stores nor shows, instead of the job's runtime
  environment, which its dashboard lists.

The class is plain Python; the driver makes it an actor with ``ray.remote``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

from edgedistill.label.runner import Budget

ADMIT_WAIT_SECONDS = 120.0
"""How long a worker waits for frames in flight to settle before it skips its frames (a
worker that died while holding frames never settles them)."""


@dataclass(frozen=True)
class LedgerState:
    """What the coordinator knows: the driver compares it with what it has received."""

    in_flight: int
    answered: int
    spent: float
    budget_reached: bool


class Coordinator:
    """Budget, request slots, pauses and the stop switch of one label run (an async actor)."""

    def __init__(
        self, max_credits: float | None, per_frame: float, slots: int, lease: float
    ) -> None:
        self.budget = Budget(max_credits, per_frame)
        self.in_flight = 0
        self.answered = 0
        self.budget_reached = False
        self.stopped = False
        self.slots = slots
        self.lease = lease
        self._holders: dict[int, float] = {}
        self._tokens = itertools.count()
        self._resume_at = 0.0
        self._env: dict[str, str] = {}
        self._changed = asyncio.Condition()

    # budget

    async def admit(self, frames: int) -> int:
        """How many of ``frames`` may start now (0: skip them); waits while frames in
        flight may still settle under the estimate."""
        deadline = time.monotonic() + ADMIT_WAIT_SECONDS
        async with self._changed:
            while not (self.stopped or self.budget_reached):
                fits = self._fits(frames)
                if fits or self.in_flight == 0:
                    self.budget_reached = fits == 0
                    self.in_flight += fits
                    return fits
                if not await self._wait(deadline - time.monotonic()):
                    return 0
            return 0

    def _fits(self, frames: int) -> int:
        fits = 0
        while fits < frames and self.budget.allows_another(self.in_flight + fits):
            fits += 1
        return fits

    async def settle(self, admitted: int, answered: int, credits: float) -> None:
        """``admitted`` frames are done: ``answered`` of them are on their way to the driver."""
        async with self._changed:
            self.in_flight -= admitted
            self.answered += answered
            self.budget.spent += credits
            self._changed.notify_all()

    async def stop(self) -> LedgerState:
        """Admit nothing more; returns the state to drain against."""
        async with self._changed:
            self.stopped = True
            self._changed.notify_all()
        return self.state()

    def state(self) -> LedgerState:
        return LedgerState(self.in_flight, self.answered, self.budget.spent, self.budget_reached)

    # request slots

    async def acquire(self) -> int:
        """A slot for one HTTP attempt, after any pause; returns its token."""
        async with self._changed:
            while True:
                now = time.monotonic()
                self._holders = {t: end for t, end in self._holders.items() if end > now}
                if now < self._resume_at:
                    await self._wait(self._resume_at - now)
                elif len(self._holders) < self.slots:
                    token = next(self._tokens)
                    self._holders[token] = now + self.lease
                    return token
                else:
                    await self._wait(min(self._holders.values()) - now)

    async def release(self, token: int) -> None:
        async with self._changed:
            self._holders.pop(token, None)
            self._changed.notify_all()

    def hold(self, seconds: float) -> None:
        """No slot is handed out for ``seconds`` from now."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    # environment

    def set_environment(self, env: dict[str, str]) -> None:
        self._env = dict(env)

    def environment(self) -> dict[str, str]:
        return dict(self._env)

    async def _wait(self, seconds: float) -> bool:
        """Wait for a change, at most ``seconds``; False when the time ran out."""
        if seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            return False
        return True
