"""Video propagation on a tiny random Sam3VideoModel: the real transformers code path.

The random model's detections mean nothing; what is checked is the plumbing around
it: frames in video order, detection on keyframes only, track ids kept across
frames and runs, caching per frame, and kill-and-resume.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from edgedistill.config import IngestConfig
from edgedistill.dataset import build_dataset
from edgedistill.errors import EdgedistillError
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.project import Project, init_project
from edgedistill.teachers import build_teacher
from tests.label_helpers import SMALL_ONTOLOGY, edit_config
from tests.media import scene, write_video
from tests.tiny_sam3 import save_tiny_sam3, save_tiny_sam3_video

SECONDS = 6.0  # sampled at 2 fps: 12 frames
FRAMES = 12
# The random model scores its queries about 0.25: track from a low score, few objects.
TRACKING = {"track_score": 0.05, "max_tracks": 4}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_sam3_video(tmp_path_factory.mktemp("weights") / "tiny-sam3-video")


def video_project(root: Path, videos: int = 1) -> Project:
    project = init_project(root / "project", "driving")
    clips = root / "clips"
    clips.mkdir()
    for index in range(videos):
        picture = (lambda offset: lambda t: scene(int(t / 0.5) + offset))(100 * index)
        write_video(clips / f"drive{index}.mp4", SECONDS, 10, picture, size=(96, 64))
    ingest(project, [str(clips)], IngestConfig(fps=2, dedup=False))
    project = edit_config(project, ontology=SMALL_ONTOLOGY)
    return project


def propagating(project: Project, weights: Path, **settings):
    sam3 = {"weights": str(weights), "device": "cpu", **TRACKING, **settings}
    project = edit_config(project, teachers={"sam3": sam3}, label={"video": "propagate"})
    return build_teacher(project.config, "sam3", {})


def cached(project: Project) -> dict[str, list[dict]]:
    """frame id -> detections over all prompts."""
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT frame_id, detections FROM label_cache").fetchall()
    found: dict[str, list[dict]] = defaultdict(list)
    for frame_id, detections in rows:
        found[frame_id] += json.loads(detections)
    return found


def test_tracks_keep_their_id_and_prompt_across_frames(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    report = label_project(project, propagating(project, weights))
    assert (report.frames_labelled, report.failures) == (FRAMES, [])
    frames = cached(project)
    assert len(frames) == FRAMES
    detections = [d for found in frames.values() for d in found]
    assert detections and all(d["track"] for d in detections)
    frames_per_track: dict[str, set[str]] = defaultdict(set)
    prompts_per_track: dict[str, set[str]] = defaultdict(set)
    for frame_id, found in frames.items():
        for d in found:
            frames_per_track[d["track"]].add(frame_id)
            prompts_per_track[d["track"]].add(d["label"])
    assert max(len(f) for f in frames_per_track.values()) > 1  # followed, not re-found
    assert all(len(p) == 1 for p in prompts_per_track.values())  # a track has one prompt
    assert label_project(project, propagating(project, weights)).frames_pending == 0
    project = edit_config(
        project, label={"video": "propagate", "confidence": 0.0, "min_box_area": 0}
    )
    dataset = build_dataset(project)  # votes a class per track over the cached frames
    # every labelled frame is written, but those in the gaps between held-out time segments
    written = sum(dataset.images.values()) + dataset.holdout.guard_dropped
    assert written == sum(1 for found in frames.values() if found)


def test_detector_heads_run_on_keyframes_only(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    teacher = propagating(project, weights, keyframe_interval=3)
    model = teacher.engine.model
    calls = {"encoder": 0, "detector": 0}
    encoder, detector = model.detector_model.get_vision_features, model.detector_model.forward

    def count(kind, function):
        def counted(*args, **kwargs):
            calls[kind] += 1
            return function(*args, **kwargs)

        return counted

    model.detector_model.get_vision_features = count("encoder", encoder)
    model.detector_model.forward = count("detector", detector)
    label_project(project, teacher)
    keyframes = len(range(0, FRAMES, 3))
    prompts = len(project.config.ontology.prompts)
    assert calls == {"encoder": FRAMES, "detector": keyframes * prompts}


def test_a_session_keeps_only_the_trackers_memory_window(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    teacher = propagating(project, weights)
    session = teacher.engine.open(("car", "person"))
    window = teacher.engine.memory_frames
    rng = np.random.default_rng(0)
    steps = window + 6
    for index in range(steps):
        image = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
        session.step(image, detect=index % 3 == 0, mask_threshold=0.5)
    state = session.session
    assert list(state.processed_frames) == [steps - 1]  # frames numbered on, old ones gone
    kept = [set(o["non_cond_frame_outputs"]) for o in state.output_dict_per_obj.values()]
    assert state.obj_ids and all(min(k) >= steps - 1 - window for k in kept if k)
    assert min(state.obj_id_to_tracker_score_frame_wise) >= steps - 1 - window
    session.close()


def test_tracks_no_keyframe_confirms_end_and_new_ones_get_new_ids(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    teacher = propagating(project, weights)
    session = teacher.engine.open(("car", "person"))
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (64, 96, 3), dtype=np.uint8) for _ in range(4)]
    first = {d.track for d in session.step(frames[0], detect=True, mask_threshold=0.5)}
    assert first and set(map(int, first)) == set(session.session.obj_ids)
    session.step(frames[1], detect=False, mask_threshold=0.5)  # nothing confirms any track
    session.drop_missed(1, max_missed=2)
    assert set(session.session.obj_ids) == set(map(int, first))  # one miss is not two
    session.step(frames[2], detect=False, mask_threshold=0.5)
    session.drop_missed(2, max_missed=2)
    assert session.session.obj_ids == []
    assert session.step(frames[3], detect=True, mask_threshold=0.5)  # tracking goes on
    assert not set(map(int, first)) & set(session.session.obj_ids)  # ids are never reused
    session.close()


def test_each_video_and_each_gap_starts_a_new_run(tmp_path, weights) -> None:
    project = video_project(tmp_path, videos=2)
    label_project(project, propagating(project, weights, max_gap_s=1.0))
    with project.open_catalog() as catalog:
        source_of = dict(catalog.execute("SELECT id, source_id FROM frames").fetchall())
    runs_per_source: dict[int, set[str]] = defaultdict(set)
    for frame_id, found in cached(project).items():
        for d in found:
            runs_per_source[source_of[frame_id]].add(d["track"].split("-")[0])
    assert len(runs_per_source) == 2
    assert all(len(runs) == 1 for runs in runs_per_source.values())
    assert not set.intersection(*runs_per_source.values())


def test_fingerprint_separates_propagate_from_per_frame(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    project = edit_config(project, teachers={"sam3": {"weights": str(weights), "device": "cpu"}})
    per_frame = build_teacher(project.config, "sam3", {})
    propagate = build_teacher(project.config, "sam3", {"video": "propagate"})
    assert not per_frame.propagates and propagate.propagates
    assert per_frame.fingerprint != propagate.fingerprint
    other = propagating(project, weights, keyframe_interval=5)
    assert other.fingerprint != propagate.fingerprint


def test_propagate_needs_the_video_model_and_a_tracking_teacher(tmp_path) -> None:
    project = video_project(tmp_path)
    image_only = save_tiny_sam3(tmp_path / "image-only")
    with pytest.raises(EdgedistillError, match="needs SAM3's video model"):
        propagating(project, image_only)
    project = edit_config(project, label={"video": "propagate"})
    with pytest.raises(EdgedistillError, match="roboflow-sam3 teacher cannot"):
        build_teacher(project.config, "roboflow-sam3", {})
    with pytest.raises(EdgedistillError, match="--video must be one of"):
        build_teacher(project.config, "sam3", {"video": "sideways"})


def calls_and_frames(catalog: Path) -> tuple[int, int]:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
        frames = db.execute("SELECT COUNT(DISTINCT frame_id) FROM label_cache").fetchone()[0]
        calls = db.execute("SELECT COALESCE(SUM(calls), 0) FROM teachers").fetchone()[0]
    return calls, frames


def label_cli(project: Path, weights: Path) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("edgedistill")
    command = [str(script), "label", "-p", str(project), "--teacher", "sam3"]
    command += ["--weights", str(weights), "--device", "cpu", "--video", "propagate"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_and_resume_tracks_no_frame_twice(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    project = edit_config(project, teachers={"sam3": TRACKING})
    first = label_cli(project.root, weights)
    deadline = time.monotonic() + 120
    while calls_and_frames(project.catalog_path)[1] < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    done_at_kill = calls_and_frames(project.catalog_path)[1]
    assert 4 <= done_at_kill < FRAMES

    second = label_cli(project.root, weights)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    # Every frame computed and stored once: the resumed run began at the first uncached
    # frame with a fresh detection, and the tracks of the two runs do not share ids.
    assert calls_and_frames(project.catalog_path) == (FRAMES, FRAMES)
    runs = {d["track"].split("-")[0] for found in cached(project).values() for d in found}
    assert len(runs) == 2
