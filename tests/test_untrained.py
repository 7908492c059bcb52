"""Classes the student never saw a box of are never output, by any runtime or export."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edgedistill.app_model import NMS_IOU, read_app_model
from edgedistill.media.images import read_image
from edgedistill.runtime import OnnxStudent
from edgedistill.untrained import (
    MASKED_BIAS,
    mask_classes,
    masked_classes,
    unmask_for_training,
)


def _found(model, images: list[Path], conf: float) -> Counter[str]:
    found: Counter[str] = Counter()
    for result in model.predict([str(p) for p in images], conf=conf, verbose=False):
        found.update(result.names[int(c)] for c in result.boxes.cls.tolist())
    return found


@pytest.mark.parametrize("weights", ["yolo11n-coco.pt", "yolo26n-coco.pt"])
def test_masked_classes_vanish_from_pytorch_and_onnx(assets, tmp_path, weights) -> None:
    from ultralytics import YOLO

    stills = sorted((assets / "images" / "dashcam_stills").glob("*.jpg"))
    checkpoint = Path(shutil.copyfile(assets / "weights" / weights, tmp_path / weights))
    before = _found(YOLO(str(checkpoint)), stills, conf=0.01)
    gone = [name for name, _ in before.most_common(2)]  # what the masking must take away
    assert "car" in gone and before[gone[1]] > 0

    mask_classes(checkpoint, gone)
    masked = YOLO(str(checkpoint))
    assert masked_classes(masked) == gone
    after = _found(masked, stills, conf=0.001)
    assert not set(after) & set(gone)
    assert sum(after.values()) > 0  # the other classes still answer
    exported = masked.export(format="onnx", imgsz=(480, 640), verbose=False)
    onnx = OnnxStudent(Path(exported), NMS_IOU)
    for still in stills:
        detections = onnx.detect(read_image(still), 0.001)
        names = {onnx.names[int(c)] for c in detections.class_id}
        assert not names & set(gone)


def test_a_masked_student_learns_its_classes_again(assets, tmp_path) -> None:
    from ultralytics import YOLO

    checkpoint = Path(shutil.copyfile(assets / "weights" / "yolo11n-coco.pt", tmp_path / "a.pt"))
    mask_classes(checkpoint, ["car"])
    model = YOLO(str(checkpoint))
    head = model.model.model[-1]
    car = list(model.names.values()).index("car")
    assert all(float(branch[-1].bias[car].detach()) == MASKED_BIAS for branch in head.cv3)
    assert unmask_for_training(model) == ["car"]
    for branch in head.cv3:
        conv = branch[-1]
        assert -15 < float(conv.bias[car]) < 0  # Ultralytics' prior: a few objects an image
        assert float(np.abs(conv.weight[car].detach().numpy()).sum()) > 0
    assert masked_classes(model) == []


def test_training_masks_classes_the_footage_lacks(cli, assets, tmp_path, monkeypatch) -> None:
    """A driving project on the real dashcam clip: the footage shows cars and trucks only,
    so the other ontology classes are masked, said, recorded and never output."""
    monkeypatch.chdir(tmp_path)
    weights = assets / "weights" / "yolo11n-coco.pt"
    clip = assets / "videos" / "dashcam_highway_960x540.mp4"
    assert cli("init", "drive").code == 0
    project = ["--project", "drive"]
    assert cli("ingest", str(clip), *project, "--fps", "1").code == 0
    labelled = cli("label", *project, "--teacher", "ultralytics", "--weights", str(weights))
    assert labelled.code == 0, labelled.err
    assert cli("dataset", *project).code == 0
    trained = cli(
        "train", *project, "--model", str(weights), "--epochs", "1", "--imgsz", "160",
        "--batch", "4",
    )  # fmt: skip
    assert trained.code == 0, trained.err
    assert "show no person, cyclist" in trained.err  # said before training
    assert "never outputs (no training boxes, masked): person" in trained.out
    (run,) = (tmp_path / "drive" / "runs" / "train").iterdir()
    recorded = json.loads((run / "run.json").read_text())["untrained_classes"]
    untrained = set(recorded["classes"])
    assert {"emergency lights", "ambulance", "scooter", "police car"} <= untrained
    assert "car" not in untrained and "no training boxes" in recorded["reason"]

    status = json.loads(cli("status", *project, "--json").out)
    assert set(status["student_untrained"]) == untrained
    app = tmp_path / "app-model"
    exported = cli("export-app", *project, "--out", str(app))
    assert exported.code == 0, exported.err
    manifest = read_app_model(app)
    assert set(manifest["untrained_classes"]) == untrained
    student = OnnxStudent(app / "model.onnx", NMS_IOU)
    emitted: Counter[str] = Counter()
    for frame in sorted((tmp_path / "drive" / "frames").rglob("*.jpg")):
        detections = student.detect(read_image(frame), 0.01)
        emitted.update(student.names[int(c)] for c in detections.class_id)
    assert emitted["car"] > 0 and not set(emitted) & untrained
    card = cli("export", *project, "-f", "onnx")
    assert card.code == 0, card.err
    text = next((tmp_path / "drive" / "exports").rglob("MODEL_CARD.md")).read_text()
    assert "**Never output:** person, cyclist" in text

    # A run trained before masking existed: live rows, no record. Its first use masks it.
    from ultralytics import YOLO

    best = run / "weights" / "best.pt"
    old = YOLO(str(best))
    unmask_for_training(old)
    old.save(str(best))
    saved = json.loads((run / "run.json").read_text())
    del saved["untrained_classes"]
    (run / "run.json").write_text(json.dumps(saved))
    assert masked_classes(YOLO(str(best))) == []
    again = cli("export-app", *project, "--out", str(app))
    assert again.code == 0, again.err
    assert "masked the classes run" in again.err
    assert set(masked_classes(YOLO(str(best)))) == untrained
    assert set(read_app_model(app)["untrained_classes"]) == untrained
