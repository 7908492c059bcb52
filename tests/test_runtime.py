"""The student runtime: ONNX Runtime with numpy pre/post-processing finds what Ultralytics'
predictor finds, on real footage, for every output layout an export can have."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import supervision as sv
import torch
import torchvision
from ultralytics import YOLO
from ultralytics.data.augment import LetterBox

from edgedistill.media.video import VideoReader
from edgedistill.runtime import OnnxStudent, RuntimeLoadError, open_runtime
from edgedistill.runtime.decode import nms
from edgedistill.runtime.letterbox import InputBuffer, place
from edgedistill.student import PHONE_INPUT
from tests.conftest import ASSETS
from tests.test_export import confident_student

CLIP = ASSETS / "videos" / "dashcam_highway_960x540.mp4"
WEIGHTS = ASSETS / "weights"


def clip_frames(every: int = 20) -> list[np.ndarray]:
    with VideoReader(CLIP) as reader:
        frames = [f.image for f in reader.sample(fps=0, max_side=960)][::every]
    # The phone's landscape frame, the clip itself and a portrait crop: bars on each side.
    return [frames[0][30:510, 160:800], *frames[1:], frames[-1][:, 300:600].copy()]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """COCO-pretrained YOLO11n and YOLO26n exported in each output layout."""
    if not (WEIGHTS / "yolo11n-coco.pt").is_file() or not CLIP.is_file():
        pytest.skip("../shared/assets is not present")
    folder = tmp_path_factory.mktemp("exports")
    layouts = {
        "yolo11n anchors": ("yolo11n-coco.pt", {}),
        "yolo11n nms inside": ("yolo11n-coco.pt", {"nms": True}),
        "yolo26n end to end": ("yolo26n-coco.pt", {"nms": False}),
    }
    files = {}
    for index, (name, (weights, options)) in enumerate(layouts.items()):
        local = shutil.copyfile(WEIGHTS / weights, folder / f"model{index}.pt")
        exported = YOLO(str(local)).export(
            format="onnx", imgsz=PHONE_INPUT, device="cpu", verbose=False, **options
        )
        files[name] = Path(exported)
    return files


@pytest.mark.parametrize("layout", ["yolo11n anchors", "yolo11n nms inside", "yolo26n end to end"])
def test_onnx_runtime_finds_what_ultralytics_finds(exports, layout) -> None:
    path = exports[layout]
    ours, reference = open_runtime(path), YOLO(str(path), task="detect")
    total = 0
    for image in clip_frames():
        theirs = sv.Detections.from_ultralytics(
            reference.predict(image, imgsz=PHONE_INPUT, conf=0.25, verbose=False)[0]
        )
        found = ours.detect(image, conf=0.25)
        assert len(found) == len(theirs)
        total += len(theirs)
        if len(theirs):
            iou = sv.box_iou_batch(theirs.xyxy, found.xyxy)
            iou[theirs.class_id[:, None] != found.class_id[None, :]] = 0  # same class only
            match = iou.argmax(axis=1)
            assert iou.max(axis=1).min() > 0.999
            assert np.abs(theirs.confidence - found.confidence[match]).max() < 1e-3
    assert total > 20  # real cars on a real road
    assert ours.names == list(reference.names.values())


def test_pt_students_go_through_the_same_interface(tmp_path) -> None:
    if not (WEIGHTS / "yolo26n-coco.pt").is_file():
        pytest.skip("../shared/assets is not present")
    weights = shutil.copyfile(WEIGHTS / "yolo26n-coco.pt", tmp_path / "student.pt")
    student = open_runtime(weights)
    found = student.detect(clip_frames()[1], conf=0.25)
    assert len(found) > 0 and "car" in {student.names[i] for i in found.class_id}
    assert student.input_size == PHONE_INPUT


def test_the_input_is_ultralytics_letterbox_frame_after_frame() -> None:
    """One buffer, frames of changing sizes (bars left and right, above and below, none)."""
    buffer = InputBuffer(PHONE_INPUT)
    rng = np.random.default_rng(0)
    for size in [(540, 960), (1080, 1920), (333, 517), (640, 200), (480, 640), (333, 517)]:
        image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        placement = buffer.fill(image)
        theirs = LetterBox(PHONE_INPUT, auto=False, stride=32)(image=image)
        expected = theirs[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
        assert np.allclose(buffer.tensor, expected, atol=1e-6)
        inner = np.array([[0, 0, placement.inner[1], placement.inner[0]]], dtype=np.float32)
        inner += [placement.left, placement.top, placement.left, placement.top]
        assert np.allclose(placement.to_frame(inner), [[0, 0, size[1], size[0]]], atol=1e-3)


def test_nms_keeps_what_torchvision_keeps() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        corners = rng.uniform(0, 600, (200, 2)).astype(np.float32)
        boxes = np.concatenate([corners, corners + rng.uniform(5, 120, (200, 2))], axis=1)
        boxes = boxes.astype(np.float32)
        scores = rng.uniform(0, 1, 200).astype(np.float32)
        expected = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.7)
        assert np.array_equal(nms(boxes, scores, 0.7), expected.numpy())


def test_geometry_of_a_frame_smaller_than_the_input() -> None:
    placement = place((240, 320), PHONE_INPUT)  # scaled up 2x, no bars
    assert placement.inner == (480, 640) and placement.top == placement.left == 0


def test_bad_files_are_one_sentence(exports, tmp_path) -> None:
    with pytest.raises(RuntimeLoadError, match="no such model file"):
        open_runtime(tmp_path / "missing.onnx")
    text = tmp_path / "model.onnx"
    text.write_text("not a model")
    with pytest.raises(RuntimeLoadError, match="not a model ONNX Runtime can load"):
        open_runtime(text)
    proto = onnx.load(str(exports["yolo11n anchors"]))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    with pytest.raises(RuntimeLoadError, match="no class names in the model's metadata"):
        open_runtime(bare)
    with pytest.raises(RuntimeLoadError, match="expected a .pt or .onnx student"):
        open_runtime(shutil.copyfile(text, tmp_path / "model.tflite"))


def test_an_onnx_student_runs_without_pytorch(exports) -> None:
    """The HUD's and the server's process stay small: no torch, no Ultralytics."""
    script = (
        "import sys; from pathlib import Path; import numpy as np\n"
        "from edgedistill.runtime import open_runtime\n"
        f"student = open_runtime(Path({str(exports['yolo11n anchors'])!r}))\n"
        "student.detect(np.zeros((540, 960, 3), np.uint8), 0.25)\n"
        "print(sorted(m for m in ('torch', 'ultralytics') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_thread_count_is_what_was_asked(exports) -> None:
    student = OnnxStudent(exports["yolo11n anchors"], iou=0.7, threads=1)
    options = student.session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1


def test_the_model_lock_is_held_only_while_the_model_runs(exports) -> None:
    """The server's lock: held once per frame, around inference alone."""
    student = open_runtime(exports["yolo11n anchors"])
    image = clip_frames()[1]

    class Watched:
        held = 0

        def __enter__(self) -> None:
            Watched.held += 1

        def __exit__(self, *_: object) -> None:
            return None

    found = student.detect(image, 0.25, model_lock=Watched())
    assert Watched.held == 1 and len(found) == len(student.detect(image, 0.25))


def test_a_dynamic_batch_runs_at_its_exported_size_and_other_batches_are_refused(
    tmp_path,
) -> None:
    weights = confident_student(tmp_path / "student.pt")

    def export(name: str, **options: object) -> Path:
        local = shutil.copyfile(weights, tmp_path / f"{name}.pt")
        return Path(
            YOLO(str(local)).export(
                format="onnx", imgsz=PHONE_INPUT, device="cpu", verbose=False, **options
            )
        )

    dynamic = export("dynamic", dynamic=True)
    student = OnnxStudent(dynamic, iou=0.7)
    assert student.dynamic_batch and student.input_size == PHONE_INPUT  # from the metadata
    assert not OnnxStudent(export("fixed"), iou=0.7).dynamic_batch
    with pytest.raises(RuntimeLoadError, match="exported for batches of exactly 2 frames"):
        open_runtime(export("pairs", batch=2))
    proto = onnx.load(str(dynamic))
    kept = [p for p in proto.metadata_props if p.key != "imgsz"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    onnx.save(proto, str(tmp_path / "sizeless.onnx"))
    with pytest.raises(RuntimeLoadError, match="input size is dynamic and the metadata has no"):
        open_runtime(tmp_path / "sizeless.onnx")
