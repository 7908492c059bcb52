"""One class per track (dataset stage) and the runs and keyframes of propagation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgedistill.config import LabelConfig
from edgedistill.ontology import Ontology
from edgedistill.teachers.base import FrameInput, RawDetection
from edgedistill.teachers.resolve import resolve
from edgedistill.teachers.sam3_propagate import PropagationRules, propagate
from edgedistill.teachers.tracks import relabel, vote_track_classes

ONTOLOGY = Ontology.model_validate(
    {
        "classes": [
            {"name": "car", "prompts": ["car", "sedan"]},
            {"name": "police car", "prompts": ["police car"], "parent": "car"},
            {"name": "person"},
        ]
    }
)
SETTINGS = LabelConfig(confidence=0.5)
BOX = (10.0, 10.0, 50.0, 40.0)


def det(label: str, score: float, track: str, box=BOX) -> RawDetection:
    return RawDetection(label, score, box, None, track)


def test_a_track_once_seen_as_police_car_is_one_on_every_frame() -> None:
    frames = [
        ("f1", [det("car", 0.9, "a-1")]),
        ("f2", [det("car", 0.8, "a-1"), det("police car", 0.6, "a-2", (11, 10, 50, 41))]),
        ("f3", [det("car", 0.9, "a-1")]),
    ]
    prompts = vote_track_classes(frames, ONTOLOGY, SETTINGS)
    assert prompts == {"a-1": "police car", "a-2": "police car"}
    names = [
        list(resolve(relabel(raw, prompts), ONTOLOGY, SETTINGS, True).detections["class_name"])
        for _, raw in frames
    ]
    assert names == [["police car"]] * 3  # per frame it flickered: car, police car, car


def test_unrelated_or_distant_or_unsure_tracks_keep_their_class() -> None:
    frames = [
        ("f1", [det("car", 0.9, "a-1"), det("person", 0.9, "a-2")]),  # unrelated overlap
        ("f2", [det("car", 0.9, "a-3"), det("police car", 0.9, "a-4", (200, 0, 240, 30))]),
        ("f3", [det("sedan", 0.9, "a-5"), det("police car", 0.3, "a-6")]),  # below confidence
    ]
    prompts = vote_track_classes(frames, ONTOLOGY, SETTINGS)
    assert prompts == {
        "a-1": "car",
        "a-2": "person",
        "a-3": "car",
        "a-4": "police car",
        "a-5": "car",  # a class is named by its first prompt
    }
    untracked = RawDetection("car", 0.9, BOX)
    assert relabel([untracked, det("police car", 0.3, "a-6")], prompts)[0] is untracked


class RecordingSession:
    """Stands in for SAM3's video model: records what it was asked, finds one object."""

    def __init__(self, prompts: tuple[str, ...], log: list) -> None:
        self.log, self.position = log, 0
        log.append(("open", prompts))

    def step(self, image: np.ndarray, detect: bool, mask_threshold: float) -> list[RawDetection]:
        self.log.append(("detect" if detect else "track", self.position))
        self.position += 1
        return [RawDetection("car", 0.9, BOX, None, "0")]

    def drop_missed(self, frame_idx: int, max_missed: int) -> None:
        self.log.append(("drop", frame_idx))

    def close(self) -> None:
        self.log.append(("close",))


def frame(index: int, source: int, t: float, prompts=("car",)) -> FrameInput:
    frame_id = f"id{source}-{index}"
    return FrameInput(frame_id, Path("x.jpg"), 96, 64, "v.mp4", prompts, source, index, t)


def test_runs_start_at_each_video_gap_and_prompt_change_with_a_detection() -> None:
    frames = [
        frame(0, 1, 0.0),
        frame(1, 1, 0.5),
        frame(2, 1, 1.0),
        frame(3, 1, 1.5),
        frame(9, 1, 4.5),  # a gap of 3 s: near-duplicates dropped, or a resumed run
        frame(0, 2, 0.0),  # another video
        frame(1, 2, 0.5, ("car", "bus")),  # prompts missing changed
    ]
    log: list = []
    rules = PropagationRules(
        keyframe_interval=2, max_gap_s=2.0, max_missed_keyframes=1, mask_threshold=0.5
    )
    sessions = lambda prompts: RecordingSession(prompts, log)  # noqa: E731
    results = list(propagate(iter(frames), sessions, lambda f: None, rules))
    steps = [entry for entry in log if entry[0] in ("detect", "track", "open")]
    assert [e[0] for e in steps] == [
        "open", "detect", "track", "detect", "track",
        "open", "detect",
        "open", "detect",
        "open", "detect",
    ]  # fmt: skip
    assert ("drop", 2) in log and log[-1] == ("close",)
    runs = [r.detections[0].track.split("-")[0] for r in results]
    assert len(set(runs[:4])) == 1 and len(set(runs)) == 4
    assert [r.frame.id for r in results] == [f.id for f in frames]
