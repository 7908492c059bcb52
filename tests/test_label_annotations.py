"""Existing human labels (YOLO or COCO) as teacher output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from edgedistill.config import IngestConfig
from edgedistill.errors import EdgedistillError
from edgedistill.ingest import ingest
from edgedistill.label import label_project
from edgedistill.project import Project, init_project
from edgedistill.status import project_status
from edgedistill.teachers import build_teacher
from edgedistill.teachers.cache import LabelCache
from tests.label_helpers import edit_config
from tests.media import write_image

ONTOLOGY = {
    "classes": [
        {"name": "car"},
        {"name": "person", "prompts": ["person", "pedestrian"]},
        {"name": "bus"},
        {"name": "truck"},
    ]
}


def yolo_dataset(root: Path) -> Path:
    """valid/ and test/ splits like a Roboflow export; one name appears in both splits."""
    for split in ("valid", "test"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
    write_image(root / "valid/images/a.jpg", seed=1, size=(200, 100))
    (root / "valid/labels/a.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.25 0.5 0.1 0.2\n")
    write_image(root / "valid/images/b.jpg", seed=2, size=(200, 100))
    (root / "valid/labels/b.txt").write_text("2 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n")  # polygon
    write_image(root / "valid/images/empty.jpg", seed=3, size=(200, 100))  # no label file
    write_image(root / "test/images/a.jpg", seed=4, size=(200, 100))
    (root / "test/labels/a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    config = {
        "train": "valid/images",
        "val": "test/images",
        "nc": 3,
        "names": ["car", "pedestrian", "motorbike"],
    }
    (root / "data.yaml").write_text(yaml.safe_dump(config))
    return root / "data.yaml"


def labelled(project: Project, annotations: Path):
    teacher = build_teacher(project.config, "annotations", {"annotations": annotations})
    return label_project(project, teacher)


def raw_by_source(project: Project) -> dict[str, list[dict]]:
    with project.open_catalog() as catalog:
        rows = catalog.execute(
            "SELECT s.path, c.detections FROM label_cache c JOIN frames f ON f.id = c.frame_id "
            "JOIN sources s ON s.id = f.source_id"
        ).fetchall()
    return {"/".join(Path(row[0]).parts[-3:]): json.loads(row[1]) for row in rows}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = init_project(tmp_path / "project", "blank")
    project = edit_config(project, ontology=ONTOLOGY)
    return project


def test_yolo_labels_scaled_to_the_stored_frames(project, tmp_path) -> None:
    data = yolo_dataset(tmp_path / "dataset")
    ingest(project, [str(data.parent)], IngestConfig(max_side=100, dedup=False))  # half size
    report = labelled(project, data)
    assert (report.frames_labelled, report.failures) == (4, [])
    raw = raw_by_source(project)
    car, person = raw["valid/images/a.jpg"]
    assert car["label"] == "car" and car["box"] == pytest.approx([40, 15, 60, 35])
    assert person["label"] == "pedestrian" and person["box"] == pytest.approx([20, 20, 30, 30])
    (moto,) = raw["valid/images/b.jpg"]
    assert moto["label"] == "motorbike" and moto["rle"]["size"] == [50, 100]
    assert moto["box"] == pytest.approx([10, 5, 30, 15], abs=1)
    assert raw["valid/images/empty.jpg"] == []  # in the dataset, no label file: a negative
    assert [d["label"] for d in raw["test/images/a.jpg"]] == ["pedestrian"]  # its own split's
    status = project_status(project)
    assert status.per_class == {"car": 1, "person": 2, "bus": 0, "truck": 0}
    assert status.label.unknown_labels == ["motorbike"]


def test_frames_the_annotations_do_not_know_are_reported(project, tmp_path) -> None:
    data = yolo_dataset(tmp_path / "dataset")
    ingest(project, [str(data.parent / "valid")], IngestConfig(dedup=False))
    ingest(project, [str(write_image(tmp_path / "stranger.jpg", seed=9))], IngestConfig())
    report = labelled(project, data)
    assert report.frames_labelled == 3
    assert [reason for _, reason in report.failures] == ["no image of this name in the annotations"]


def test_coco_json(project, tmp_path) -> None:
    write_image(tmp_path / "street.jpg", seed=5, size=(200, 100))
    coco = {
        "images": [{"id": 7, "file_name": "photos/street.jpg", "width": 200, "height": 100}],
        "categories": [{"id": 1, "name": "bus"}, {"id": 2, "name": "Truck"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 1,
                "bbox": [20, 10, 60, 40],
                "segmentation": [[20, 10, 80, 10, 80, 50, 20, 50]],
                "area": 2400,
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 7,
                "category_id": 2,
                "bbox": [100, 20, 50, 50],
                "area": 2500,
                "iscrowd": 0,
            },
        ],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    ingest(project, [str(tmp_path / "street.jpg")], IngestConfig(max_side=100))
    labelled(project, tmp_path / "coco.json")
    (raw,) = raw_by_source(project).values()
    assert [d["label"] for d in raw] == ["bus", "Truck"]
    assert raw[0]["box"] == pytest.approx([10, 5, 40, 25])
    assert raw[0]["rle"]["size"] == [50, 100]
    assert project_status(project).per_class == {"car": 0, "person": 0, "bus": 1, "truck": 1}


def test_labels_folder_finds_class_names_beside_it(project, tmp_path) -> None:
    data = yolo_dataset(tmp_path / "dataset")
    ingest(project, [str(data.parent / "valid")], IngestConfig(dedup=False))
    report = labelled(project, data.parent)
    assert report.frames_labelled == 3


def test_bad_annotation_paths(project, tmp_path) -> None:
    config = project.config
    with pytest.raises(EdgedistillError, match="needs --annotations"):
        build_teacher(config, "annotations", {})
    with pytest.raises(EdgedistillError, match="no such annotations file"):
        build_teacher(config, "annotations", {"annotations": tmp_path / "nope.yaml"})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(EdgedistillError, match="not a COCO JSON file"):
        build_teacher(config, "annotations", {"annotations": tmp_path / "bad.json"})
    (tmp_path / "labels").mkdir()
    with pytest.raises(EdgedistillError, match="needs its class names"):
        build_teacher(config, "annotations", {"annotations": tmp_path / "labels"})


def test_highway_dataset(project, assets: Path, cli) -> None:
    highway = assets / "datasets" / "highway"
    ontology = {
        "classes": [{"name": n} for n in ("bus", "car", "person", "truck")]
        + [{"name": "motorcycle", "prompts": ["motorcycle", "motorbike"]}]
    }
    project = edit_config(project, ontology=ontology)
    ingest(project, [str(highway / "test" / "images")], IngestConfig(dedup=False))
    result = cli(
        "label",
        "-p",
        str(project.root),
        "--teacher",
        "annotations",
        "--annotations",
        str(highway / "data.yaml"),
    )
    assert result.code == 0, result.err
    with project.open_catalog() as catalog:
        frames = catalog.count("frames")
        fingerprint, _, _ = LabelCache(catalog).last_teacher()
        raw = catalog.execute("SELECT detections FROM label_cache").fetchall()
    assert frames == 251
    assert sum(len(json.loads(row[0])) for row in raw) == 539  # every human box of test/
    status = project_status(project)
    assert status.labelled_frames == 251 and status.label.unknown_labels == []
    assert sum(status.per_class.values()) > 400
