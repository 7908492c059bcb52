"""Issue 16, the remaining cases: resuming a training killed in its final validation, a full
disk, bad TLS files, devices named as sources, keys in URL-encoded echoes, and HTML
injection through class names."""

from __future__ import annotations

import errno
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from edgedistill.config import IngestConfig
from edgedistill.dataset import build_dataset
from edgedistill.errors import EdgedistillError
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.media.store import FrameStore
from edgedistill.teachers import build_teacher
from edgedistill.teachers.cache import LabelCache
from edgedistill.train import train_student
from tests.fake_roboflow import Failure
from tests.label_helpers import FAST_RETRIES, SMALL_ONTOLOGY, edit_config, project_with_frames
from tests.media import write_image
from tests.test_dataset import labelled_project
from tests.test_train_eval import TINY

# 9. train --resume after a kill during the final validation


def mark_running(project) -> None:
    """The catalog as a kill during the final validation leaves it."""
    with project.open_catalog() as catalog:
        catalog.execute(
            "UPDATE train_runs SET status = 'running', weights = NULL, finished_at = NULL"
        )


def test_resume_after_the_last_epoch_finishes_from_best_or_fails_cleanly(
    server, tmp_path, monkeypatch
) -> None:
    project = labelled_project(tmp_path, videos=2, images=2)
    build_dataset(project)
    monkeypatch.chdir(tmp_path)
    run = train_student(project, TINY)
    mark_running(project)  # last.pt is already stripped of its training state
    resumed = train_student(project, TINY, resume=True)
    assert (resumed.id, resumed.status) == (run.id, "done")
    assert resumed.weights == run.directory / "weights" / "best.pt"
    assert [p.name for p in (project.root / "runs" / "train").iterdir()] == [run.id]
    assert not (tmp_path / "runs").exists()  # nothing outside the project

    mark_running(project)
    (run.directory / "weights" / "best.pt").unlink()
    with pytest.raises(EdgedistillError, match="cannot be resumed"):
        train_student(project, TINY, resume=True)
    with project.open_catalog() as catalog:
        assert catalog.execute("SELECT status FROM train_runs").fetchone()[0] == "failed"


# 10. a full disk, bad TLS files, devices as sources


def test_a_full_disk_while_labelling_is_one_sentence(server, tmp_path, cli, monkeypatch) -> None:
    project = project_with_frames(tmp_path, 3, SMALL_ONTOLOGY)

    def full(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(LabelCache, "store", full)
    result = cli("label", "-p", str(project.root))
    assert result.code == 1 and "internal error" not in result.err
    assert "the disk is full; free some space" in result.err


def test_a_full_disk_while_ingesting_is_one_sentence(tmp_path, project, cli, monkeypatch) -> None:
    write_image(tmp_path / "a.jpg", seed=1)

    def full(self, frame_id: str, data: bytes) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / frame_id))

    monkeypatch.setattr(FrameStore, "write", full)
    result = cli("ingest", "-p", str(project.root), str(tmp_path / "a.jpg"))
    assert result.code == 1 and "internal error" not in result.err
    assert "the disk is full writing" in result.err


def test_bad_tls_files_are_one_sentence(tmp_path, cli, monkeypatch) -> None:
    from tests.test_export import confident_student

    student = confident_student(tmp_path / "student.pt")
    (tmp_path / "cert.pem").write_text("not a certificate")
    monkeypatch.setenv("EDGEDISTILL_API_KEYS", "tls-test-key-0123456789")
    monkeypatch.chdir(tmp_path)
    for cert, key in [("cert.pem", "cert.pem"), ("missing.pem", "cert.pem")]:
        result = cli("serve", "--model", str(student), "--ssl-certfile", cert, "--ssl-keyfile", key)
        assert result.code == 1 and "internal error" not in result.err
        assert "cannot use the TLS certificate" in result.err


def test_ingest_refuses_a_link_to_a_device(tmp_path, project, cli) -> None:
    link = tmp_path / "zero.mp4"
    link.symlink_to("/dev/zero")
    result = cli("ingest", "-p", str(project.root), str(link))
    assert result.code == 1 and "not a regular file" in result.err + result.out


# 18. keys echoed URL-encoded are redacted too


@pytest.mark.parametrize("key", ["k+y/=&s3cret-0123456789", "key with spaces & slashes/+=="])
def test_a_key_echoed_url_encoded_is_redacted(server, tmp_path, monkeypatch, key) -> None:
    server.key = key
    monkeypatch.setenv("ROBOFLOW_API_KEY", key)
    project = project_with_frames(tmp_path, 2, SMALL_ONTOLOGY)
    project = edit_config(project, teachers={"roboflow-sam3": FAST_RETRIES})
    server.plan = [Failure(422, echo=True)]
    teacher = build_teacher(project.config, "roboflow-sam3", {"concurrency": 1})
    try:
        report = label_project(project, teacher)
    finally:
        teacher.close()
    assert report.frames_labelled == 1 and len(report.failures) == 1
    message = report.failures[0][1]
    assert "api_key=***" in message
    for form in (key, quote(key, safe=""), quote_plus(key), quote(key)):
        assert form not in message


# 19. class names cannot inject HTML into the gallery


def test_class_names_cannot_break_out_of_the_gallery_script(server, tmp_path) -> None:
    evil = "</script><script>alert(1)</script>"
    project = labelled_project(tmp_path, videos=1, images=2)
    project = edit_config(project, ontology={**SMALL_ONTOLOGY, "class_mapping": {"car": evil}})
    page = build_dataset(project).gallery.read_text()
    assert "<script>alert(1)" not in page
    assert page.count("</script>") == 1
    items = json.loads(page.split("const items = ")[1].split(";\n")[0])
    assert any(evil in item["classes"] for item in items)


def test_ingest_restores_nothing_when_frames_are_present(tmp_path, project) -> None:
    (tmp_path / "images").mkdir()
    write_image(tmp_path / "images" / "a.jpg", seed=3)
    first = ingest(project, [str(tmp_path / "images")], IngestConfig(dedup=False))
    again = ingest(project, [str(tmp_path / "images")], IngestConfig(dedup=False))
    assert first.results[0].status == "ingested" and again.results[0].status == "unchanged"
