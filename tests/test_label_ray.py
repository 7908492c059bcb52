"""Labelling on a local Ray cluster: same cache as one process, budget and limits across
workers, kill -9 of the driver or a worker resumes without paying twice."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgedistill.label import label_project
from edgedistill.label.ray_runner import label_on_ray
from edgedistill.project import Project
from edgedistill.teachers import build_teacher
from tests.fake_roboflow import Failure, FakeRoboflow
from tests.label_helpers import FAST_RETRIES, SMALL_ONTOLOGY, edit_config, project_with_frames
from tests.tiny_sam3 import save_tiny_sam3

KEY = "ray-test-key-0123456789"
ULTRALYTICS = {"weights": "yolo11n.yaml", "imgsz": 64, "score_floor": 0.0, "device": "cpu"}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A 2-CPU Ray cluster in this process for the whole session; yields its address."""
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        object_store_memory=200 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingRoboflow]:
    with CountingRoboflow(key=KEY) as fake:
        monkeypatch.setenv("ROBOFLOW_API_KEY", KEY)
        monkeypatch.setenv("ROBOFLOW_API_URL", fake.url)
        yield fake


class CountingRoboflow(FakeRoboflow):
    """The stand-in, also counting requests served at once and when each arrived."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.active = self.peak = 0
        self.arrivals: list[float] = []
        self.limited_at: float | None = None

    def next_failure(self) -> Failure | None:
        failure = super().next_failure()
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.arrivals.append(time.monotonic())
            if failure is not None and failure.status == 429:
                self.limited_at = time.monotonic()
                self.active -= 1
        return failure

    def answered(self, image_hash: str) -> None:
        super().answered(image_hash)
        with self._lock:
            self.active -= 1


def ray_options(project: Project, **changes: object):
    return project.config.label.ray.model_copy(update=changes)


def cache_rows(project: Project) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(project.catalog_path) as db:
        return db.execute(
            "SELECT fingerprint, frame_id, prompt, detections FROM label_cache ORDER BY 1, 2, 3"
        ).fetchall()


def twin_projects(root: Path, frames: int, teachers: dict, ontology=None) -> tuple[Project, ...]:
    """Two projects with the same frames and settings: one for each path."""
    projects = []
    for name in ("single", "ray"):
        project = project_with_frames(root / name, frames, ontology)
        project = edit_config(project, teachers=teachers)
        projects.append(project)
    return tuple(projects)


def test_ultralytics_on_ray_caches_what_one_process_caches(ray_cluster, tmp_path) -> None:
    single, on_ray = twin_projects(tmp_path, 12, {"ultralytics": ULTRALYTICS})
    expected = label_project(single, build_teacher(single.config, "ultralytics", {}))
    teacher = build_teacher(on_ray.config, "ultralytics", {})
    seen: list[int] = []
    report = label_on_ray(
        on_ray,
        teacher,
        ray_options(on_ray, batch_size=3, min_actors=2, max_actors=2, frames="shared"),
        on_progress=lambda done, _: seen.append(done),
    )
    assert (report.frames_labelled, report.failures, report.calls) == (12, [], 12)
    assert report.fingerprint == expected.fingerprint
    assert cache_rows(on_ray) == cache_rows(single) and len(cache_rows(single)) == 12
    assert any(row[3] != "[]" for row in cache_rows(single))  # boxes and masks to compare
    assert seen == list(range(1, 13))
    again = label_on_ray(on_ray, teacher, ray_options(on_ray))
    assert (again.frames_pending, again.frames_labelled) == (0, 0)


def test_tiny_sam3_through_the_object_store(ray_cluster, tmp_path) -> None:
    weights = save_tiny_sam3(tmp_path / "tiny-sam3")
    settings = {"sam3": {"weights": str(weights), "device": "cpu", "batch_size": 2}}
    single, on_ray = twin_projects(tmp_path, 6, settings, SMALL_ONTOLOGY)
    label_project(single, build_teacher(single.config, "sam3", {}))
    (on_ray.root / _frame_paths(on_ray)[0]).unlink()  # one frame file lost
    teacher = build_teacher(on_ray.config, "sam3", {})
    options = ray_options(on_ray, batch_size=2, frames="object_store")
    report = label_on_ray(on_ray, teacher, options)
    assert report.frames_labelled == 5 and len(report.failures) == 1
    assert "is missing" in report.failures[0][1]
    lost = report.failures[0][0]
    assert cache_rows(on_ray) == [row for row in cache_rows(single) if row[1] != lost]
    assert len(cache_rows(on_ray)) == 5 * 4
    assert any(row[3] != "[]" for row in cache_rows(on_ray))


def _frame_paths(project: Project) -> list[str]:
    with sqlite3.connect(project.catalog_path) as db:
        return [row[0] for row in db.execute("SELECT path FROM frames ORDER BY id")]


def test_budget_holds_across_workers(ray_cluster, server, tmp_path) -> None:
    project = project_with_frames(tmp_path, 12, SMALL_ONTOLOGY)
    # Estimated at what the stand-in bills (0.2 s a call): the cap buys exactly 5 frames.
    project = edit_config(
        project, teachers={"roboflow-sam3": {**FAST_RETRIES, "seconds_per_call": 0.2}}
    )
    per_frame = 0.2 / 500
    options = ray_options(project, batch_size=2, min_actors=2, max_actors=2, window=6)
    teacher = build_teacher(project.config, "roboflow-sam3", {})
    report = label_on_ray(project, teacher, options, max_credits=5 * per_frame)
    assert report.frames_labelled == 5 and report.stopped and "budget" in report.stopped
    assert server.requests == 5 and report.credits == pytest.approx(5 * per_frame)
    rest = label_on_ray(project, teacher, options)  # in two windows of 6 and 1 frames
    assert rest.frames_labelled == 7 and rest.stopped is None
    assert len(server.calls) == 12 and set(server.calls.values()) == {1}


def test_one_concurrency_limit_and_one_pause_for_all_workers(ray_cluster, server, tmp_path):
    project = project_with_frames(tmp_path, 16, SMALL_ONTOLOGY)
    settings = {**FAST_RETRIES, "max_backoff": 2.0, "concurrency": 1}
    project = edit_config(project, teachers={"roboflow-sam3": settings})
    server.delay = 0.1
    server.plan = [Failure(status=429, retry_after=1.0)]
    teacher = build_teacher(project.config, "roboflow-sam3", {})
    options = ray_options(project, batch_size=2, min_actors=2, max_actors=2)
    report = label_on_ray(project, teacher, options)
    assert (report.frames_labelled, report.failures) == (16, [])
    assert server.peak == 1  # two actors, one request at a time between them
    assert server.limited_at is not None
    after = [t for t in server.arrivals if t > server.limited_at]
    assert after and min(after) - server.limited_at >= 0.9  # everyone waited out the 429


def test_a_bad_key_on_the_workers_stops_with_one_sentence(
    ray_cluster, server, tmp_path, cli, monkeypatch
) -> None:
    project = project_with_frames(tmp_path, 4, SMALL_ONTOLOGY)
    monkeypatch.setenv("ROBOFLOW_API_KEY", "wrong-key-0123456789")
    result = cli("label", "--ray", ray_cluster, "-p", str(project.root))
    assert result.code == 1 and "refused the API key" in result.err
    assert "Traceback" not in result.err and "wrong-key" not in result.err + result.out
    assert cache_rows(project) == []


def test_without_ray_the_flag_says_how_to_install_it(cli, project, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    result = cli("label", "--ray", "-p", str(project.root))
    assert result.code == 2
    assert "pip install 'edgedistill[ray]'" in " ".join(result.err.split())
    assert cli("label", "somewhere:6379", "-p", str(project.root)).code == 2
    result = cli("label", "--ray", "--device", "cpu", "-p", str(project.root))
    assert result.code == 2 and "GPU Ray gives it" in " ".join(result.err.split())


def cached_frames(project: Project) -> int:
    with sqlite3.connect(f"file:{project.catalog_path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COUNT(DISTINCT frame_id) FROM label_cache").fetchone()[0]


def label_process(project: Project, address: str, url: str) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("edgedistill")
    env = {**os.environ, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    return subprocess.Popen(
        [str(script), "label", "--ray", address, "-p", str(project.root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


FRAMES, BATCH, ACTORS = 24, 2, 2


def test_kill_9_of_the_driver_resumes_and_pays_only_for_frames_in_flight(ray_cluster, tmp_path):
    project = project_with_frames(tmp_path, FRAMES, SMALL_ONTOLOGY)
    project = edit_config(
        project,
        teachers={"roboflow-sam3": {"backoff": 0.01, "concurrency": 2}},
        label={"ray": {"batch_size": BATCH, "max_actors": ACTORS}},
    )
    with CountingRoboflow(key=KEY, delay=0.15) as server:
        first = label_process(project, ray_cluster, server.url)
        deadline = time.monotonic() + 120
        while cached_frames(project) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        done_at_kill = cached_frames(project)
        assert 6 <= done_at_kill < FRAMES

        second = label_process(project, ray_cluster, server.url)
        out, err = second.communicate(timeout=180)
        assert second.returncode == 0, err
        assert cached_frames(project) == FRAMES
        paid_twice = [frame for frame, calls in server.calls.items() if calls > 1]
        assert len(server.calls) == FRAMES
        # In flight at the kill: each actor's admitted batch, and answers not yet cached.
        assert len(paid_twice) <= 2 * BATCH * ACTORS
        assert max(server.calls.values()) <= 2

        requests = server.requests
        third = label_process(project, ray_cluster, server.url)
        out, _ = third.communicate(timeout=120)
        assert third.returncode == 0 and "Nothing to label" in out
        assert server.requests == requests


def test_kill_9_of_a_worker_is_retried_and_the_cache_is_complete(ray_cluster, tmp_path):
    psutil = pytest.importorskip("psutil")
    single, on_ray = twin_projects(tmp_path, 40, {"ultralytics": ULTRALYTICS})
    label_project(single, build_teacher(single.config, "ultralytics", {}))
    teacher = build_teacher(on_ray.config, "ultralytics", {})
    killed: list[int] = []

    def kill_a_worker(done: int, _: int) -> None:
        if done == 8 and not killed:
            for process in psutil.Process().children(recursive=True):
                if "LabelActor" in " ".join(_cmdline(process)):
                    killed.append(process.pid)
                    os.kill(process.pid, signal.SIGKILL)
                    return

    options = ray_options(on_ray, batch_size=2, min_actors=2, max_actors=2)
    report = label_on_ray(on_ray, teacher, options, on_progress=kill_a_worker)
    assert killed, "no actor process found to kill"
    # Ray restarts the actor and runs its batch again: nothing is lost, nothing is left out.
    assert (report.frames_labelled, report.failures) == (40, [])
    assert cache_rows(on_ray) == cache_rows(single)


def _cmdline(process) -> list[str]:
    try:
        return process.cmdline()
    except (OSError, ValueError):  # gone already, or no access
        return []


def test_an_address_nothing_answers_on_is_one_sentence(tmp_path) -> None:
    pytest.importorskip("ray")
    project = project_with_frames(tmp_path, 1, SMALL_ONTOLOGY)
    script = Path(sys.executable).with_name("edgedistill")
    env = {**os.environ, "ROBOFLOW_API_KEY": KEY}
    child = subprocess.run(
        [str(script), "label", "--ray", "127.0.0.1:1", "-p", str(project.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 1
    assert "cannot reach a Ray cluster at 127.0.0.1:1" in " ".join(child.stderr.split())
    assert "Traceback" not in child.stderr
