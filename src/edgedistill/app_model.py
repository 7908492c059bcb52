"""The student as the Expo app loads it: ``model.json`` beside ``model.onnx``.

``edgedistill export-app`` writes it, ``edgedistill serve`` offers it over the air
(``GET /model``), and the app's TypeScript HUD reads it: class names, input size, output
format (``end2end`` for YOLO26's ``[1, 300, 6]``, ``yolo`` for YOLO11's ``[1, 4+nc, N]``),
thresholds, the HUD settings, the classes masked out because no training box showed them,
and each file's SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.ego import Polygon
from edgedistill.errors import EdgedistillError

APP_MODEL_DIR = Path("app") / "public" / "model"  # served at /model/ by the web build
MODEL_FILE = "model.onnx"
MANIFEST = "model.json"
NMS_IOU = 0.7  # Ultralytics' predict() default, which `edgedistill run` and serve use


def checkout_app_models() -> Path | None:
    """The model folder of the Expo app in the checkout this package runs from
    (``<checkout>/app/public/model``); None for an installed package, which has no app."""
    app = Path(__file__).resolve().parents[2] / "app"
    return app / "public" / "model" if (app / "app.json").is_file() else None


@dataclass(frozen=True)
class AppModel:
    """What ``model.json`` says, and where it was written."""

    version: str
    names: list[str]
    input_size: tuple[int, int]  # height, width
    output_format: str
    output_shape: list[int]
    conf: float
    iou: float
    files: dict[str, dict[str, object]]
    hud: dict[str, object]
    licence: str
    parity: str
    untrained_classes: list[str]
    """Classes in ``names`` the student never learnt: masked, never output."""
    untrained_reason: str


def read_app_model(directory: Path) -> dict[str, Any]:
    """``model.json`` of an app model directory; a missing or broken one is one sentence."""
    path = directory / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise EdgedistillError(f"{path}: no app model here; run `edgedistill export-app`") from None
    except json.JSONDecodeError:
        raise EdgedistillError(f"{path}: not valid JSON") from None


def app_ego_mask(directory: Path) -> Polygon:
    """The car's own hood as an app model folder's ``model.json`` gives it ([] for none)."""
    mask = (read_app_model(directory).get("hud") or {}).get("ego_mask")
    return [(float(x), float(y)) for x, y in mask] if isinstance(mask, list) else []
