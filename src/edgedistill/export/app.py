"""The student as the Expo app needs it: an ONNX file and ``model.json`` in ``app/public/model``.

``model.json`` carries what the app's TypeScript HUD must know to decode and draw: class
names, input size, output format (``end2end``, ``[1, 300, 6]``: YOLO26 as it is, YOLO11 with
its NMS in the graph; ``yolo``, ``[1, 4+nc, N]``, in older files), thresholds, the HUD
settings, and each file's SHA-256 so that
a model fetched over the air from ``edgedistill serve``'s ``GET /model`` can be verified.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from edgedistill.app_model import MANIFEST, MODEL_FILE, NMS_IOU, AppModel
from edgedistill.config import HudConfig
from edgedistill.errors import EdgedistillError
from edgedistill.export.formats import get_format
from edgedistill.export.parity import ParityFrames, check_parity
from edgedistill.logs import ultralytics_silenced
from edgedistill.media.store import file_sha256
from edgedistill.student import PHONE_INPUT, load_weights, load_yolo
from edgedistill.untrained import REASON, masked_classes

NMS_CONF_FLOOR = 0.05  # the lowest confidence the app's Settings allow


def export_app_model(
    weights: Path,
    out_dir: Path,
    hud: HudConfig,
    imgsz: tuple[int, int] = PHONE_INPUT,
    parity_frames: list[Path] | None = None,
) -> AppModel:
    """Exports ``weights`` to ONNX and writes it with ``model.json`` into ``out_dir``.

    With ``parity_frames`` the ONNX file must find what the PyTorch student finds there
    (the float tolerance of ``edgedistill export``), or nothing is written."""
    if not weights.is_file():
        raise EdgedistillError(f"{weights}: no such weights file")
    with tempfile.TemporaryDirectory() as tmp:
        # Ultralytics writes the export beside the weights, which may be read-only.
        local = Path(tmp) / weights.name
        shutil.copyfile(weights, local)
        model = load_weights(local, task="detect", shown=weights)
        get_format("onnx")  # says which package is missing, if one is
        # The phone reads [1, 300, 6] either way: nms=False keeps YOLO26's NMS-free head; a
        # YOLO11 head gets Ultralytics' NMS in the graph, run by ONNX Runtime, off the JS thread.
        end2end = getattr(model.model, "end2end", False)
        nms = {"nms": False} if end2end else {"nms": True, "iou": NMS_IOU, "conf": NMS_CONF_FLOOR}
        with ultralytics_silenced():  # it prints paths in the temporary folder
            onnx_path = Path(
                model.export(format="onnx", imgsz=imgsz, device="cpu", verbose=False, **nms)
            )
            parity = _parity(local, onnx_path, parity_frames, imgsz, hud.conf)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / MODEL_FILE
        shutil.copyfile(onnx_path, target)
    names = [str(n) for n in model.names.values()]
    untrained = masked_classes(model)
    shape = onnx_output_shape(target)
    checksum = file_sha256(target)
    info = AppModel(
        version=checksum[:12],
        names=names,
        input_size=imgsz,
        output_format="end2end" if shape[-1] == 6 else "yolo",
        output_shape=shape,
        conf=hud.conf,
        iou=NMS_IOU,
        files={"onnx": {"path": MODEL_FILE, "sha256": checksum, "bytes": target.stat().st_size}},
        hud=hud.model_dump(),
        licence="AGPL-3.0 (Ultralytics YOLO weights and code)",
        parity=parity,
        untrained_classes=untrained,
        untrained_reason=REASON if untrained else "",
    )
    (out_dir / MANIFEST).write_text(json.dumps(asdict(info), indent=2) + "\n")
    return info


def _parity(
    weights: Path, onnx_path: Path, frames: list[Path] | None, imgsz: tuple[int, int], conf: float
) -> str:
    """The parity line, or one sentence and no files when the ONNX file disagrees."""
    if not frames:
        return "not checked (no frames given)"
    result = check_parity(
        "onnx (app)",
        load_yolo(weights, task="detect"),
        load_yolo(onnx_path, task="detect"),
        ParityFrames(frames),
        imgsz,
        conf,
    )
    if not result.ok:
        raise EdgedistillError(f"the app model is not written: {result.line()}")
    return result.line()


def onnx_output_shape(path: Path) -> list[int]:
    import onnx

    output = onnx.load(str(path), load_external_data=False).graph.output[0]
    return [d.dim_value for d in output.type.tensor_type.shape.dim]
