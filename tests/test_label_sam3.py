"""The local SAM3 teacher on a tiny random Sam3Model: the real transformers code path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from edgedistill.errors import EdgedistillError
from edgedistill.label import label_project
from edgedistill.masks import rle_to_mask
from edgedistill.status import project_status
from edgedistill.teachers import build_teacher
from edgedistill.teachers.cache import LabelCache
from tests.label_helpers import SMALL_ONTOLOGY, edit_config, project_with_frames
from tests.tiny_sam3 import save_tiny_sam3, save_tiny_sam3_lite_text, save_tiny_sam3_video


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_sam3(tmp_path_factory.mktemp("weights") / "tiny-sam3")


def sam3(project, weights: Path, **settings):
    project = edit_config(
        project, teachers={"sam3": {"weights": str(weights), "device": "cpu", **settings}}
    )
    return build_teacher(project.config, "sam3", {})


def test_labels_every_frame_with_masks_at_frame_size(tmp_path, weights) -> None:
    project = project_with_frames(tmp_path, 3, SMALL_ONTOLOGY)
    teacher = sam3(project, weights)
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (3, [])
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT prompt, detections FROM label_cache").fetchall()
    assert len(rows) == 3 * 4
    assert {row[0] for row in rows} == {"car", "police car", "person", "pedestrian"}
    detections = [d for row in rows for d in json.loads(row[1])]
    assert detections, "the random model scores every query above the 0.05 floor"
    for detection in detections:
        assert rle_to_mask(detection["rle"]).shape == (64, 96)
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 <= x2 <= 96 and 0 <= y1 <= y2 <= 64
    assert project_status(project).labelled_frames == 3
    assert label_project(project, teacher).frames_pending == 0


def test_image_features_once_per_batch_not_per_prompt(tmp_path, weights) -> None:
    project = project_with_frames(tmp_path, 3, SMALL_ONTOLOGY)
    teacher = sam3(project, weights, batch_size=2)
    calls = {"vision": 0, "heads": 0}
    vision, heads = teacher.engine.model.get_vision_features, teacher.engine.model.forward

    def count_vision(*args, **kwargs):
        calls["vision"] += 1
        return vision(*args, **kwargs)

    def count_heads(*args, **kwargs):
        assert kwargs.get("pixel_values") is None  # never the image encoder again
        calls["heads"] += 1
        return heads(*args, **kwargs)

    teacher.engine.model.get_vision_features = count_vision
    teacher.engine.model.forward = count_heads
    label_project(project, teacher)
    assert calls == {"vision": 2, "heads": 2 * 4}  # two batches (2 + 1 frames), four prompts


def test_fingerprint_follows_the_weights_and_output_settings(tmp_path, weights) -> None:
    project = project_with_frames(tmp_path, 1, SMALL_ONTOLOGY)
    first = sam3(project, weights).fingerprint
    assert sam3(project, weights, batch_size=1).fingerprint == first  # speed knob only
    assert sam3(project, weights, score_floor=0.2).fingerprint != first


def test_a_new_prompt_asks_only_for_that_prompt(tmp_path, weights) -> None:
    project = project_with_frames(tmp_path, 2, SMALL_ONTOLOGY)
    label_project(project, sam3(project, weights))
    bigger = {"classes": [*SMALL_ONTOLOGY["classes"], {"name": "bus"}]}
    project = edit_config(project, ontology=bigger)
    teacher = sam3(project, weights)
    asked = []
    heads = teacher.engine.model.forward
    teacher.engine.model.forward = lambda *a, **k: asked.append(1) or heads(*a, **k)
    report = label_project(project, teacher)
    assert report.frames_labelled == 2 and len(asked) == 1  # one batch, one prompt


def test_missing_weights_say_where_to_get_them(tmp_path) -> None:
    project = project_with_frames(tmp_path, 1, SMALL_ONTOLOGY)
    with pytest.raises(EdgedistillError) as caught:
        build_teacher(project.config, "sam3", {})
    assert "facebook/sam3" in str(caught.value) and "--weights" in str(caught.value)
    with pytest.raises(EdgedistillError, match="no SAM3 weights there"):
        build_teacher(project.config, "sam3", {"weights": str(tmp_path)})
    (tmp_path / "config.json").write_text('{"model_type": "sam2"}')
    with pytest.raises(EdgedistillError, match="model_type 'sam2' is not SAM3"):
        build_teacher(project.config, "sam3", {"weights": str(tmp_path)})


def test_lite_text_is_told_apart_by_its_config_and_runs_the_same_path(tmp_path) -> None:
    lite = save_tiny_sam3_lite_text(tmp_path / "lite")
    project = project_with_frames(tmp_path, 2, SMALL_ONTOLOGY)
    teacher = sam3(project, lite)
    assert teacher.weights.kind == "sam3_lite_text"
    assert type(teacher.engine.model).__name__ == "Sam3LiteTextModel"
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (2, [])
    with project.open_catalog() as catalog:
        rows = catalog.execute("SELECT detections FROM label_cache").fetchall()
    assert len(rows) == 2 * 4 and any(json.loads(row[0]) for row in rows)
    assert teacher.fingerprint != sam3(project, save_tiny_sam3(tmp_path / "full")).fingerprint


def test_the_video_checkpoint_labels_frame_by_frame_with_its_detector(tmp_path) -> None:
    video = save_tiny_sam3_video(tmp_path / "video")  # the layout of facebook/sam3
    project = project_with_frames(tmp_path, 2, SMALL_ONTOLOGY)
    teacher = sam3(project, video)
    assert teacher.weights.kind == "sam3_video" and not teacher.propagates
    assert type(teacher.engine.model).__name__ == "Sam3Model"
    from transformers import Sam3VideoModel

    detector = Sam3VideoModel.from_pretrained(video).detector_model.state_dict()
    loaded = teacher.engine.model.state_dict()
    assert all(torch.equal(loaded[k], detector[k]) for k in loaded)  # trained, not random
    report = label_project(project, teacher)
    assert (report.frames_labelled, report.failures) == (2, [])


def test_eval_can_ask_it_down_to_the_yardsticks_floor(tmp_path, weights) -> None:
    """eval runs local SAM3 (on a GPU) at score 0.001 like every model, not at its floor."""
    project = project_with_frames(tmp_path, 1, SMALL_ONTOLOGY)
    teacher = sam3(project, weights, score_floor=0.5)
    with project.open_catalog() as catalog:
        (frame,) = LabelCache(catalog).pending(teacher.fingerprint, ("car",), project.root)
    floored = [d for r in teacher.predict(iter([frame])) for d in r.detections]
    assert teacher.answer_down_to(0.001, 0.7, 300)
    assert teacher.settings.score_floor == 0.001
    everything = [d for r in teacher.predict(iter([frame])) for d in r.detections]
    assert all(d.score >= 0.5 for d in floored) and any(d.score < 0.5 for d in everything)
    assert len(everything) > len(floored)
