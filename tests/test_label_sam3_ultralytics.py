"""Meta's sam3.pt through Ultralytics' SAM3 predictor.

The whole path runs on a tiny random SAM3 built by Ultralytics' own builder with its
component sizes reduced (``tests/tiny_sam3_ultralytics.py``): loading, the tokenizer,
batching, the mask threshold and the conversion of the predictor's output. The same on a
randomly initialised full-size model (848 M parameters) runs when EDGEDISTILL_SLOW_SAM3=1
is set (minutes on a CPU).
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
from tests.tiny_sam3_ultralytics import (
    initialise_text_encoder,
    save_tiny_sam3_pt,
    tiny_ultralytics_sam3,
)

clip = pytest.importorskip("clip", reason="the edgedistill[sam3] extra is not installed")

SOT, EOT = 49406, 49407  # CLIP's start and end of text
SMALL_ONTOLOGY_PROMPTS = {"car", "police car", "person", "pedestrian"}


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
    with pytest.raises(EdgedistillError, match="not a PyTorch checkpoint"):
        build_teacher(config, "sam3", {"weights": str(broken), "video": "propagate"})
    monkeypatch.setitem(sys.modules, "clip", None)  # as if the extra were not installed
    with pytest.raises(EdgedistillError, match=r"pip install 'edgedistill\[sam3\]'"):
        build_teacher(config, "sam3", {"weights": str(broken), "device": "cpu"})


@pytest.fixture(scope="module")
def tiny_pt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_sam3_pt(tmp_path_factory.mktemp("weights") / "sam3.pt")


@pytest.fixture
def tiny():
    with tiny_ultralytics_sam3():
        yield


def counting(function, counts: list[int], size=lambda *args, **kwargs: 1):
    def counted(*args, **kwargs):
        counts.append(size(*args, **kwargs))
        return function(*args, **kwargs)

    return counted


def test_tiny_sam3_pt_labels_a_batch_with_one_encoder_pass(tmp_path, tiny_pt, tiny) -> None:
    project = project_with_frames(tmp_path, 5, SMALL_ONTOLOGY)
    sam3 = {"weights": str(tiny_pt), "device": "cpu", "batch_size": 4, "score_floor": 0.0}
    project = edit_config(project, teachers={"sam3": sam3})
    teacher = build_teacher(project.config, "sam3", {})
    predictor = teacher.engine.predictor
    images: list[int] = []
    predictor.get_im_features = counting(predictor.get_im_features, images, lambda im: len(im))
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (5, [])
    assert images == [4, 1]  # frames through the image encoder together, per batch
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT frame_id, prompt, detections FROM label_cache").fetchall()
    assert len(rows) == 5 * 4  # every frame answered for every prompt
    detections = [d for _, _, found in rows for d in json.loads(found)]
    assert detections and all(d["label"] in SMALL_ONTOLOGY_PROMPTS for d in detections)
    assert all(rle_to_mask(d["rle"]).shape == (64, 96) for d in detections)
    assert np.isfinite([d["score"] for d in detections]).all()


def test_a_batch_answers_as_its_frames_alone(tiny_pt, tiny) -> None:
    from edgedistill.teachers.sam3_ultralytics import UltralyticsSam3Images

    engine = UltralyticsSam3Images(inspect_weights(tiny_pt), "cpu", half=False)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (64, 96, 3), dtype=np.uint8) for _ in range(3)]
    prompts = ["car", "person"]
    together = engine.detect(images, prompts, 0.0, 0.5)
    alone = [engine.detect([image], prompts, 0.0, 0.5)[0] for image in images]
    for batch, single in zip(together, alone, strict=True):
        assert batch and len(batch) == len(single)
        assert [d.label for d in batch] == [d.label for d in single]
        assert [d.score for d in batch] == pytest.approx([d.score for d in single], abs=1e-5)
        assert [d.rle for d in batch] == [d.rle for d in single]


def test_mask_threshold_decides_the_mask_pixels(tiny_pt, tiny) -> None:
    from edgedistill.teachers.sam3_ultralytics import UltralyticsSam3Images, mask_logit

    assert mask_logit(0.5) == 0.0 and mask_logit(0.0) < -1e9 and mask_logit(1.0) > 1e9
    engine = UltralyticsSam3Images(inspect_weights(tiny_pt), "cpu", half=False)
    image = np.random.default_rng(1).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    areas = {}
    for threshold in (0.3, 0.5, 0.7):
        found = engine.detect([image], ["car"], 0.0, threshold)[0]
        areas[threshold] = sum(int(rle_to_mask(d.rle).sum()) for d in found)
    assert areas[0.3] > areas[0.5] > areas[0.7]


def random_sam3_pt(path: Path) -> Path:
    """A randomly initialised SAM3 from Ultralytics' own builder, saved in Meta's layout."""
    from ultralytics.models.sam.build_sam3 import build_sam3_image_model

    empty = path.with_name("empty.pt")
    torch.save({}, empty)  # nothing to load: the builder's random initialisation stays
    torch.manual_seed(0)
    model = build_sam3_image_model(str(empty))
    initialise_text_encoder(model.backbone.language_backbone.encoder)
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
    passes: list[int] = []
    teacher.engine.predictor.get_im_features = counting(encoder, passes, lambda im: len(im))
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (2, [])
    assert passes == [2]  # both frames through the encoder at once, for all four prompts
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT prompt, detections FROM label_cache").fetchall()
    assert {row[0] for row in rows} == {"car", "police car", "person", "pedestrian"}
    for _, detections in rows:
        for detection in json.loads(detections):
            assert rle_to_mask(detection["rle"]).shape == (64, 96)
    assert np.isfinite([d["score"] for _, ds in rows for d in json.loads(ds)]).all()
