"""``edgedistill label --ray``: the teacher on a pool of Ray actors, the cache on the driver.

The driver (this process) holds the project's label lock and is the only one that
touches the catalog: it reads the pending frames, hands them to Ray Data as a Dataset
(``from_items``, one block per actor call), runs the teacher in an actor pool
(``map_batches`` with :class:`~edgedistill.label.ray_worker.LabelActor`) and caches
every answer as it streams back, one transaction per frame, exactly as the
single-process path does. A kill of the driver or of a worker loses at most the frames
in flight; the next run asks only for what the cache lacks.

Pending frames go to Ray in windows of ``label.ray.window`` frames, so the driver's
memory does not grow with the footage; each window starts a fresh actor pool.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any

from edgedistill.config import RayConfig
from edgedistill.errors import EdgedistillError, UsageError
from edgedistill.label.runner import (
    Budget,
    LabelReport,
    ProgressCallback,
    label_project,
    record_answer,
)
from edgedistill.logs import native_output_silenced, verbose
from edgedistill.project import Project
from edgedistill.teachers.base import FrameInput, Teacher
from edgedistill.teachers.cache import LabelCache
from edgedistill.teachers.roboflow_api import API_KEY_VARIABLE, API_URL_VARIABLE

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information

INSTALL_RAY = (
    "labelling on Ray needs the ray extra: pip install 'edgedistill[ray]' "
    "(in a checkout: .venv/bin/pip install -e '.[ray]')"
)
FORWARDED_ENV = (API_KEY_VARIABLE, API_URL_VARIABLE)
"""Variables the teachers read, sent to each worker (a cluster's nodes lack the driver's)."""
SLOT_LEASE_MARGIN = 5.0


def label_on_ray(
    project: Project,
    teacher: Teacher,
    options: RayConfig,
    *,
    max_credits: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> LabelReport:
    """:func:`~edgedistill.label.runner.label_project` with the teacher on Ray.

    Joins ``options.address`` (or RAY_ADDRESS, or starts a local cluster) only when
    there is something to label; a Ray already initialised in this process is used as is.
    """
    require_ray()
    if teacher.propagates:
        raise UsageError(
            "label.video 'propagate' tracks each video in one process; label without --ray, "
            "or per_frame on Ray"
        )
    if options.address and options.address.startswith("ray://"):
        raise UsageError(
            "Ray Client addresses (ray://) are not supported: the driver reads the project's "
            "frames and catalog, so run it on a node of the cluster (`ray start --address "
            "HEAD:6379` on this machine, then `edgedistill label --ray auto`)"
        )
    engine = partial(_run_on_ray, options=options)
    return label_project(
        project, teacher, max_credits=max_credits, on_progress=on_progress, engine=engine
    )


def require_ray() -> None:
    """One sentence, exit 2, when the ray extra is not installed."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_RAY) from None


@dataclass(frozen=True)
class ActorPlan:
    """How many actors, what each asks of the cluster, and how frames reach them."""

    min_actors: int
    max_actors: int
    num_gpus: float
    num_cpus: float
    device: str | None
    """The device each actor's teacher uses (the GPU Ray gives it), for model teachers."""
    shared_frames: bool


def plan_actors(teacher: Teacher, options: RayConfig) -> ActorPlan:
    """Actors per GPU when the cluster has GPUs and the teacher runs a model, else per CPU."""
    import ray

    resources = ray.cluster_resources()
    runs_model = hasattr(teacher.settings, "device")
    gpus = options.gpus_per_actor
    if gpus is None:
        gpus = 1.0 if runs_model and resources.get("GPU", 0) > 0 else 0.0
    if gpus > 0:
        fit = resources.get("GPU", 0) / gpus
    else:
        fit = resources.get("CPU", 1) / options.cpus_per_actor if options.cpus_per_actor else 1
    most = options.max_actors or max(1, math.floor(fit + 1e-9))
    device = ("cuda:0" if gpus > 0 else "cpu") if runs_model else None
    return ActorPlan(
        min(options.min_actors, most),
        most,
        gpus,
        options.cpus_per_actor,
        device,
        _frames_shared(options.frames),
    )


def _frames_shared(mode: str) -> bool:
    """``auto``: shared when every node of the cluster is this machine."""
    if mode != "auto":
        return mode == "shared"
    import ray

    here = ray.get_runtime_context().get_node_id()
    return all(node["NodeID"] == here for node in ray.nodes() if node["Alive"])


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Ray for this run: the one this process already has, else joined or started here
    (and shut down at the end)."""
    import ray

    if ray.is_initialized():
        yield
        return
    _check_reachable(address)
    # Ray's C++ core prints notes about Ray Data's internals on stderr, and a line on the
    # log level as it starts: only with --verbose. They stay in Ray's log files, and
    # errors still reach us as exceptions.
    if not verbose():
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        with native_output_silenced():
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING if verbose() else logging.ERROR,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "a local cluster"
        raise EdgedistillError(f"cannot start or join Ray at {where} ({exc})") from None
    try:
        yield
    finally:
        ray.shutdown()


def _check_reachable(address: str | None, seconds: float = 5.0) -> None:
    """A ``host:port`` that nothing answers on fails in one sentence, at once (Ray itself
    would keep retrying for minutes)."""
    host, _, port = (address or "").rpartition(":")
    if not host or not port.isdigit():
        return  # none, auto, local: Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise EdgedistillError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one "
            "with `ray start --head` or check the address"
        ) from None


def _run_on_ray(  # noqa: PLR0913 — the label runner's engine signature, plus the Ray options
    teacher: Teacher,
    cache: LabelCache,
    project: Project,
    prompts: tuple[str, ...],
    budget: Budget,
    report: LabelReport,
    on_progress: ProgressCallback | None,
    *,
    options: RayConfig,
) -> None:
    with ray_session(options.address):
        _quiet_ray_data()
        plan = plan_actors(teacher, options)
        run = _RayRun(teacher, cache, budget, report, on_progress, plan, options)
        pending = cache.pending(teacher.fingerprint, prompts, project.root)
        while window := list(islice(pending, options.window)):
            run.label(window)
            if run.finished:
                break
        run.close()


def _quiet_ray_data() -> None:
    """Our own progress bar only; Ray Data's per-run INFO lines stay out of the terminal,
    and its warnings too without --verbose."""
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING if verbose() else logging.ERROR)


class _RayRun:
    """One label run on Ray: the coordinator, and the driver's side of each window."""

    def __init__(
        self,
        teacher: Teacher,
        cache: LabelCache,
        budget: Budget,
        report: LabelReport,
        on_progress: ProgressCallback | None,
        plan: ActorPlan,
        options: RayConfig,
    ) -> None:
        self.teacher, self.cache, self.budget, self.report = teacher, cache, budget, report
        self.on_progress, self.plan, self.options = on_progress, plan, options
        self.coordinator = _start_coordinator(teacher, budget)
        self.answered = 0
        self.finished = False
        self.frames: dict[str, FrameInput] = {}

    def label(self, window: list[FrameInput]) -> None:
        """Label one window of pending frames, caching answers as they stream in."""
        self.frames = {frame.id: frame for frame in window}
        batches = iter(
            self._dataset(window).iter_batches(
                batch_size=None, batch_format="pyarrow", prefetch_batches=1
            )
        )
        try:
            budget_reached = self._consume(batches)
        except BaseException as exc:
            self.finished = True
            self._drain(batches)
            raise _worded(exc) from None
        if budget_reached:
            self._drain(batches)
        self.finished = budget_reached or self._state().budget_reached

    def _consume(self, batches: Iterator[pa.Table]) -> bool:
        """Cache answers until the window ends (False) or the budget is reached (True)."""
        for table in batches:
            fatal, skipped = self._take(table)
            if fatal is not None:
                raise EdgedistillError(fatal)
            if skipped and self._state().budget_reached:
                return True
        return False

    def close(self) -> None:
        state = self._state()
        self.budget.spent = state.spent
        if state.budget_reached:
            self.report.stopped = self.budget.stop_message()

    def _dataset(self, window: list[FrameInput]) -> Any:
        import ray
        import ray.data

        from edgedistill.label.ray_worker import FrameRow, LabelActor, attach_jpegs

        size = self.options.batch_size
        rows = [FrameRow.of(frame).item() for frame in window]
        blocks = math.ceil(len(rows) / size)
        dataset: ray.data.Dataset = ray.data.from_items(rows, override_num_blocks=blocks)
        if not self.plan.shared_frames:
            here = ray.get_runtime_context().get_node_id()
            dataset = dataset.map_batches(
                attach_jpegs,
                batch_format="pyarrow",
                num_cpus=0,
                scheduling_strategy=_on_node(here),
            )
        settings = self.teacher.settings.model_dump()
        if self.plan.device is not None:
            settings["device"] = self.plan.device
        return dataset.map_batches(
            LabelActor,
            batch_size=size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(  # no more actors than blocks to give them
                min_size=min(self.plan.min_actors, blocks),
                max_size=min(self.plan.max_actors, blocks),
            ),
            num_cpus=self.plan.num_cpus,
            num_gpus=self.plan.num_gpus,
            fn_constructor_kwargs={
                "name": self.teacher.name,
                "settings": settings,
                "fingerprint": self.teacher.fingerprint,
                "coordinator": self.coordinator,
            },
        )

    def _take(self, table: pa.Table) -> tuple[str | None, int]:
        """Cache a batch of answers; returns the fatal problem a worker reported, if any,
        and how many frames were skipped (not admitted)."""
        from edgedistill.label.ray_worker import ANSWERED, SKIPPED, UNREADABLE, AnswerRow

        fatal, skipped = None, 0
        for row in table.to_pylist():
            answer = AnswerRow(**row)
            fatal = fatal or answer.fatal
            skipped += answer.status == SKIPPED
            if answer.status == UNREADABLE:
                self.report.failures.append((answer.id, answer.error or "unreadable"))
            elif answer.status == ANSWERED:
                result = answer.result(self.frames[answer.id])
                record_answer(self.cache, self.teacher.fingerprint, self.report, result)
                self.answered += 1
                if self.on_progress is not None:
                    self.on_progress(self.answered, self.report.frames_pending)
        return fatal, skipped

    def _drain(self, batches: Iterator[pa.Table]) -> None:
        """After a stop: admit nothing more, and cache what is already paid for."""
        import ray

        state = ray.get(self.coordinator.stop.remote())
        try:
            while state.in_flight > 0 or self.answered < state.answered:
                table = next(batches, None)
                if table is None:
                    return
                self._take(table)
                state = self._state()
        except Exception:  # the dataset itself failed: nothing more will come
            return

    def _state(self) -> Any:
        import ray

        return ray.get(self.coordinator.state.remote())


def _worded(exc: BaseException) -> BaseException:
    """Ray's own failures (a lost node, an actor that keeps dying) as one sentence."""
    import ray.exceptions

    if not isinstance(exc, ray.exceptions.RayError):
        return exc
    return EdgedistillError(
        f"the Ray cluster failed while labelling ({type(exc).__name__}); every answer that "
        "reached this machine is cached: run again to go on (Ray's logs are in "
        "/tmp/ray/session_latest/logs on each node)"
    )


def _start_coordinator(teacher: Teacher, budget: Budget) -> Any:
    import ray

    from edgedistill.label.ray_coordinator import Coordinator

    settings = teacher.settings
    slots = getattr(settings, "concurrency", 1)
    lease = getattr(settings, "timeout", 60.0) + SLOT_LEASE_MARGIN
    here = ray.get_runtime_context().get_node_id()
    actor: Any = (
        ray.remote(Coordinator)
        .options(num_cpus=0, scheduling_strategy=_on_node(here, soft=True))
        .remote(budget.max_credits, budget.per_frame_estimate, slots, lease)
    )
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    ray.get(actor.set_environment.remote(env))
    return actor


def _on_node(node_id: str, soft: bool = False) -> Any:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id, soft=soft)
