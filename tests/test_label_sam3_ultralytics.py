"""Meta's sam3.pt through Ultralytics' SAM3 predictor.

Ultralytics builds SAM3 at its one real size (848 M parameters), so no tiny
model can be made with its builder. The tokenizer, the conversion of the predictor's
output and every way the set-up can fail are tested here; the whole path on a
randomly initialised full-size model runs when EDGEDISTILL_SLOW_SAM3=1 is set
(minutes on a CPU).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgedistill.errors import EdgedistillError
from edgedistill.label import label_project
from edgedistill.masks import rle_to_mask
from edgedistill.teachers import build_teacher
from edgedistill.teachers.sam3_ultralytics import ClipTokenizer, to_raw_detections
from edgedistill.teachers.sam3_weights import inspect_weights
from tests.label_helpers import SMALL_ONTOLOGY, edit_config, project_with_frames

clip = pytest.importorskip("clip", reason="the edgedistill[sam3] extra is not installed")

SOT, EOT = 49406, 49407  # CLIP's start and end of text


def test_tokenizer_matches_clip_and_the_call_ultralytics_makes() -> None:
    tokenizer = ClipTokenizer()
    tokens = tokenizer(["police car", "a person"], context_length=32)
    assert tokens.shape == (2, 32) and tokens.dtype == torch.long
    words = clip.simple_tokenizer.SimpleTokenizer().encode("police car")
    assert tokens[0, : len(words) + 2].tolist() == [SOT, *words, EOT]
    assert not tokens[0, len(words) + 2 :].any()  # zero padding: Ultralytics' attention mask
    long = tokenizer("car " * 40, context_length=32)
    assert long.shape == (1, 32) and long[0, -1] == EOT  # truncated, still ends the text


def test_predictor_output_becomes_raw_detections() -> None:
    masks = torch.zeros((3, 64, 96), dtype=torch.bool)
    masks[0, 10:20, 30:50] = True
    masks[1, 40:60, 0:10] = True  # masks[2] is empty: dropped
    boxes = torch.tensor(
        [
            [30.0, 10.0, 50.0, 20.0, 0.91, 1.0],
            [0.0, 40.0, 10.0, 60.0, 0.07, 0.0],
            [5.0, 5.0, 6.0, 6.0, 0.5, 2.0],
        ]
    )
    found = to_raw_detections(masks, boxes, ["car", "police car", "person"])
    assert [(d.label, round(d.score, 2)) for d in found] == [("police car", 0.91), ("car", 0.07)]
    assert found[0].box == pytest.approx((30.0, 10.0, 50.0, 20.0))
    assert (rle_to_mask(found[0].rle) == masks[0].numpy()).all()
    assert to_raw_detections(None, torch.zeros((0, 6)), ["car"]) == []


def test_checkpoint_file_is_fingerprinted_by_its_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "sam3.pt", tmp_path / "renamed.pt"
    first.write_bytes(b"weights one")
    second.write_bytes(b"weights one")
    assert inspect_weights(first).kind == "ultralytics"
    assert inspect_weights(first).digest == inspect_weights(second).digest
    second.write_bytes(b"weights two")
    assert inspect_weights(first).digest != inspect_weights(second).digest


def test_set_up_problems_are_one_sentence(tmp_path: Path, monkeypatch) -> None:
    project = project_with_frames(tmp_path, 1, SMALL_ONTOLOGY)
    config = project.config
    with pytest.raises(EdgedistillError, match="no such checkpoint file"):
        build_teacher(config, "sam3", {"weights": str(tmp_path / "missing.pt")})
    broken = tmp_path / "sam3.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(EdgedistillError, match="not a PyTorch checkpoint"):
        build_teacher(config, "sam3", {"weights": str(broken), "device": "cpu"})
    other = tmp_path / "yolo.pt"
    torch.save({"model": {"backbone.conv.weight": torch.zeros(1)}}, other)
    with pytest.raises(EdgedistillError, match="not Meta's SAM3 checkpoint"):
        build_teacher(config, "sam3", {"weights": str(other), "device": "cpu"})
    with pytest.raises(EdgedistillError, match="transformers checkpoint"):
        build_teacher(config, "sam3", {"weights": str(broken), "video": "propagate"})
    monkeypatch.setitem(sys.modules, "clip", None)  # as if the extra were not installed
    with pytest.raises(EdgedistillError, match=r"pip install 'edgedistill\[sam3\]'"):
        build_teacher(config, "sam3", {"weights": str(broken), "device": "cpu"})


def random_sam3_pt(path: Path) -> Path:
    """A randomly initialised SAM3 from Ultralytics' own builder, saved in Meta's layout."""
    from ultralytics.models.sam.build_sam3 import build_sam3_image_model

    empty = path.with_name("empty.pt")
    torch.save({}, empty)  # nothing to load: the builder's random initialisation stays
    torch.manual_seed(0)
    model = build_sam3_image_model(str(empty))
    torch.save({"model": {f"detector.{k}": v for k, v in model.state_dict().items()}}, path)
    return path


@pytest.mark.skipif(
    os.environ.get("EDGEDISTILL_SLOW_SAM3") != "1",
    reason="full-size SAM3 on the CPU takes minutes; set EDGEDISTILL_SLOW_SAM3=1",
)
def test_full_size_random_sam3_pt_labels_frames(tmp_path: Path) -> None:
    checkpoint = random_sam3_pt(tmp_path / "sam3.pt")
    project = project_with_frames(tmp_path, 2, SMALL_ONTOLOGY)
    project = edit_config(project, teachers={"sam3": {"weights": str(checkpoint), "device": "cpu"}})
    teacher = build_teacher(project.config, "sam3", {"score_floor": 0.0})
    encoder = teacher.engine.predictor.get_im_features
    passes = []
    teacher.engine.predictor.get_im_features = lambda im: passes.append(1) or encoder(im)
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (2, [])
    assert len(passes) == 2  # one encoder pass per frame for all four prompts
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT prompt, detections FROM label_cache").fetchall()
    assert {row[0] for row in rows} == {"car", "police car", "person", "pedestrian"}
    for _, detections in rows:
        for detection in json.loads(detections):
            assert rle_to_mask(detection["rle"]).shape == (64, 96)
    assert np.isfinite([d["score"] for _, ds in rows for d in json.loads(ds)]).all()
