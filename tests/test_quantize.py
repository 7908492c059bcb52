"""int8 ONNX: calibrated on the project's frames, scored against fp32 and fp16, shipped only
within the tolerance."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from edgedistill.dataset import build_dataset
from edgedistill.export import export_student
from edgedistill.export.quantize import (
    accuracy,
    compare_precisions,
    head_nodes,
    label_files,
    spread,
)
from tests.test_dataset import labelled_project
from tests.test_export import confident_student

COCO_IDS = {0: 5, 1: 2, 2: 3, 3: 0, 4: 7}  # highway bus, car, motorbike, person, truck
CLASSES = ["car", "police car", "person"]  # the dataset's, as a student trained on it has them


@pytest.fixture
def project(server, tmp_path):
    project = labelled_project(tmp_path, videos=3, images=3)
    build_dataset(project)
    return project


def _initializer_types(path: Path) -> set[int]:
    return {t.data_type for t in onnx.load(str(path)).graph.initializer}


def test_export_int8_scores_fp32_fp16_int8_and_ships_within_tolerance(
    project, tmp_path, cli
) -> None:
    weights = confident_student(tmp_path / "student.pt", names=CLASSES)
    result = cli(  # a small input keeps calibration and scoring quick
        "export", "-p", str(project.root), "--weights", str(weights), "--int8", "--imgsz", "96,128"
    )
    assert result.code == 0, result.err
    assert "precision on" in result.out and "int8 ships" in result.out
    folder = project.root / "exports" / "student"
    fp16, int8 = folder / "student-fp16.onnx", folder / "student-int8.onnx"
    assert TensorProto.FLOAT16 in _initializer_types(fp16)
    graph = onnx.load(str(int8)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.node}
    assert TensorProto.INT8 in _initializer_types(int8)
    # The head's decoding (sigmoid, box arithmetic, concat) is kept in float.
    excluded = head_nodes(onnx.load(str(folder / "student.onnx")))
    assert excluded and all(name.startswith("/model.23/") for name in excluded)
    card = (folder / "MODEL_CARD.md").read_text()
    assert "fp32 mAP50" in card and "int8 ships" in card and "student-int8.onnx" in card


def test_int8_outside_the_tolerance_is_refused_and_not_written(project, tmp_path) -> None:
    weights = confident_student(tmp_path / "student.pt", names=CLASSES)
    report = export_student(
        project, ["onnx"], weights, imgsz=(96, 128), int8=True, int8_tolerance=-1.0
    )
    verdict = report.precision
    assert verdict is not None and not verdict.shipped and not report.ok
    assert [s.precision for s in verdict.scored] == ["fp32", "fp16", "int8"]
    assert "int8 REFUSED" in verdict.line() and "fp32 mAP50" in verdict.line()
    assert not (report.directory / "student-int8.onnx").exists()
    assert (report.directory / "student.onnx").is_file()  # fp32 and fp16 are kept
    assert (report.directory / "student-fp16.onnx").is_file()
    assert [f.format for f in report.files] == ["onnx", "onnx-fp16"]


def test_spread_covers_the_whole_list() -> None:
    items = [Path(str(i)) for i in range(10)]
    assert spread(items, 4) == [Path("0"), Path("2"), Path("5"), Path("7")]
    assert spread(items, 20) == items


def test_int8_keeps_a_real_students_accuracy_on_real_frames(assets, tmp_path) -> None:
    """COCO YOLO11n on highway frames (human labels as COCO ids): calibrated int8 stays
    within 0.03 mAP50-95 of fp32 on 24 frames."""
    from ultralytics import YOLO

    highway = assets / "datasets" / "highway"
    weights = assets / "weights" / "yolo11n-coco.pt"
    if not weights.is_file() or not highway.is_dir():
        pytest.skip("needs ../shared/assets weights and the highway dataset")
    labels = tmp_path / "labels"
    labels.mkdir()
    held_out = []
    for image in spread(sorted((highway / "test" / "images").glob("*.jpg")), 24):
        rows = (highway / "test" / "labels" / f"{image.stem}.txt").read_text().split("\n")
        mapped = [f"{COCO_IDS[int(r.split()[0])]} {r.split(' ', 1)[1]}" for r in rows if r.strip()]
        (labels / f"{image.stem}.txt").write_text("\n".join(mapped))
        held_out.append((image, labels / f"{image.stem}.txt"))
    local = tmp_path / "yolo11n.pt"
    shutil.copyfile(weights, local)
    model = YOLO(str(local))
    fp32 = Path(model.export(format="onnx", imgsz=(480, 640), device="cpu", verbose=False))
    calibration = spread(sorted((highway / "valid" / "images").glob("*.jpg")), 32)
    names = list(model.names.values())
    scoring = label_files(held_out, names, "24 highway test images")
    verdict = compare_precisions(fp32, calibration, scoring, (480, 640), tolerance=0.03)
    fp32_figures = verdict.get("fp32")
    assert fp32_figures.map50 > 0.3  # a real student that finds the cars
    assert np.isclose(verdict.get("fp16").map50_95, fp32_figures.map50_95, atol=0.01)
    assert verdict.shipped, verdict.line()


def test_int8_on_a_project_that_held_nothing_out_scores_on_training_frames_said_so(
    server, tmp_path
) -> None:
    project = labelled_project(tmp_path, videos=1, images=0)  # one 2 s video: too short to cut
    assert set(build_dataset(project).images) == {"train"}
    weights = confident_student(tmp_path / "student.pt", names=CLASSES)
    report = export_student(project, ["onnx"], weights, imgsz=(96, 128), int8=True)
    verdict = report.precision
    assert verdict is not None
    assert re.fullmatch(
        r"\d+ training frames against the teacher's labels \(nothing held out: a single "
        r"source, .*; int8 was calibrated on these frames too\)",
        verdict.scored_on,
    )
    assert "training frames (none held out)" in report.parity[0].line()
    card = (report.directory / "MODEL_CARD.md").read_text()
    assert verdict.line() in card and "held-out" not in card


def test_int8_is_scored_on_human_labels_when_the_config_names_them(
    server, assets, tmp_path
) -> None:
    """COCO YOLO11n as the student, the highway set's human labels as eval.gt: cars and
    people scored by name, with mAP50 and each class's AP50 from fp32 to int8."""
    from tests.label_helpers import edit_config

    project = labelled_project(tmp_path, videos=1, images=0)
    gt = assets / "datasets" / "highway" / "data.yaml"
    project = edit_config(project, eval={"gt": str(gt)})
    build_dataset(project)
    weights = tmp_path / "yolo11n.pt"
    shutil.copyfile(assets / "weights" / "yolo11n-coco.pt", weights)
    report = export_student(project, ["onnx"], weights, imgsz=(320, 320), int8=True)
    verdict = report.precision
    assert verdict is not None
    assert re.fullmatch(
        rf"251 human-labelled images of {re.escape(str(gt.resolve()))} \(car, person; "
        r"bus \(\d+ boxes\) not scored; motorbike \(\d+ boxes\) not scored; "
        r"truck \(\d+ boxes\) not scored\)",
        verdict.scored_on,
    )
    fp32 = verdict.get("fp32")
    assert set(fp32.ap50) == {"car", "person"} and fp32.map50 > 0.2
    assert fp32.map50 == pytest.approx(np.mean(list(fp32.ap50.values())), abs=1e-3)
    line = verdict.line()
    assert f"fp32 mAP50 {fp32.map50:.3f}" in line and "mAP50 drop" in line
    assert "AP50 per class, fp32 -> int8: " in line and f"car {fp32.ap50['car']:.3f} -> " in line
    assert report.to_json().count('"ap50_drop_per_class"') == 1


@pytest.mark.parametrize("label", ["person", "traffic light"])
def test_int8_on_labels_of_no_class_the_model_has_is_refused_before_writing(
    project, tmp_path, cli, label
) -> None:
    """eval.gt labels only a class the student lacks (``person``) or one no ontology class
    takes (``traffic light``): every precision would score 0 and int8 "ship" on nothing."""
    from tests.label_helpers import edit_config
    from tests.media import write_image

    gt = tmp_path / "gt"
    (gt / "test" / "images").mkdir(parents=True)
    (gt / "test" / "labels").mkdir(parents=True)
    for index in range(3):
        write_image(gt / "test" / "images" / f"{index}.jpg", seed=index, size=(160, 96))
        (gt / "test" / "labels" / f"{index}.txt").write_text("0 0.5 0.5 0.3 0.4\n")
    (gt / "data.yaml").write_text(f"path: .\ntest: test/images\nnames: {{0: {label}}}\n")
    project = edit_config(project, eval={"gt": str(gt / "data.yaml")})
    weights = confident_student(tmp_path / "student.pt", names=["car"])
    result = cli(
        "export", "-p", str(project.root), "--weights", str(weights), "--int8", "--imgsz", "96,128"
    )
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1, result.err
    assert "int8 cannot be scored on 3 human-labelled images of" in result.err
    assert "no labelled object there is of a class the model has" in result.err
    assert not (project.root / "exports").exists() or not any((project.root / "exports").iterdir())


def test_each_precision_is_scored_by_evals_protocol(assets, tmp_path) -> None:
    """COCO YOLO11n with car, truck and bus renamed to one vehicle: where it calls one bus
    both a bus and a truck, eval's yardstick keeps one vehicle (NMS after the merge). An
    exported file's AP per class on human labels is what eval gives the same file."""
    from ultralytics import YOLO

    from edgedistill.export.scoring import human_scoring
    from edgedistill.ground_truth import check_ground_truth
    from edgedistill.ontology import Ontology
    from edgedistill.student import load_yolo
    from edgedistill.yardstick import predict_ultralytics, score
    from tests.test_quality import ONTOLOGY, highway_subset

    renamed = {"car": "vehicle", "truck": "vehicle", "bus": "vehicle"}
    ontology = Ontology.model_validate({**ONTOLOGY, "class_mapping": renamed})
    human = check_ground_truth(highway_subset(assets, tmp_path / "human", "test", 40, bus=True))
    local = tmp_path / "yolo11n.pt"
    shutil.copyfile(assets / "weights" / "yolo11n-coco.pt", local)
    fp32 = Path(YOLO(str(local)).export(format="onnx", imgsz=320, device="cpu", verbose=False))
    model = load_yolo(fp32, task="detect")
    names = list(model.names.values())
    scoring = human_scoring(human, ontology, names, 40)
    map50, map50_95, ap50 = accuracy(fp32, scoring, (320, 320))
    paths = [image.path for image in scoring.truth.images]
    found = predict_ultralytics(model, paths, 320, "cpu", batch=1)
    on_eval = score("student", fp32.name, human.truth(ontology), ontology, names, found, 0.25)
    assert ap50 == {n: s.ap50 for n, s in on_eval.per_class.items() if s is not None}
    assert (map50, map50_95) == (on_eval.map50, on_eval.map50_95)
    assert "vehicle" in ap50 and ap50["vehicle"] > 0.5
