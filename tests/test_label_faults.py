"""Labelling under faults: nothing is paid twice, nothing paid is thrown away, no run gets stuck.

Each test reproduces one failure of issue 16 against the local Roboflow stand-in.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import yaml

from edgedistill.config import IngestConfig
from edgedistill.errors import EdgedistillError
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.label.lock import ProjectBusyError, project_label_lock
from edgedistill.pipeline import run_pipeline
from edgedistill.project import Project, init_project
from edgedistill.status import project_status
from edgedistill.teachers import build_teacher
from tests.fake_roboflow import Failure, FakeRoboflow
from tests.label_helpers import FAST_RETRIES, SMALL_ONTOLOGY, edit_config, project_with_frames
from tests.media import write_image

KEY = "fault-test-key-0123456789"


@pytest.fixture
def server(monkeypatch):
    with FakeRoboflow(key=KEY) as fake:
        monkeypatch.setenv("ROBOFLOW_API_KEY", KEY)
        monkeypatch.setenv("ROBOFLOW_API_URL", fake.url)
        yield fake


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = project_with_frames(tmp_path, 6, SMALL_ONTOLOGY)
    project = edit_config(
        project, teachers={"roboflow-sam3": FAST_RETRIES, "roboflow-workflow": FAST_RETRIES}
    )
    return project


def run(project: Project, name: str = "roboflow-sam3", **overrides):
    teacher = build_teacher(project.config, name, overrides)
    try:
        return label_project(project, teacher)
    finally:
        teacher.close()


def cached_frames(catalog: Path) -> set[str]:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
        return {row[0] for row in db.execute("SELECT DISTINCT frame_id FROM label_cache")}


def recorded_spend(project: Project) -> tuple[int, float]:
    with project.open_catalog() as catalog:
        return catalog.execute("SELECT calls, credits FROM teachers").fetchone()


def unreadable_frame(path: Path) -> bool:
    return cv2.imread(str(path)) is None


def frame_files(project: Project) -> dict[str, Path]:
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT id, path FROM frames ORDER BY id").fetchall()
    return {row[0]: project.root / row[1] for row in rows}


def label_process(project: Path, url: str, *args: str) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("edgedistill")
    env = {**os.environ, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    return subprocess.Popen(
        [str(script), "label", "-p", str(project), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# 1. one labelling run per project


def test_a_second_label_run_refuses_while_one_is_running(tmp_path, cli, monkeypatch) -> None:
    project = project_with_frames(tmp_path, 12, SMALL_ONTOLOGY)
    with FakeRoboflow(key=KEY, delay=0.5) as server:
        monkeypatch.setenv("ROBOFLOW_API_KEY", KEY)
        monkeypatch.setenv("ROBOFLOW_API_URL", server.url)
        first = label_process(project.root, server.url, "--concurrency", "2")
        deadline = time.monotonic() + 60
        while server.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        second = cli("label", "-p", str(project.root), "--concurrency", "2")
        assert first.poll() is None  # the first run was still labelling
        assert second.code == 1
        assert "another `edgedistill label` or `pipeline` is labelling" in second.err
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert len(server.calls) == 12 and set(server.calls.values()) == {1}
        third = cli("label", "-p", str(project.root))  # the lock went with the first run
        assert third.code == 0 and "Nothing to label" in third.out


def test_label_refuses_while_the_project_lock_is_held(server, project) -> None:
    with project_label_lock(project), pytest.raises(ProjectBusyError):
        run(project)
    assert server.requests == 0
    assert run(project).frames_labelled == 6  # released on exit


def test_pipeline_takes_the_same_lock_and_a_dry_run_needs_none(server, project, tmp_path) -> None:
    with project_label_lock(project):
        with pytest.raises(ProjectBusyError):
            run_pipeline(project, [str(tmp_path / "images")])
        teacher = build_teacher(project.config, "roboflow-sam3", {})
        try:
            assert label_project(project, teacher, dry_run=True).frames_pending == 6
        finally:
            teacher.close()
    assert server.requests == 0


# 2. an unreadable frame fails alone; ingest restores a missing one


def test_a_missing_or_broken_frame_fails_alone_and_ingest_restores_it(
    server, project, tmp_path
) -> None:
    files = list(frame_files(project).items())
    (missing_id, missing), (broken_id, broken) = files[0], files[1]
    missing.unlink()
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    report = run(project)
    assert report.frames_labelled == 4
    reasons = dict(report.failures)
    assert set(reasons) == {missing_id, broken_id}
    assert "is missing; `edgedistill ingest" in reasons[missing_id]
    assert "cannot be decoded" in reasons[broken_id]
    assert len(server.calls) == 4  # nothing was sent for the two bad frames
    ingest(project, [str(tmp_path / "images")], IngestConfig(dedup=False))
    assert missing.is_file() and not unreadable_frame(broken)
    assert run(project).frames_labelled == 2
    assert set(server.calls.values()) == {1}


def test_label_command_reports_a_missing_frame_in_one_line(server, project, cli) -> None:
    next(iter(frame_files(project).values())).unlink()
    result = cli("label", "-p", str(project.root))
    assert result.code == 1 and "internal error" not in result.err
    assert "is missing" in result.err and "Labelled 5 frames" in result.out


# 3. a rejected request fails its frame; a fatal answer keeps what completed


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_rejected_request_fails_that_frame_only(server, project, status) -> None:
    server.plan = [Failure(status)]
    report = run(project, concurrency=1)
    assert report.frames_labelled == 5 and len(report.failures) == 1
    assert f"HTTP {status}" in report.failures[0][1]
    assert server.requests == 6  # not retried


@pytest.mark.parametrize("status", [401, 402, 403])
def test_a_fatal_answer_stops_after_storing_the_answers_in_flight(server, project, status) -> None:
    server.plan = [Failure(0, delay=0.4)] * 3 + [Failure(status)]
    with pytest.raises(EdgedistillError, match=f"HTTP {status}"):
        run(project, concurrency=4)
    assert len(server.calls) == 3
    assert cached_frames(project.catalog_path) == set(server.calls)
    assert recorded_spend(project)[0] == 3


# 4. Ctrl-C keeps the answers it waited for


def test_ctrl_c_stores_the_answers_in_flight(tmp_path: Path) -> None:
    project = project_with_frames(tmp_path, 12, SMALL_ONTOLOGY)
    with FakeRoboflow(key=KEY, delay=0.6) as server:
        process = label_process(project.root, server.url, "--concurrency", "4")
        deadline = time.monotonic() + 60
        while server.requests < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert "Traceback" not in err
        time.sleep(0.7)  # requests the server was still answering
        paid = set(server.calls)
        assert len(paid) >= 6
        assert cached_frames(project.catalog_path) == paid


# 5. read timeouts: every attempt is counted, resends are capped


def test_read_timeouts_are_resent_once_and_every_attempt_is_counted(server, project) -> None:
    project = edit_config(project, teachers={"roboflow-sam3": {**FAST_RETRIES, "timeout": 0.3}})
    server.plan = [Failure(0, delay=0.8)] * 2
    report = run(project, concurrency=1)
    time.sleep(0.6)
    assert report.frames_labelled == 5 and len(report.failures) == 1
    assert "sent 2 times" in report.failures[0][1]
    assert sum(server.calls.values()) == 7
    assert report.calls == 7 and recorded_spend(project)[0] == 7


# 6. nonsense Retry-After


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_nonsense_retry_after_is_ignored(server, project, value) -> None:
    server.plan = [Failure(429, retry_after=value), Failure(503, retry_after=value)]
    report = run(project, concurrency=2)
    assert report.frames_labelled == 6 and not report.failures


# 7. non-finite detections


@pytest.mark.parametrize("name", ["roboflow-sam3", "roboflow-workflow"])
def test_non_finite_detections_are_dropped_and_counted(server, project, name) -> None:
    server.poison = True
    overrides = {"workspace": "acme", "workflow_id": "wf"} if name == "roboflow-workflow" else {}
    report = run(project, name, **overrides)
    assert report.frames_labelled == 6
    assert report.dropped_detections == (6 * 4 if name == "roboflow-sam3" else 6)
    with project.open_catalog() as catalog:
        for (text,) in catalog.execute("SELECT detections FROM label_cache"):
            for detection in json.loads(text):
                assert all(math.isfinite(v) for v in (detection["score"], *detection["box"]))
    assert project_status(project).labelled_frames == 6


def test_non_finite_detections_in_an_old_cache_are_skipped(server, project, cli) -> None:
    run(project)
    with project.open_catalog() as catalog:
        catalog.execute(
            "UPDATE label_cache SET detections = "
            '\'[{"label": "car", "score": NaN, "box": [1, 2, Infinity, 4]}]\' '
            "WHERE prompt = 'car'"
        )
    assert project_status(project).labelled_frames == 6
    assert cli("status", "-p", str(project.root)).code == 0
    assert cli("dataset", "-p", str(project.root)).code == 0


# 8. malformed annotations


def annotations_project(tmp_path: Path) -> Project:
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(project, ontology={"classes": [{"name": "car"}, {"name": "person"}]})
    return project


def test_malformed_yolo_lines_are_skipped_and_named(tmp_path, caplog) -> None:
    root = tmp_path / "yolo"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name in ("a", "b", "c"):
        write_image(root / "images" / f"{name}.jpg", seed=ord(name), size=(100, 80))
    (root / "labels/a.txt").write_text(
        "car 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n1 0.1 nan 0.2 0.2\n0 0.1 0.2\n1.5 0.5 0.5 .1 .1\n"
    )
    (root / "labels/b.txt").write_bytes(b"\x00\x9f\xff\xfe binary \x00")
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "images", "names": ["car", "person"]}))
    project = annotations_project(tmp_path)
    ingest(project, [str(root / "images")], IngestConfig(dedup=False))
    with caplog.at_level(logging.WARNING):
        report = run(project, "annotations", annotations=root / "data.yaml")
    assert report.frames_labelled == 3 and not report.failures
    assert project_status(project).per_class == {"car": 1, "person": 0}
    label_a = root / "labels" / "a.txt"
    for line in (1, 3, 4, 5):
        assert f"{label_a}:{line}: skipped" in caplog.text
    assert f"{root / 'labels' / 'b.txt'}: skipped, not a text label file" in caplog.text


def test_malformed_coco_entries_are_skipped_and_named(tmp_path, caplog) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a", "b", "c"):
        write_image(images / f"{name}.jpg", seed=ord(name), size=(100, 80))
    coco = {
        "categories": [{"id": 1, "name": "car"}],
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
            {"id": 2, "file_name": "b.jpg", "width": 0, "height": 80},
            {"id": 3, "file_name": "c.jpg", "width": 100, "height": 80},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]},
            {"id": 2, "image_id": 1, "category_id": 1},
            {"id": 3, "category_id": 1, "bbox": [1, 1, 2, 2]},
            {"id": 4, "image_id": 3, "category_id": "car", "bbox": [1, 1, 2, 2]},
            {"id": 5, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2]},
        ],
    }
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(coco))
    project = annotations_project(tmp_path)
    ingest(project, [str(images)], IngestConfig(dedup=False))
    with caplog.at_level(logging.WARNING):
        report = run(project, "annotations", annotations=path)
    assert report.frames_labelled == 2 and len(report.failures) == 1  # b.jpg: width 0
    assert project_status(project).per_class == {"car": 1, "person": 0}
    assert f"{path}: annotations[1] skipped (no 'bbox')" in caplog.text
    assert f"{path}: annotations[2] skipped (no 'image_id')" in caplog.text
    assert f"{path}: annotations[3] skipped" in caplog.text
    assert f"{path}: images[1] skipped (width and height must be positive" in caplog.text


# 10. bad configuration and hostile inputs around labelling


@pytest.mark.parametrize("url", ["htp://x", "https://", "serverless.roboflow.com", "http://h:port"])
def test_a_malformed_api_url_is_one_sentence_before_any_call(project, cli, monkeypatch, url):
    monkeypatch.setenv("ROBOFLOW_API_KEY", KEY)
    monkeypatch.setenv("ROBOFLOW_API_URL", url)
    started = time.monotonic()
    result = cli("label", "-p", str(project.root))
    assert result.code == 2 and "ROBOFLOW_API_URL is not a usable URL" in result.err
    assert time.monotonic() - started < 10


def test_data_yaml_path_never_scans_the_whole_disk(tmp_path) -> None:
    root = tmp_path / "yolo"
    (root / "images").mkdir(parents=True)
    write_image(root / "images" / "a.jpg", seed=1, size=(100, 80))
    (root / "data.yaml").write_text(yaml.safe_dump({"path": "/", "train": ".", "names": ["car"]}))
    project = annotations_project(tmp_path)
    with pytest.raises(EdgedistillError, match="a whole file system"):
        build_teacher(project.config, "annotations", {"annotations": root / "data.yaml"})
    (root / "data.yaml").write_text(
        yaml.safe_dump({"path": "/", "train": "images", "names": ["car"]})
    )  # /images is not there: the data.yaml's own folder is used
    teacher = build_teacher(project.config, "annotations", {"annotations": root / "data.yaml"})
    assert [str(p) for p, _ in teacher.dataset.images()] == [str(root / "images" / "a.jpg")]


def test_concurrent_map_drains_the_frames_in_flight_when_the_source_is_interrupted() -> None:
    from edgedistill.teachers.base import FrameInput, TeacherResult
    from edgedistill.teachers.roboflow_api import concurrent_map

    def frames():
        for number in range(3):
            yield FrameInput(str(number), Path("x.jpg"), 1, 1, "x.jpg", ("car",))
        raise KeyboardInterrupt  # Ctrl-C while the next frame is being read

    def work(frame: FrameInput) -> TeacherResult:
        time.sleep(0.2)
        return TeacherResult(frame, frame.prompts)

    finished = []
    with pytest.raises(KeyboardInterrupt):
        for result in concurrent_map(work, frames(), concurrency=4):
            finished.append(result.frame.id)
    assert sorted(finished) == ["0", "1", "2"]
