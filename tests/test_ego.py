"""The car's own hood is never an object: not in the dataset, not the lead vehicle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
import yaml

from edgedistill.config import HudConfig, parse_config
from edgedistill.ego import find_ego_mask, outside_mask, share_inside
from edgedistill.errors import ConfigError
from edgedistill.hud.overlay import LeadTracker
from tests.conftest import coco_yolo11n_onnx
from tests.media import HOOD_REGION, hooded_clip

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
NOTCHED = [(0.0, 0.0), (0.5, 0.5), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]  # concave
WIDTH, HEIGHT = 640, 360


def _boxes(*rows: tuple[float, float, float, float], tracks: bool = False) -> sv.Detections:
    xyxy = np.array(rows, dtype=np.float32).reshape(-1, 4)
    return sv.Detections(
        xyxy=xyxy,
        confidence=np.full(len(xyxy), 0.9, dtype=np.float32),
        class_id=np.zeros(len(xyxy), dtype=int),
        tracker_id=np.arange(1, len(xyxy) + 1) if tracks else None,
    )


def test_share_inside_clips_the_polygon_to_the_box() -> None:
    assert share_inside((0.2, 0.2, 0.4, 0.4), SQUARE) == pytest.approx(1.0)
    assert share_inside((1.5, 0.2, 2.0, 0.4), SQUARE) == 0.0
    assert share_inside((0.5, 0.0, 1.5, 1.0), SQUARE) == pytest.approx(0.5)
    # The notch of the concave polygon (the triangle above y = |x - 0.5|) is outside.
    assert share_inside((0.0, 0.0, 1.0, 1.0), NOTCHED) == pytest.approx(0.75)
    assert share_inside((0.4, 0.0, 0.6, 0.1), NOTCHED) == pytest.approx(0.0)
    assert share_inside((0.3, 0.3, 0.3, 0.5), SQUARE) == 0.0  # no area


def test_boxes_at_least_half_inside_are_dropped() -> None:
    hood_mask = [(0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0)]
    hood = (40, 300, 600, 358)
    car_above = (300, 200, 360, 300)  # just above the hood
    half_in = (0, 250, 100, 350)  # 50 of its 100 px height inside (y from 288)
    kept = outside_mask(_boxes(hood, car_above, half_in), hood_mask, (WIDTH, HEIGHT))
    assert kept.xyxy.tolist() == [list(car_above)]
    assert len(outside_mask(_boxes(hood), [], (WIDTH, HEIGHT))) == 1  # no mask: all kept


def _frames(boxes_per_frame: list[list[tuple[float, float, float, float]]]):
    return [(_boxes(*boxes), WIDTH, HEIGHT) for boxes in boxes_per_frame]


def test_the_hood_is_the_wide_box_that_stays_on_the_bottom_edge() -> None:
    rng = np.random.default_rng(0)
    frames = []
    for i in range(30):
        jitter = rng.uniform(-3, 3, 4)
        hood = tuple(np.array([60, 290, 580, 359]) + jitter)
        passing = (20 * i, 150, 20 * i + 80, 220)
        frames.append([hood, passing] if i % 5 else [passing])  # the teacher misses it at times
    found = find_ego_mask(_frames(frames))
    assert found is not None and found.frames_on == 24 and found.frames == 30
    xs, ys = [x for x, _ in found.polygon], [y for _, y in found.polygon]
    assert min(xs) == pytest.approx(57 / WIDTH, abs=0.01) and max(ys) == 1.0
    assert min(ys) == pytest.approx(287 / HEIGHT, abs=0.01)
    assert "found on 24 of 30 frames" in found.describe()


def test_moving_boxes_on_the_bottom_edge_are_not_the_hood() -> None:
    # A car overtaking close by touches the bottom edge, but never twice in one place.
    overtaking = [[(40 * i, 200, 40 * i + 300, 359)] for i in range(12)]
    assert find_ego_mask(_frames(overtaking)) is None
    rarely = [[(60, 290, 580, 359)] if i < 8 else [] for i in range(30)]  # 8 of 30 frames
    assert find_ego_mask(_frames(rarely)) is None
    narrow = [[(300, 300, 340, 359)] for _ in range(30)]  # a cone on the bottom edge
    assert find_ego_mask(_frames(narrow)) is None


def test_ego_mask_config_is_checked() -> None:
    assert HudConfig().ego_mask == "auto" and HudConfig().ego_polygon == []
    assert HudConfig(ego_mask=[]).ego_polygon == []
    polygon = [(0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0)]
    assert HudConfig(ego_mask=polygon).ego_polygon == polygon
    bad_masks = (("[[0, 0.8], [1, 0.8]]", "3 or more"), ("[[0, 0.8], [1, 2], [0, 1]]", "0 and 1"))
    for bad, problem in bad_masks:
        with pytest.raises(ConfigError, match=problem):
            parse_config(f"hud:\n  ego_mask: {bad}\n")


def test_an_implausibly_close_lead_is_refused() -> None:
    """The same case as the app's core.test.ts: the hood, 1.8 m away by its width."""
    names = ["car"]
    hood, ahead = (60, 430, 580, 478), (300, 250, 340, 280)
    plain = LeadTracker(HudConfig(min_lead_distance_m=0))
    assert plain.update(_boxes(hood, ahead, tracks=True), names, 0.0, (640, 480)).track_id == 1
    guarded = LeadTracker(HudConfig())
    lead = guarded.update(_boxes(hood, ahead, tracks=True), names, 0.0, (640, 480))
    assert lead is not None and lead.track_id == 2 and lead.distance_m > 3.0
    assert guarded.refused == [1]


def test_a_vehicle_closing_in_stays_the_lead_however_close() -> None:
    """Seen at 10 m first, the car ahead keeps its TTC and BRAKE at 1.5 m."""
    leads = LeadTracker(HudConfig())
    focal = 320 / np.tan(np.radians(32))
    seen = []
    for step in range(22):
        t = step / 15
        distance = 10.0 - 6 * t  # 10 m to 1.6 m at 6 m/s
        w = focal * 1.8 / distance
        box = (320 - w / 2, 470 - w / 2, 320 + w / 2, 470)
        lead = leads.update(_boxes(box, tracks=True), ["car"], t, (640, 480))
        seen.append(lead)
    assert all(lead is not None and lead.track_id == 1 for lead in seen)
    assert seen[-1].distance_m < 2.0 and seen[-1].warning and leads.refused == []


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _inside(event: dict, mask: list[tuple[float, float]]) -> bool:
    """Whether the event's lead vehicle is the car's own hood."""
    lead = event["lead"]
    if lead is None:
        return False
    width, height = event["size"]
    box = next(d["box"] for d in event["detections"] if d["track"] == lead["track"])
    return share_inside(box, [(x * width, y * height) for x, y in mask]) >= 0.5


def test_on_footage_with_a_hood_it_is_found_dropped_and_never_the_lead(
    cli, assets, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clip = hooded_clip(assets, tmp_path / "hooded.mp4", seconds=3)
    teacher = assets / "weights" / "yolo11n-coco.pt"
    assert cli("init", "drive").code == 0
    config_path = tmp_path / "drive" / "edgedistill.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["teachers"] = {"ultralytics": {"imgsz": 832}}  # the demo's stand-in teacher
    config_path.write_text(yaml.safe_dump(config))
    project = ["--project", "drive"]
    assert cli("ingest", str(clip), *project, "--fps", "4").code == 0
    labelled = cli("label", *project, "--teacher", "ultralytics", "--weights", str(teacher))
    assert labelled.code == 0, labelled.err
    built = cli("dataset", *project)
    assert built.code == 0, built.err
    assert "ego vehicle (hud.ego_mask) auto: x 0.1" in built.out
    assert "y 0.80-1.00 of the frame, found on" in built.out
    (saved,) = (tmp_path / "drive" / "datasets").glob("*/dataset.json")
    ego = json.loads(saved.read_text())["ego_mask"]
    mask = ego["polygon"]
    for found, true in zip(mask, HOOD_REGION, strict=True):  # where the hood was pasted
        assert found == pytest.approx(true, abs=0.03)
    frames = sum(json.loads(saved.read_text())["images"].values())
    assert ego["labels_dropped"] >= frames * 0.8  # the hood, in nearly every frame
    for labels in saved.parent.glob("labels/*/*.txt"):
        for line in labels.read_text().splitlines():
            cx, cy, w, h = (float(v) for v in line.split()[1:5])
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            assert share_inside(box, mask) < 0.5, "a hood label reached the dataset"

    app = tmp_path / "app-model"
    exported = cli("export-app", *project, "--weights", str(teacher), "--out", str(app))
    assert exported.code == 0, exported.err
    assert json.loads((app / "model.json").read_text())["hud"]["ego_mask"] == mask

    onnx = coco_yolo11n_onnx(tmp_path)
    events = tmp_path / "drive.jsonl"
    ran = cli("run", str(clip), *project, "--model", str(onnx), "--events", str(events))
    assert ran.code == 0, ran.err
    log = _events(events)
    assert len(log) == 75 and all(not e.get("dropped") for e in log)
    keys = {"frame", "time_s", "size", "detections", "lead", "ego_dropped", "refused", "skipped"}
    assert keys <= set(log[0])
    assert sum(e["ego_dropped"] > 0 for e in log) > 60  # the student sees the hood as a car
    assert not any(_inside(e, HOOD_REGION) for e in log)
    leads = [e["lead"] for e in log if e["lead"]]
    assert len(leads) > 40 and all(lead["distance_m"] >= 3.0 for lead in leads)
    assert "inside the ego mask dropped" in ran.out

    # Without the mask and the distance guard, the hood is the lead: what the guards prevent.
    config["hud"] = {"ego_mask": [], "min_lead_distance_m": 0}
    config_path.write_text(yaml.safe_dump(config))
    unguarded = cli("run", str(clip), *project, "--model", str(onnx), "--events", str(events))
    assert unguarded.code == 0, unguarded.err
    on_hood = [e for e in _events(events) if _inside(e, HOOD_REGION)]
    assert len(on_hood) > 40 and all(e["lead"]["distance_m"] < 3.0 for e in on_hood)


def test_a_dataset_without_an_ego_mask_keeps_its_version(server, tmp_path) -> None:
    """Versions hash only what changes the files: projects built before masks and guard
    gaps existed are not rebuilt (and their students not retrained) for nothing."""
    from edgedistill.dataset import build_dataset
    from tests.label_helpers import edit_config
    from tests.test_dataset import labelled_project

    project = labelled_project(tmp_path, videos=3, images=3)  # a source per split
    first = build_dataset(project)
    assert first.ego_mask.polygon == [] and first.holdout.by == "sources"
    dataset = {**project.config.dataset.model_dump(mode="json"), "guard_s": 2.0}
    hud = {**project.config.hud.model_dump(mode="json"), "ego_mask": []}
    project = edit_config(project, dataset=dataset, hud=hud)
    assert build_dataset(project).version == first.version


def test_each_camera_has_its_own_hood(cli, assets, tmp_path, monkeypatch) -> None:
    """Footage from two cars: the hood of one is masked in its own frames only."""
    monkeypatch.chdir(tmp_path)
    hooded = hooded_clip(assets, tmp_path / "hooded.mp4", seconds=3)
    plain = tmp_path / "plain.mp4"
    plain.write_bytes((assets / "videos" / "dashcam_highway_960x540.mp4").read_bytes())
    assert cli("init", "cars").code == 0
    project = ["--project", "cars"]
    for clip in (hooded, plain):
        assert cli("ingest", str(clip), *project, "--fps", "2").code == 0
    teacher = str(assets / "weights" / "yolo11n-coco.pt")
    labelled = cli("label", *project, "--teacher", "ultralytics", "--weights", teacher)
    assert labelled.code == 0, labelled.err
    assert cli("dataset", *project).code == 0
    (saved,) = (tmp_path / "cars" / "datasets").glob("*/dataset.json")
    ego = json.loads(saved.read_text())["ego_mask"]
    assert list(ego["by_camera"]) == [str(hooded)] and "of hooded.mp4" in ego["note"]
    assert ego["polygon"] == ego["by_camera"][str(hooded)]
    assert 0 < ego["labels_dropped"] <= 7  # the hooded clip's frames only (6 or 7 at 2 fps)
