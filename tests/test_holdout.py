"""One video still gives a real held-out set (time segments with guard gaps), and every
report says truthfully what was held out and how."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from edgedistill.config import IngestConfig
from edgedistill.dataset import build_dataset
from edgedistill.dataset.split import MAX_SEGMENT_S, TimedFrame, Unit, plan_splits
from edgedistill.ingest import ingest
from edgedistill.project import Project, init_project
from tests.label_helpers import SMALL_ONTOLOGY, edit_config
from tests.test_dataset import label, labelled_project

CLIP_S = 8.84  # the dashcam clip of ../shared/assets
SHARES = (0.15, 0.15)


def frames_at(fps: float, seconds: float, unit: str = "clip") -> list[TimedFrame]:
    return [
        TimedFrame(f"{unit}-{i / fps:.3f}", unit, round(i / fps, 3))
        for i in range(int(seconds * fps) + 1)
    ]


def test_one_short_video_is_split_by_time_with_guard_gaps() -> None:
    frames = frames_at(5, 8.8)
    plan = plan_splits([Unit("clip", "clip.mp4", CLIP_S)], frames, SHARES, seed=0, guard_s=0.5)
    counts = Counter(plan.splits.values())
    assert counts["train"] > counts["val"] > 0 and counts["test"] > 0
    holdout = plan.holdout
    assert holdout.by == "time segments" and len(holdout.segments) == 2
    assert holdout.guard_dropped == len(frames) - len(plan.splits) > 0
    # Every held-out frame is at least one guard gap from every training frame.
    time = {f.id: f.timestamp or 0.0 for f in frames}
    train = [time[f] for f, s in plan.splits.items() if s == "train"]
    held = [time[f] for f, s in plan.splits.items() if s != "train"]
    assert min(abs(a - b) for a in train for b in held) >= 0.5
    # Each held-out split is one contiguous stretch.
    for split in ("val", "test"):
        stamps = sorted(time[f] for f, s in plan.splits.items() if s == split)
        assert stamps[-1] - stamps[0] < CLIP_S / 4
    assert holdout.sentence().startswith(
        "held out 30 % of the frames: 2 time segments of clip.mp4 ("
    )
    assert "0.5 s guard gaps" in holdout.sentence()


def test_frames_sampled_later_land_in_their_segments_split() -> None:
    unit = [Unit("clip", "clip.mp4", CLIP_S)]
    sparse = plan_splits(unit, frames_at(5, 8.8), SHARES, seed=3, guard_s=0.5)
    dense = plan_splits(unit, frames_at(10, 8.8), SHARES, seed=3, guard_s=0.5)
    assert sparse.holdout.segments == dense.holdout.segments
    assert all(dense.splits[f] == split for f, split in sparse.splits.items())


def test_a_long_drive_is_cut_into_minutes_held_out_all_through_it() -> None:
    drive = [Unit("drive", "drive.mp4", 1800.0)]
    plan = plan_splits(drive, frames_at(1, 1800, "drive"), SHARES, seed=0, guard_s=0.5)
    segments = plan.holdout.segments
    assert {round(s.end - s.start, 6) for s in segments} == {MAX_SEGMENT_S}
    assert Counter(s.split for s in segments) == {"val": 4, "test": 5}  # 30 % of 30
    assert max(s.start for s in segments) - min(s.start for s in segments) > 600


@pytest.mark.parametrize(
    ("seconds", "share"),
    [
        (3.0, 0.50),  # two 1.5 s segments (three guard gaps each): one is held out
        (8.84, 0.33),  # six 1.47 s segments: one val, one test
        (60.0, 0.30),
        (600.0, 0.30),
        (1800.0, 0.30),  # thirty minutes: nine of them held out
    ],
)
def test_the_held_out_share_is_the_one_asked_whatever_the_length(
    seconds: float, share: float
) -> None:
    fps = 5 if seconds < 600 else 1
    plan = plan_splits(
        [Unit("drive", "drive.mp4", seconds)],
        frames_at(fps, seconds, "drive"),
        SHARES,
        seed=0,
        guard_s=0.5,
    )
    segments = plan.holdout.segments
    assert sum(s.end - s.start for s in segments) / seconds == pytest.approx(share, abs=0.005)
    assert all(1.47 < s.end - s.start <= MAX_SEGMENT_S for s in segments)
    counts = Counter(plan.splits.values())
    assert plan.holdout.share == (counts["val"] + counts["test"]) / len(plan.splits)
    stated = f"held out {round(plan.holdout.share * 100)} % of the frames: "
    assert plan.holdout.sentence().startswith(stated)


def test_enough_sources_are_still_split_whole() -> None:
    units = [Unit(f"v{i}", f"v{i}.mp4", 60.0) for i in range(3)]
    frames = [f for u in units for f in frames_at(1, 60, u.id)]
    plan = plan_splits(units, frames, SHARES, seed=0, guard_s=0.5)
    by_unit = {(f.unit, plan.splits[f.id]) for f in frames}
    assert len(by_unit) == 3 and plan.holdout.guard_dropped == 0
    assert plan.holdout.by == "sources"
    assert (
        plan.holdout.sentence()
        == "held out 67 % of the frames: whole sources, 1 val and 1 test of 3; "
        "training never saw them"
    )


def one_video_project(root: Path, video: Path) -> Project:
    project = edit_config(init_project(root / "project", "blank"), ontology=SMALL_ONTOLOGY)
    ingest(project, [str(video)], IngestConfig(fps=5, max_side=320, dedup=False))
    label(project)
    return project


def test_the_dashcam_clip_alone_gives_a_held_out_set(server, assets, tmp_path, capsys) -> None:
    from edgedistill.display import print_dataset_report

    project = one_video_project(tmp_path, assets / "videos" / "dashcam_highway_960x540.mp4")
    report = build_dataset(project)
    assert report.images["train"] and report.images["val"] and report.images["test"]
    saved = json.loads((report.root / "dataset.json").read_text())
    holdout = saved["holdout"]
    assert holdout["by"] == "time segments" and holdout["guard_dropped"] > 0
    assert {s["split"] for s in holdout["segments"]} == {"val", "test"}
    assert not any("no val split" in w for w in saved["warnings"])
    with project.open_catalog() as catalog:
        stamp = dict(catalog.execute("SELECT id, timestamp FROM frames").fetchall())
    split_of = {p.stem: p.parent.name for p in (report.root / "images").glob("*/*.jpg")}
    train = [stamp[f] for f, s in split_of.items() if s == "train"]
    held = [stamp[f] for f, s in split_of.items() if s != "train"]
    assert min(abs(a - b) for a in train for b in held) >= 0.5
    share = round(100 * (len(split_of) - len(train)) / len(split_of))
    line = f"held out {share} % of the frames: 2 time segments of dashcam_highway_960x540.mp4 ("
    assert holdout["sentence"].startswith(line)
    assert f"Split: {line}" in (report.root / "gallery.html").read_text()
    print_dataset_report(report)
    assert f"Split: {line}" in capsys.readouterr().out


def test_a_single_still_says_nothing_was_held_out(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=0, images=1)
    report = build_dataset(project)
    assert set(report.images) == {"train"} and report.holdout.by == "nothing"
    (warning,) = [w for w in report.warnings if "no val split" in w]
    assert "nothing held out: a single source, and no video long enough" in warning


def test_eval_report_and_model_card_say_how_the_video_was_held_out(
    server, assets, tmp_path
) -> None:
    from edgedistill.evaluate import evaluate
    from edgedistill.export import export_student
    from edgedistill.train import train_student
    from tests.test_train_eval import TINY

    project = one_video_project(tmp_path, assets / "videos" / "dashcam_highway_960x540.mp4")
    build_dataset(project)
    run = train_student(project, TINY)
    highway = assets / "datasets" / "highway" / "data.yaml"
    metrics = evaluate(project, gt=highway, speed=False).metrics
    assert metrics.held_out and metrics.held_out_by == "time segments"
    (caveat,) = [c for c in metrics.caveats if c.startswith("Held out by time")]
    assert "% of the frames: 2 time segments of dashcam_highway_960x540.mp4" in caveat
    assert "nearer to its training frames than new footage" in caveat
    scored_on = "held-out time segments of the footage it trained on"
    report = next(project.reports_dir.glob("*/report.md")).read_text()
    assert scored_on in report and caveat in report

    exported = export_student(project, ["onnx"], run.weights, imgsz=(96, 128), parity_frames=20)
    (parity,) = exported.parity
    assert parity.held_out is not None and 0 < parity.held_out < parity.frames == 20
    assert f"on 20 frames ({parity.held_out} held out, {20 - parity.held_out} training)" in (
        parity.line()
    )
    card = (exported.directory / "MODEL_CARD.md").read_text()
    assert f"> **Caveat.** {caveat}" in card
    assert scored_on in card and "% of the frames: 2 time segments" in card
    assert "- Regressions: not checked (no starting weights to compare with)." in card
    human = metrics.vs_human
    assert human is not None and human.unmatched_labels
    assert (
        f"- Accuracy against human labels (251 images): mAP50 {human.map50:.3f}, mAP50-95 "
        f"{human.map50_95:.3f}; labels no class takes, not scored: bus ("
    ) in card
    assert parity.line()[1:] in card
