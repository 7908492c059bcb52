"""Video propagation for Meta's sam3.pt: Ultralytics' SAM3VideoSemanticPredictor on a
tiny random SAM3 built by Ultralytics' own builder (``tests/tiny_sam3_ultralytics.py``).

As for the transformers video model, the random detections mean nothing; what is
checked is the plumbing: the project's sampled frames fed to the predictor, detection
on keyframes only, track ids kept across frames, tracks no keyframe confirms ended, a
bounded session, caching per frame and kill-and-resume.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from edgedistill.dataset import build_dataset
from edgedistill.label import label_project
from edgedistill.project import Project
from edgedistill.teachers import build_teacher
from tests.label_helpers import edit_config
from tests.test_label_sam3_video import FRAMES, cached, calls_and_frames, video_project
from tests.tiny_sam3_ultralytics import save_tiny_sam3_pt, tiny_ultralytics_sam3

pytest.importorskip("clip", reason="the edgedistill[sam3] extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
TRACKING = {"track_score": 0.05, "max_tracks": 4}
PROMPTS = ("car", "person")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_sam3_pt(tmp_path_factory.mktemp("weights") / "sam3.pt")


@pytest.fixture(autouse=True)
def tiny():
    with tiny_ultralytics_sam3():
        yield


def propagating(project: Project, weights: Path, **settings):
    sam3 = {"weights": str(weights), "device": "cpu", **TRACKING, **settings}
    project = edit_config(project, teachers={"sam3": sam3}, label={"video": "propagate"})
    return build_teacher(project.config, "sam3", {})


def frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (64, 96, 3), dtype=np.uint8) for _ in range(count)]


def test_tracks_keep_their_id_and_prompt_across_frames(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    report = label_project(project, propagating(project, weights))
    assert (report.frames_labelled, report.failures) == (FRAMES, [])
    found = cached(project)
    assert len(found) == FRAMES
    detections = [d for per_frame in found.values() for d in per_frame]
    assert detections and all(d["track"] for d in detections)
    frames_per_track: dict[str, set[str]] = defaultdict(set)
    prompts_per_track: dict[str, set[str]] = defaultdict(set)
    for frame_id, per_frame in found.items():
        for d in per_frame:
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
    assert written == sum(1 for per_frame in found.values() if per_frame)


def test_the_detector_runs_on_keyframes_only(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    teacher = propagating(project, weights, keyframe_interval=3)
    predictor = teacher.engine.predictor
    encoded: list[int] = []
    detected: list[int] = []
    encode, ground = predictor.get_im_features, predictor.model.forward_grounding

    def counted_encode(im):
        encoded.append(im.shape[0])
        return encode(im)

    def counted_ground(backbone_out, text_ids, geometric_prompt=None):
        detected.append(len(text_ids))
        return ground(backbone_out, text_ids, geometric_prompt)

    predictor.get_im_features, predictor.model.forward_grounding = counted_encode, counted_ground
    label_project(project, teacher)
    prompts = len(project.config.ontology.prompts)
    assert sum(encoded) == FRAMES  # the tracker needs every frame's features
    assert detected == [prompts] * len(range(0, FRAMES, 3))  # all prompts at once, keyframes


def test_a_session_keeps_only_the_current_frames_bookkeeping(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    teacher = propagating(project, weights)
    session = teacher.engine.open(PROMPTS)
    tracker = teacher.engine.predictor.tracker
    window = tracker.model.num_maskmem * tracker.model.memory_temporal_stride_for_eval
    steps = window + 6
    for index, image in enumerate(frames(steps)):
        session.step(image, detect=index % 3 == 0, mask_threshold=0.5)
    metadata = session.state["tracker_metadata"]
    assert list(metadata["obj_id_to_tracker_score_frame_wise"]) == [steps - 1]
    states = session.state["tracker_inference_states"]
    assert states and metadata["obj_ids"].size
    for state in states:
        assert state["frames_already_tracked"] <= {steps - 1}
        kept = set(state["output_dict"]["non_cond_frame_outputs"])
        assert kept and min(kept) >= steps - 1 - window
    for indices in metadata["metadata"]["unmatched_frame_inds"].values():
        assert set(indices) <= {steps - 1}
    session.close()


def test_tracks_no_keyframe_confirms_end_and_new_ones_get_new_ids(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    teacher = propagating(project, weights, keyframe_interval=1)
    predictor = teacher.engine.predictor
    session = teacher.engine.open(PROMPTS)
    images = frames(5, seed=1)

    def live() -> set[str]:
        return {str(obj) for obj in session.state["tracker_metadata"]["obj_ids"]}

    def tracks(index: int) -> set[str]:
        return {d.track for d in session.step(images[index], True, 0.5)}

    first = tracks(0)
    assert first and first <= live()  # a track whose pixels others claim is not shown
    tracked = live()
    predictor.score_threshold_detection = 1.01  # from here the detector finds nothing
    assert tracks(1) and live() == tracked  # followed without detections
    session.drop_missed(1, max_missed=2)  # one miss is not two
    assert tracks(2) and live() == tracked
    session.drop_missed(2, max_missed=2)
    assert tracks(3) == set() and live() == set()  # ended before this frame's output
    predictor.score_threshold_detection = TRACKING["track_score"]
    again = tracks(4)
    assert again and not again & tracked  # tracking goes on; ids are never reused
    session.close()


def test_fingerprint_separates_propagate_from_per_frame(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    project = edit_config(project, teachers={"sam3": {"weights": str(weights), "device": "cpu"}})
    per_frame = build_teacher(project.config, "sam3", {})
    propagate = build_teacher(project.config, "sam3", {"video": "propagate"})
    assert per_frame.fingerprint != propagate.fingerprint
    assert type(propagate.engine).__name__ == "UltralyticsSam3Video"


def label_cli(project: Path, weights: Path) -> subprocess.Popen[str]:
    """``edgedistill label`` in a child process that builds the tiny model."""
    command = [sys.executable, "-m", "tests.tiny_sam3_ultralytics", "label", "-p", str(project)]
    command += ["--teacher", "sam3", "--weights", str(weights), "--device", "cpu"]
    command += ["--video", "propagate"]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_kill_9_and_resume_tracks_no_frame_twice(tmp_path, weights) -> None:
    project = video_project(tmp_path)
    project = edit_config(project, teachers={"sam3": TRACKING})
    first = label_cli(project.root, weights)
    deadline = time.monotonic() + 120
    while calls_and_frames(project.catalog_path)[1] < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    done_at_kill = calls_and_frames(project.catalog_path)[1]
    assert 4 <= done_at_kill < FRAMES

    second = label_cli(project.root, weights)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    # Every frame computed and stored once; the resumed run began at the first uncached
    # frame with a fresh detection, its tracks apart from the first run's.
    assert calls_and_frames(project.catalog_path) == (FRAMES, FRAMES)
    runs = {d["track"].split("-")[0] for found in cached(project).values() for d in found}
    assert len(runs) == 2
