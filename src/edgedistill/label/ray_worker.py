"""The Ray side of labelling: the actor class that runs the teacher, and the rows it trades.

Each actor builds the teacher once, from the same validated settings as the driver's,
and refuses to label when its fingerprint differs (other weights at that path on this
node). It never touches the catalog: frames come in as rows (with their JPEG bytes when
the cluster does not share the project's file system), answers go out as rows, and the
driver caches them. Frames are admitted by the run's :class:`Coordinator` before the
teacher sees them, so budget and stop hold across the cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information
import ray

from edgedistill.errors import EdgedistillError
from edgedistill.label.runner import unreadable
from edgedistill.teachers.base import FrameInput, RawDetection, TeacherResult, teacher_class
from edgedistill.teachers.gate import CallGate

ANSWERED, UNREADABLE, SKIPPED = "answered", "unreadable", "skipped"


@dataclass(frozen=True)
class FrameRow:
    """A pending frame as a Ray Dataset row; ``jpeg`` set when frames travel by object store."""

    id: str
    path: str
    width: int
    height: int
    source_path: str
    prompts: str
    """JSON list of the prompts still missing."""
    source_id: int | None = None
    frame_index: int | None = None
    timestamp: float | None = None
    jpeg: bytes | None = None
    problem: str | None = None
    """Why the frame cannot be sent (found where the file was read)."""

    @classmethod
    def of(cls, frame: FrameInput) -> FrameRow:
        return cls(
            frame.id,
            str(frame.path),
            frame.width,
            frame.height,
            frame.source_path,
            json.dumps(frame.prompts),
            frame.source_id,
            frame.frame_index,
            frame.timestamp,
        )

    def item(self) -> dict[str, Any]:
        """The row as Ray Data's ``from_items`` takes it; bytes are attached later."""
        return {k: v for k, v in asdict(self).items() if k not in ("jpeg", "problem")}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FrameRow:
        fields = cls.__dataclass_fields__
        return cls(**{key: value for key, value in row.items() if key in fields})

    def frame(self, path: Path | None = None) -> FrameInput:
        return FrameInput(
            self.id,
            path or Path(self.path),
            self.width,
            self.height,
            self.source_path,
            tuple(json.loads(self.prompts)),
            self.source_id,
            self.frame_index,
            self.timestamp,
        )


@dataclass(frozen=True)
class AnswerRow:
    """One frame's outcome, back to the driver: answered (maybe with an error), unreadable
    (never sent), or skipped (not admitted: budget reached or run stopped)."""

    id: str
    status: str
    prompts: str = "[]"
    detections: str = "[]"
    calls: int = 0
    credits: float = 0.0
    error: str | None = None
    fatal: str | None = None
    """A problem that stops the whole run (bad key, wrong weights), on the batch's first row."""

    @classmethod
    def of(cls, result: TeacherResult) -> AnswerRow:
        return cls(
            result.frame.id,
            ANSWERED,
            json.dumps(result.prompts),
            json.dumps([d.to_json() for d in result.detections]),
            result.calls,
            result.credits,
            result.error,
        )

    def result(self, frame: FrameInput) -> TeacherResult:
        detections = [RawDetection.from_json(d) for d in json.loads(self.detections)]
        prompts = tuple(json.loads(self.prompts))
        return TeacherResult(frame, prompts, detections, self.credits, self.calls, self.error)


ANSWER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("status", pa.string()),
        ("prompts", pa.string()),
        ("detections", pa.string()),
        ("calls", pa.int64()),
        ("credits", pa.float64()),
        ("error", pa.string()),
        ("fatal", pa.string()),
    ]
)


def answers_table(answers: list[AnswerRow]) -> pa.Table:
    return pa.Table.from_pylist([asdict(a) for a in answers], schema=ANSWER_SCHEMA)


def attach_jpegs(batch: pa.Table) -> pa.Table:
    """Read each frame's JPEG where the project is (the driver's node), for the object store."""
    rows = [FrameRow.from_row(row) for row in batch.to_pylist()]
    jpegs: list[bytes | None] = []
    problems: list[str | None] = []
    for row in rows:
        problem = unreadable(row.frame())
        problems.append(problem)
        jpegs.append(None if problem else Path(row.path).read_bytes())
    batch = batch.append_column("jpeg", pa.array(jpegs, pa.binary()))
    return batch.append_column("problem", pa.array(problems, pa.string()))


class RayGate(CallGate):
    """Request slots and pauses shared by every worker, held by the run's coordinator."""

    def __init__(self, coordinator: Any) -> None:
        self.coordinator = coordinator

    @contextmanager
    def slot(self) -> Iterator[None]:
        token = ray.get(self.coordinator.acquire.remote())
        try:
            yield
        finally:
            self.coordinator.release.remote(token)

    def hold(self, seconds: float) -> None:
        self.coordinator.hold.remote(seconds)


class LabelActor:
    """Ray Data callable class: ``map_batches(LabelActor, compute=ActorPoolStrategy(...))``."""

    def __init__(
        self, name: str, settings: dict[str, Any], fingerprint: str, coordinator: Any
    ) -> None:
        self.coordinator = coordinator
        os.environ.update(ray.get(coordinator.environment.remote()))
        self.scratch = Path(tempfile.mkdtemp(prefix="edgedistill-frames-"))
        self.problem: str | None = None
        try:
            self.teacher = _build(name, settings, fingerprint, coordinator)
        except EdgedistillError as exc:
            self.problem = str(exc)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = [FrameRow.from_row(row) for row in batch.to_pylist()]
        if self.problem is not None:
            skipped = [AnswerRow(row.id, SKIPPED) for row in rows]
            return answers_table(_with_fatal(skipped, self.problem))
        answers: list[AnswerRow] = []
        ready: list[FrameInput] = []
        for row in rows:
            frame = self._materialise(row)
            problem = row.problem or (unreadable(frame) if row.jpeg is None else None)
            if problem is None:
                ready.append(frame)
            else:
                answers.append(AnswerRow(row.id, UNREADABLE, error=problem))
        try:
            labelled, fatal = self._label(ready)
        finally:
            for frame in ready:
                if frame.path.parent == self.scratch:
                    frame.path.unlink(missing_ok=True)
        done = {answer.id for answer in labelled}
        answers += labelled + [AnswerRow(f.id, SKIPPED) for f in ready if f.id not in done]
        return answers_table(_with_fatal(answers, fatal))

    def _materialise(self, row: FrameRow) -> FrameInput:
        """The frame at a path this process can read: the project's, or a scratch copy."""
        if row.jpeg is None:
            return row.frame()
        path = self.scratch / Path(row.path).name
        path.write_bytes(row.jpeg)
        return row.frame(path)

    def _label(self, frames: list[FrameInput]) -> tuple[list[AnswerRow], str | None]:
        """Answers for the frames the coordinator admits, and a fatal problem if one
        stopped the teacher (the answers it gave before are kept)."""
        answers: list[AnswerRow] = []
        remaining = frames
        while remaining:
            admitted = ray.get(self.coordinator.admit.remote(len(remaining)))
            if admitted == 0:
                break
            batch, remaining = remaining[:admitted], remaining[admitted:]
            results: list[TeacherResult] = []
            try:
                results.extend(self.teacher.predict(iter(batch)))
            except EdgedistillError as exc:
                return answers + [AnswerRow.of(r) for r in results], str(exc)
            finally:
                credits = sum(result.credits for result in results)
                self.coordinator.settle.remote(admitted, len(results), credits)
            answers += [AnswerRow.of(result) for result in results]
        return answers, None

    def __del__(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _build(name: str, settings: dict[str, Any], fingerprint: str, coordinator: Any) -> Any:
    cls = teacher_class(name)
    teacher = cls(cls.Settings.model_validate(settings))
    if teacher.fingerprint != fingerprint:
        raise EdgedistillError(
            f"the {name} teacher on Ray node {ray.get_runtime_context().get_node_id()[:12]} "
            f"is not the driver's ({teacher.fingerprint} vs {fingerprint}); every node needs "
            "the same weights at the same path and the same edgedistill version"
        )
    from edgedistill.teachers.roboflow_api import RoboflowTeacher

    if isinstance(teacher, RoboflowTeacher):
        teacher.client.gate = RayGate(coordinator)
    return teacher


def _with_fatal(answers: list[AnswerRow], fatal: str | None) -> list[AnswerRow]:
    if fatal is None or not answers:
        return answers
    first = answers[0]
    return [AnswerRow(**{**asdict(first), "fatal": fatal}), *answers[1:]]
