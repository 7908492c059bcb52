"""Export: ONNX written, reloaded and checked against the PyTorch student; the model card."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import onnx
import pytest
import torch

from edgedistill.cli import main
from edgedistill.dataset import build_dataset
from edgedistill.errors import EdgedistillError
from edgedistill.export import export_student
from edgedistill.export.parity import ParityFrames, check_parity
from tests.test_dataset import labelled_project


def confident_student(path: Path, bias: float = 4.0, names: Sequence[str] = ()) -> Path:
    """YOLO11n with random weights whose class-0 scores are lifted: it finds boxes. Its
    first classes are called ``names`` (the others keep their numbers)."""
    from ultralytics import YOLO

    torch.manual_seed(0)
    model = YOLO("yolo11n.yaml")
    for branch in model.model.model[-1].cv3:
        branch[-1].bias.data[0] = bias
    model.model.names = {**model.model.names, **dict(enumerate(names))}
    model.save(str(path))
    return path


@pytest.fixture
def project(server, tmp_path):
    project = labelled_project(tmp_path, videos=2, images=3)
    build_dataset(project)
    return project


def test_onnx_export_passes_parity_and_carries_metadata(project, tmp_path) -> None:
    weights = confident_student(tmp_path / "student.pt")
    report = export_student(project, ["onnx"], weights, conf=0.25, parity_frames=4)
    (parity,) = report.parity
    assert parity.ok and parity.reference_boxes > 0
    assert parity.matched == parity.reference_boxes and parity.min_iou >= 0.9
    assert parity.line().startswith("parity: onnx on 4 held-out frames:")
    onnx_file = report.directory / "student.onnx"
    assert onnx_file.is_file() and report.files[0].format == "onnx"
    metadata = {p.key: p.value for p in onnx.load(str(onnx_file)).metadata_props}
    assert metadata["conf"] == "0.25" and metadata["iou"] == "0.45"
    assert "imgsz" in metadata and "names" in metadata
    card = report.card.read_text()
    assert "| police car | police car (a kind of car) |" in card
    assert "[1, 4 + 3, N]" in card and "AGPL-3.0" in card and "SAM License" in card


def test_a_dynamic_onnx_export_has_a_batch_axis_and_passes_parity(project, tmp_path, cli) -> None:
    weights = confident_student(tmp_path / "student.pt")
    report = export_student(project, ["onnx"], weights, parity_frames=2, dynamic=True)
    assert report.parity[0].ok and report.parity[0].reference_boxes > 0
    dims = onnx.load(str(report.directory / "student.onnx")).graph.input[0].type.tensor_type
    assert dims.shape.dim[0].dim_param == "batch"
    result = cli(
        "export", "-p", str(project.root), "--weights", str(weights), "-f", "coreml", "--dynamic"
    )
    assert result.code == 2 and "--dynamic applies to the onnx format only" in result.err


def test_parity_fails_loudly_when_models_differ(project, tmp_path) -> None:
    from ultralytics import YOLO

    one = YOLO(str(confident_student(tmp_path / "a.pt", bias=4.0)))
    other = YOLO(str(confident_student(tmp_path / "b.pt", bias=-20.0)))  # finds nothing
    frames = sorted((project.root / "datasets").rglob("images/*/*.jpg"))[:2]
    parity = check_parity("onnx", one, other, ParityFrames(frames), (480, 640), 0.25)
    assert not parity.ok and parity.matched == 0 and parity.reference_boxes > 0
    assert parity.line().endswith("FAILED")


def test_export_problems_are_one_sentence(project, tmp_path, cli) -> None:
    with pytest.raises(EdgedistillError, match="unknown export format 'tensorrt'"):
        export_student(project, ["tensorrt"], tmp_path / "x.pt")
    with pytest.raises(EdgedistillError, match="no trained student"):
        export_student(project, ["onnx"])
    result = cli("export", "-p", str(project.root), "--imgsz", "480x640")
    assert result.code == 2 and "--imgsz takes HEIGHT,WIDTH" in result.err


def test_formats_that_need_a_package_say_which(project, tmp_path) -> None:
    pytest.importorskip("ultralytics")
    try:
        import coremltools  # noqa: F401
    except ImportError:
        with pytest.raises(EdgedistillError, match=r"pip install 'edgedistill\[coreml\]'"):
            export_student(project, ["coreml"], tmp_path / "x.pt")
    else:
        pytest.skip("coremltools is installed here")


def test_litert_export_passes_parity_where_its_runtime_installs(project, tmp_path) -> None:
    pytest.importorskip("litert_torch")
    weights = confident_student(tmp_path / "student.pt")
    report = export_student(project, ["litert"], weights, conf=0.25, parity_frames=2)
    (parity,) = report.parity
    assert parity.ok and parity.reference_boxes > 0
    assert (report.directory / "student.tflite").is_file()


def test_coreml_export_embeds_nms(project, tmp_path) -> None:
    pytest.importorskip("coremltools")
    weights = confident_student(tmp_path / "student.pt")
    report = export_student(project, ["coreml"], weights, conf=0.25)
    assert (report.directory / "student.mlpackage").is_dir()
    assert report.skipped_parity == ["coreml"] and "NMS embedded" in report.files[0].note


def test_export_prints_no_stale_paths_of_ultralytics(project, tmp_path, capfd) -> None:
    """Ultralytics' exporter names files beside the weights, which the stage moves away."""
    weights = confident_student(tmp_path / "student.pt")
    code = main(["export", "-p", str(project.root), "--weights", str(weights)])
    printed = "".join(capfd.readouterr())
    assert code == 0, printed
    assert "parity: onnx" in printed
    assert "Results saved to" not in printed and "yolo predict" not in printed


def test_eval_checks_ground_truth_first_and_leaves_no_half_report(project, tmp_path, cli) -> None:
    weights = confident_student(tmp_path / "student.pt")
    for gt in (tmp_path / "missing.yaml", tmp_path):
        result = cli("eval", "-p", str(project.root), "--weights", str(weights), "--gt", str(gt))
        assert result.code == 1 and len(result.err.strip().splitlines()) == 1, result.err
    assert (
        not list((project.root / "reports").glob("*"))
        if (project.root / "reports").exists()
        else True
    )
