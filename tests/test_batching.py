"""Frames that wait for the model together run as one batch of a real dynamic-batch export
(COCO YOLO11n on dashcam frames), each thread gets its own frame's output, and a lone
frame never waits for company."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from edgedistill.runtime import OnnxStudent, open_runtime
from edgedistill.serve.batching import BatchingModel, Ran
from tests.conftest import coco_yolo11n_onnx
from tests.test_runtime import CLIP, clip_frames


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> OnnxStudent:
    if not CLIP.is_file():
        pytest.skip("../shared/assets is not present")
    runtime = open_runtime(coco_yolo11n_onnx(tmp_path_factory.mktemp("dynamic"), dynamic=True))
    assert isinstance(runtime, OnnxStudent)
    return runtime


class HeldModel:
    """The student's ``infer``, held at its first call until the test lets it go, so that
    the next frames queue behind it; it records the batch sizes it ran."""

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray]) -> None:
        self._infer = infer
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if not self.batches:
            self.entered.set()
            assert self.release.wait(30)
        self.batches.append(len(batch))
        return self._infer(batch)


def tensors(student: OnnxStudent, count: int) -> list[np.ndarray]:
    """Input tensors of ``count`` different dashcam frames."""
    return [student.preprocess(frame)[0].copy() for frame in clip_frames(every=40)[:count]]


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def run_in_threads(model: BatchingModel, inputs: list[np.ndarray], held: HeldModel) -> list[Ran]:
    """The first frame enters the model and is held there; the others queue one by one in
    order; then the model is let go."""
    results: list[Ran | Exception] = [RuntimeError("not run")] * len(inputs)

    def run(index: int) -> None:
        try:
            results[index] = model.run(inputs[index])
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    threads[0].start()
    assert held.entered.wait(30)
    for queued, thread in enumerate(threads[1:], start=1):
        thread.start()
        until(lambda queued=queued: model.waiting == queued)
    held.release.set()
    for thread in threads:
        thread.join(30)
    return results  # type: ignore[return-value]


def test_frames_that_wait_together_run_as_one_batch(student) -> None:
    held = HeldModel(student.infer)
    model = BatchingModel([held], max_batch=3)
    inputs = tensors(student, 5)
    results = run_in_threads(model, inputs, held)
    assert held.batches == [1, 3, 1]  # the first alone; the waiting ones, oldest first
    assert [ran.batch for ran in results] == [1, 3, 3, 3, 1]
    for tensor, ran in zip(inputs, results, strict=True):
        np.testing.assert_allclose(ran.output, student.infer(tensor)[0], atol=1e-4)
    scores = [ran.output[4:].max() for ran in results]
    assert len({round(float(score), 3) for score in scores}) == 5  # each got its own frame's row
    assert results[1].model_ms == results[2].model_ms == results[3].model_ms > 0


def test_a_lone_frame_runs_at_once_and_max_batch_one_never_batches(student) -> None:
    (tensor,) = tensors(student, 1)
    ran = BatchingModel([student.infer], max_batch=8).run(tensor)
    assert ran.batch == 1
    held = HeldModel(student.infer)
    results = run_in_threads(BatchingModel([held], max_batch=1), tensors(student, 3), held)
    assert held.batches == [1, 1, 1] and all(ran.batch == 1 for ran in results)


def test_a_model_error_reaches_every_frame_of_its_batch(student) -> None:
    class Failing(HeldModel):
        def __call__(self, batch: np.ndarray) -> np.ndarray:
            if len(batch) == 2:
                raise RuntimeError("the model failed")
            return super().__call__(batch)

    held = Failing(student.infer)
    model = BatchingModel([held], max_batch=2)
    results = run_in_threads(model, tensors(student, 3), held)
    assert isinstance(results[0], Ran)
    assert [str(error) for error in results[1:]] == ["the model failed"] * 2
    assert model.run(tensors(student, 1)[0]).batch == 1  # and it goes on serving
    with pytest.raises(ValueError, match="at least 1"):
        BatchingModel([student.infer], max_batch=0)


def test_copies_of_the_model_run_side_by_side(student) -> None:
    held = HeldModel(student.infer)
    model = BatchingModel([held, student.infer], max_batch=4)
    first = threading.Thread(target=model.run, args=(tensors(student, 1)[0],))
    first.start()
    assert held.entered.wait(30)
    ran = model.run(tensors(student, 2)[1])  # the free copy runs it while the other is held
    assert ran.batch == 1 and first.is_alive()
    held.release.set()
    first.join(30)
    assert held.batches == [1] and model.workers == 2
