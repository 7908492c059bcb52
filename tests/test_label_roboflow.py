"""Both Roboflow backends against a local server speaking Roboflow's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgedistill.catalog import Catalog
from edgedistill.errors import EdgedistillError
from edgedistill.label import label_project
from edgedistill.project import Project
from edgedistill.status import project_status
from edgedistill.teachers import build_teacher
from edgedistill.teachers.cache import LabelCache
from tests.fake_roboflow import Failure, FakeRoboflow
from tests.label_helpers import FAST_RETRIES, SMALL_ONTOLOGY, edit_config, project_with_frames

KEY = "rf-secret-key-0123456789"


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


def run(project: Project, name: str = "roboflow-sam3", **kwargs):
    overrides = kwargs.pop("overrides", {})
    teacher = build_teacher(project.config, name, overrides)
    try:
        return label_project(project, teacher, **kwargs)
    finally:
        teacher.close()


def cached_prompts(project: Project) -> dict[str, int]:
    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT frame_id, COUNT(*) FROM label_cache GROUP BY frame_id"
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def test_every_frame_labelled_once_and_the_second_run_pays_nothing(server, project) -> None:
    report = run(project)
    assert (report.frames_labelled, report.calls, report.failures) == (6, 6, [])
    assert set(server.calls.values()) == {1} and len(server.calls) == 6
    assert cached_prompts(project) == dict.fromkeys(server.calls, 4)
    assert report.credits == pytest.approx(6 * 0.2 / 500)
    requests = server.requests
    again = run(project)
    assert (again.frames_pending, again.calls) == (0, 0)
    assert server.requests == requests
    status = project_status(project)
    assert status.labelled_frames == 6
    assert status.per_class["car"] + status.per_class["police car"] >= 6


def test_more_than_16_prompts_are_split_across_requests(server, tmp_path) -> None:
    project = project_with_frames(tmp_path, 2)  # the driving preset: 23 prompts
    project = edit_config(project, teachers={"roboflow-sam3": FAST_RETRIES})
    server.keep_bodies = True
    report = run(project)
    assert report.calls == 4 and report.frames_labelled == 2
    assert sorted(len(b["body"]["prompts"]) for b in server.bodies) == [7, 7, 16, 16]
    body = server.bodies[0]["body"]
    assert body["format"] == "rle" and body["image"]["type"] == "base64"
    assert body["prompts"][0]["type"] == "text"
    assert set(cached_prompts(project).values()) == {23}


def test_polygon_masks_become_rle(server, project) -> None:
    server.mask_format = "polygon"
    run(project)
    with project.open_catalog() as catalog:
        raw = json.loads(catalog.execute("SELECT detections FROM label_cache").fetchone()[0])
    assert raw[0]["rle"]["size"] == [64, 96]
    assert raw[0]["box"][2] > raw[0]["box"][0]


def test_429_with_retry_after_and_500s_are_retried(server, project) -> None:
    server.plan = [Failure(429, retry_after=0.05), Failure(500), Failure(503, retry_after=0)]
    report = run(project, overrides={"concurrency": 3})
    assert report.frames_labelled == 6 and not report.failures
    assert server.requests == 6 + 3
    assert set(server.calls.values()) == {1}  # no frame answered twice


def test_slow_answers_time_out_and_are_retried(server, project) -> None:
    project = edit_config(project, teachers={"roboflow-sam3": {**FAST_RETRIES, "timeout": 0.3}})
    server.plan = [Failure(0, delay=1.0)]  # one answer comes too late
    report = run(project, overrides={"concurrency": 1})
    assert report.frames_labelled == 6 and not report.failures


def test_persistent_errors_fail_those_frames_only_and_a_rerun_finishes(server, project) -> None:
    project = edit_config(project, teachers={"roboflow-sam3": {**FAST_RETRIES, "max_retries": 1}})
    server.plan = [Failure(500)] * 2
    first = run(project, overrides={"concurrency": 1})
    assert first.frames_labelled == 5 and len(first.failures) == 1
    assert "HTTP 500 after 2 attempts" in first.failures[0][1]
    second = run(project)
    assert (second.frames_pending, second.frames_labelled) == (1, 1)
    assert len(cached_prompts(project)) == 6


def test_bad_key_stops_at_once_with_one_sentence(server, project, monkeypatch) -> None:
    monkeypatch.setenv("ROBOFLOW_API_KEY", "wrong-key-987654321")
    with pytest.raises(EdgedistillError) as caught:
        run(project, overrides={"concurrency": 2})
    assert "refused the API key (HTTP 401)" in str(caught.value)
    assert "wrong-key" not in str(caught.value)
    assert server.requests <= 2
    assert cached_prompts(project) == {}


def test_missing_key_is_one_sentence(server, project, monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY")
    with pytest.raises(EdgedistillError, match="set ROBOFLOW_API_KEY"):
        run(project)
    assert server.requests == 0


def test_unreachable_server_is_one_sentence(project, monkeypatch) -> None:
    monkeypatch.setenv("ROBOFLOW_API_KEY", KEY)
    monkeypatch.setenv("ROBOFLOW_API_URL", "http://127.0.0.1:9")  # nothing listens there
    project = edit_config(project, teachers={"roboflow-sam3": {**FAST_RETRIES, "max_retries": 1}})
    with pytest.raises(EdgedistillError) as caught:
        run(project, overrides={"concurrency": 1})
    assert str(caught.value) == (
        "cannot reach http://127.0.0.1:9 (ConnectError); check ROBOFLOW_API_URL and the network"
    )
    assert cached_prompts(project) == {}


def test_dry_run_spends_nothing_and_prices_the_calls(server, tmp_path) -> None:
    project = project_with_frames(tmp_path, 3)  # 23 prompts: 2 calls a frame
    report = run(project, dry_run=True)
    assert server.requests == 0
    assert (report.frames_pending, report.calls_pending) == (3, 6)
    assert report.estimate.credits == pytest.approx(6 * 0.5 / 500)
    assert report.estimate.usd == pytest.approx(6 * 0.5 / 500 * 3.0)
    assert cached_prompts(project) == {}


def test_budget_stops_cleanly_and_the_rest_follows_later(server, project) -> None:
    # A frame is estimated at 0.001 credits (0.5 s assumed) and billed 0.0004 (0.2 s):
    # the next frame starts only while spent + its estimate stays within the cap.
    report = run(project, max_credits=0.0025, overrides={"concurrency": 1})
    assert report.frames_labelled == 4 and report.stopped and "budget" in report.stopped
    assert report.credits == pytest.approx(0.0016)
    rest = run(project)
    assert rest.frames_labelled == 2
    assert set(server.calls.values()) == {1}


def test_dry_run_after_some_calls_uses_the_measured_price(server, project) -> None:
    run(project, max_credits=0.0025, overrides={"concurrency": 1})
    report = run(project, dry_run=True)
    assert report.estimate.credits == pytest.approx(2 * 0.2 / 500)
    assert "average of earlier calls" in report.estimate.basis


def test_workflow_backend_maps_class_names_onto_the_ontology(server, project) -> None:
    server.keep_bodies = True
    report = run(
        project,
        "roboflow-workflow",
        overrides={"workspace": "acme", "workflow_id": "rapid-driving"},
    )
    assert report.frames_labelled == 6 and report.calls == 6
    request = server.bodies[0]
    assert request["path"] == "/acme/workflows/rapid-driving"
    assert request["body"]["api_key"] == KEY and request["query"] == ""
    assert request["body"]["inputs"]["image"]["type"] == "base64"
    status = project_status(project)
    assert status.label.unknown_labels == ["motorbike"]
    assert status.per_class["car"] == 6 and status.per_class["person"] == 6


def test_workflow_polygon_points(server, project) -> None:
    server.mask_format = "polygon"
    run(project, "roboflow-workflow", overrides={"workspace": "acme", "workflow_id": "wf"})
    assert project_status(project).per_class["car"] == 6


def test_workflow_needs_its_ids(server, project) -> None:
    with pytest.raises(EdgedistillError, match="needs --workspace and --workflow-id"):
        run(project, "roboflow-workflow")


def test_the_key_never_reaches_output_or_files(server, project, cli, monkeypatch) -> None:
    server.plan = [Failure(500), Failure(422)]
    result = cli(
        "label", "-p", str(project.root), "--teacher", "roboflow-sam3", "--concurrency", "1"
    )
    assert result.code == 1
    assert "Roboflow rejected the request (HTTP 422" in result.err
    assert KEY not in result.out + result.err
    monkeypatch.setenv("ROBOFLOW_API_KEY", "another-secret-456")
    bad = cli("label", "-p", str(project.root), "--teacher", "roboflow-sam3")
    assert bad.code == 1 and "another-secret" not in bad.out + bad.err
    assert cli("label", "-p", str(project.root), "--teacher", "roboflow-sam3").code == 1
    monkeypatch.setenv("ROBOFLOW_API_KEY", KEY)
    assert cli("label", "-p", str(project.root)).code == 0
    with Catalog(project.root / "catalog.db") as catalog:
        (settings,) = catalog.execute("SELECT settings FROM teachers").fetchone()
    assert json.loads(settings)["model_id"]  # what built the teacher is kept; its key is not
    for path in project.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data and b"another-secret" not in data, path


def test_label_command_dry_run_and_status(server, project, cli) -> None:
    result = cli("label", "-p", str(project.root), "--dry-run")
    assert result.code == 0
    assert "Dry run, nothing spent. 6 frames of 6 to label with roboflow-sam3" in result.out
    assert "6 calls, about 0.0060 credits ($0.02" in result.out
    assert cli("label", "-p", str(project.root)).code == 0
    counts = json.loads(cli("status", "-p", str(project.root), "--json").out)
    assert counts["labelled_frames"] == 6
    assert set(counts["per_class"]) == {"car", "police car", "person"}
    assert counts["label"]["teacher"] == "roboflow-sam3"
    with project.open_catalog() as catalog:
        assert LabelCache(catalog).last_teacher()[1] == "roboflow-sam3"


def test_new_thresholds_and_ontology_rederive_labels_without_calls(server, project) -> None:
    run(project)
    requests = server.requests
    before = project_status(project).per_class
    project = edit_config(project, label={"confidence": 0.95})  # above the server's 0.9 scores
    assert sum(project_status(project).per_class.values()) == 0
    project = edit_config(
        project,
        label={"confidence": 0.5, "nms": False},
        ontology={**SMALL_ONTOLOGY, "class_mapping": {"police car": "car"}},
    )
    after = project_status(project).per_class
    assert set(after) == {"car", "person"}
    assert after["car"] >= before["car"] + before["police car"]
    report = run(project)
    assert report.frames_pending == 0
    assert server.requests == requests
