"""Killing ``edgedistill label`` with SIGKILL repeats at most the calls that were in flight."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.fake_roboflow import FakeRoboflow
from tests.label_helpers import SMALL_ONTOLOGY, edit_config, project_with_frames

KEY = "resume-test-key-0123456789"
FRAMES = 16
CONCURRENCY = 2


def cached_frames(catalog: Path) -> int:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COUNT(DISTINCT frame_id) FROM label_cache").fetchone()[0]


def label(project: Path, url: str) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("edgedistill")
    env = {**os.environ, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    return subprocess.Popen(
        [str(script), "label", "-p", str(project), "--concurrency", str(CONCURRENCY)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_and_resume_pays_only_for_calls_in_flight(tmp_path: Path) -> None:
    project = project_with_frames(tmp_path, FRAMES, SMALL_ONTOLOGY)
    project = edit_config(project, teachers={"roboflow-sam3": {"backoff": 0.01}})
    with FakeRoboflow(key=KEY, delay=0.15) as server:
        first = label(project.root, server.url)
        deadline = time.monotonic() + 60
        while cached_frames(project.catalog_path) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        done_at_kill = cached_frames(project.catalog_path)
        assert 5 <= done_at_kill < FRAMES

        second = label(project.root, server.url)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert cached_frames(project.catalog_path) == FRAMES
        paid_twice = [frame for frame, calls in server.calls.items() if calls > 1]
        assert len(server.calls) == FRAMES
        assert len(paid_twice) <= CONCURRENCY  # only what was in flight when killed
        assert max(server.calls.values()) <= 2

        requests = server.requests
        third = label(project.root, server.url)
        out, _ = third.communicate(timeout=120)
        assert third.returncode == 0 and "Nothing to label" in out
        assert server.requests == requests  # the third run pays nothing
