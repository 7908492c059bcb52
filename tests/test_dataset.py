"""The dataset stage: split by source, formats that the real tools accept, the gallery."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from edgedistill.config import DatasetConfig, IngestConfig
from edgedistill.dataset import build_dataset
from edgedistill.dataset.split import assign_splits
from edgedistill.errors import EdgedistillError
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.project import Project, init_project
from edgedistill.teachers import build_teacher
from tests.label_helpers import SMALL_ONTOLOGY, edit_config
from tests.media import write_image, write_video


def labelled_project(root: Path, videos: int = 4, images: int = 6) -> Project:
    """Several videos and loose images, labelled by the local Roboflow stand-in."""
    project = init_project(root / "project", "blank")
    project = edit_config(project, ontology=SMALL_ONTOLOGY)
    media = root / "media"
    (media / "stills").mkdir(parents=True)
    for v in range(videos):
        write_video(
            media / f"drive{v}.mp4",
            seconds=2,
            fps=10,
            size=(160, 96),
            picture=lambda t, v=v: write_scene(v, t),
        )
    for i in range(images):
        write_image(media / "stills" / f"still{i}.jpg", seed=100 + i, size=(160, 96))
    ingest(project, [str(media)], IngestConfig(dedup=False))
    label(project)
    return project


def write_scene(video: int, t: float):
    from tests.media import scene

    return scene(video * 1000 + int(t * 2), (160, 96))


def label(project: Project) -> None:
    teacher = build_teacher(project.config, "roboflow-sam3", {})
    try:
        assert not label_project(project, teacher).failures
    finally:
        teacher.close()


def split_of_frames(root: Path) -> dict[str, str]:
    return {p.stem: p.parent.name for p in (root / "images").glob("*/*.jpg")}


def sources_of_frames(project: Project) -> dict[str, str]:
    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT f.id, s.path FROM frames f JOIN sources s ON s.id = f.source_id"
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def test_split_is_by_source_and_stable_when_sources_are_added() -> None:
    first = assign_splits([f"video{i}" for i in range(40)], 0.2, 0.2, seed=0)
    more = assign_splits([f"video{i}" for i in range(60)], 0.2, 0.2, seed=0)
    assert all(more[unit] == split for unit, split in first.items())
    assert set(first.values()) == {"train", "val", "test"}
    other_seed = assign_splits([f"video{i}" for i in range(40)], 0.2, 0.2, seed=1)
    assert other_seed != first


def test_small_sets_still_get_val_and_test() -> None:
    splits = assign_splits(["a", "b", "c"], 0.15, 0.15, seed=0)
    assert sorted(splits.values()) == ["test", "train", "val"]
    assert assign_splits(["only"], 0.15, 0.15, seed=0) == {"only": "train"}


def test_frames_of_one_video_never_land_in_two_splits(server, tmp_path) -> None:
    project = labelled_project(tmp_path)
    report = build_dataset(project)
    splits = split_of_frames(report.root)
    sources = sources_of_frames(project)
    by_source: dict[str, set[str]] = {}
    for frame_id, split in splits.items():
        by_source.setdefault(sources[frame_id], set()).add(split)
    assert all(len(s) == 1 for s in by_source.values())
    assert set(splits.values()) == {"train", "val", "test"}
    assert sum(report.images.values()) == len(splits) == 4 * 4 + 6


def test_yolo_dataset_passes_ultralytics_checker(server, tmp_path) -> None:
    from ultralytics.data.utils import check_det_dataset

    project = labelled_project(tmp_path)
    report = build_dataset(project)
    data = check_det_dataset(str(report.data_yaml))
    assert data["nc"] == 3 and list(data["names"].values()) == ["car", "police car", "person"]
    for label in (report.root / "labels").rglob("*.txt"):
        for line in label.read_text().splitlines():
            values = line.split()
            assert len(values) == 5 and 0 <= int(values[0]) < 3
            assert all(0.0 <= float(v) <= 1.0 for v in values[1:])
    assert report.instances["train"]["car"] > 0


def test_yolo_seg_polygons(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=2)
    report = build_dataset(project, DatasetConfig(format="yolo-seg"))
    lines = [
        line for p in (report.root / "labels").rglob("*.txt") for line in p.read_text().splitlines()
    ]
    assert lines and all(len(line.split()) >= 7 and len(line.split()) % 2 == 1 for line in lines)


@pytest.mark.parametrize("masks", ["rle", "polygons"])
def test_coco_output_loads_in_pycocotools(server, tmp_path, masks) -> None:
    project = labelled_project(tmp_path, videos=2, images=3)
    project = edit_config(project, label={"output_format": masks})
    report = build_dataset(project, DatasetConfig(format="coco"))
    files = sorted((report.root / "annotations").glob("instances_*.json"))
    assert [f.name for f in files] == [f"instances_{s}.json" for s in sorted(report.images)]
    coco = COCO(str(files[0]))
    annotation = coco.loadAnns(coco.getAnnIds())[0]
    assert coco.annToMask(annotation).sum() > 0  # the mask decodes
    image = coco.loadImgs(annotation["image_id"])[0]
    assert (report.root / "images" / image["file_name"]).is_file()
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"car", "police car", "person"}
    parents = {c["name"]: c["supercategory"] for c in coco.loadCats(coco.getCatIds())}
    assert parents["police car"] == "car"


def test_negatives_are_capped(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=6)
    server.delay = 0
    # Labels above every score the stand-in gives: every frame has no objects but two.
    project = edit_config(project, label={"confidence": 0.95})
    report = build_dataset(project)
    assert sum(report.images.values()) == 14  # nothing found anywhere: all frames are kept
    project = edit_config(project, label={"confidence": 0.5})
    full = build_dataset(project, DatasetConfig(negatives=0.0))
    assert sum(full.negatives.values()) == 0


def test_same_inputs_reuse_the_version_and_user_files_stay_untouched(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=2)
    before = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "media").rglob("*")
        if p.is_file()
    }
    first = build_dataset(project)
    second = build_dataset(project)
    assert second.reused and second.version == first.version
    assert second.images == first.images
    after = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "media").rglob("*")
        if p.is_file()
    }
    assert before == after
    project = edit_config(project, label={"confidence": 0.6})
    assert build_dataset(project).version != first.version


def test_gallery_lists_frames_with_their_classes_and_split(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=2)
    report = build_dataset(project)
    page = report.gallery.read_text()
    items = json.loads(page.split("const items = ")[1].split(";\n")[0])
    assert len(items) == sum(report.images.values())
    assert {i["split"] for i in items} <= {"train", "val", "test"}
    assert all((report.root / i["src"]).is_file() for i in items)
    assert any("car" in i["classes"] for i in items)
    assert '<select id="cls">' in page and '<select id="split">' in page


def test_rare_classes_are_warned_about(server, tmp_path) -> None:
    project = labelled_project(tmp_path, videos=2, images=2)
    report = build_dataset(project, DatasetConfig(min_instances=1000))
    assert any("too rare to learn" in w for w in report.warnings)


def test_dataset_needs_frames_then_labels(tmp_path) -> None:
    project = init_project(tmp_path / "p", "driving")
    with pytest.raises(EdgedistillError, match="run `edgedistill ingest VIDEO_OR_FOLDER` first"):
        build_dataset(project)
    ingest(project, [str(write_image(tmp_path / "a.jpg"))], IngestConfig())
    with pytest.raises(EdgedistillError, match="run `edgedistill label` first"):
        build_dataset(project)


def test_a_held_out_segment_without_objects_is_not_named(server, tmp_path) -> None:
    """One video split by time whose test segment the teacher finds empty: the negatives
    cap leaves its frames out, and the held-out line says so and states the share kept."""
    from tests.media import panning

    project = edit_config(init_project(tmp_path / "project", "blank"), ontology=SMALL_ONTOLOGY)
    video = write_video(
        tmp_path / "drive.mp4", seconds=9, fps=10, size=(160, 96), picture=panning()
    )
    ingest(project, [str(video)], IngestConfig(fps=5, dedup=False))
    label(project)
    first = build_dataset(project)
    assert {s.split for s in first.holdout.segments} == {"val", "test"}
    empty = [f for f, split in split_of_frames(first.root).items() if split == "test"]
    with project.open_catalog() as catalog:
        catalog.execute(
            f"UPDATE label_cache SET detections = '[]' WHERE frame_id IN "
            f"({','.join('?' * len(empty))})",
            empty,
        )
    report = build_dataset(project)
    assert "test" not in report.images and report.images["val"]
    assert {s.split for s in report.holdout.segments} == {"val"}
    share = report.images["val"] / sum(report.images.values())
    sentence = report.holdout.sentence()
    assert sentence.startswith(f"held out {round(100 * share)} % of the frames: 1 time segment")
    assert " test " not in sentence
    saved = json.loads((report.root / "dataset.json").read_text())["holdout"]
    assert saved["sentence"] == sentence and saved["frames"] == dict(report.images)
