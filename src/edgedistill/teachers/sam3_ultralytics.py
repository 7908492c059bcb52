"""Meta's ``sam3.pt`` through Ultralytics' SAM3 semantic predictor.

One image-encoder pass per frame serves every prompt: the prompts go to the detector
together as one batch of text queries. Ultralytics builds SAM3's text encoder around
OpenAI's CLIP tokenizer, which it would pip-install from a git URL at run time; the
``edgedistill[sam3]`` extra provides the same ``clip`` module from PyPI
(``clip-anytorch``, with the BPE vocabulary bundled) and run-time installs stay off.
"""

from __future__ import annotations

import importlib.util
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgedistill.masks import mask_to_rle
from edgedistill.teachers.base import RawDetection, TeacherError
from edgedistill.teachers.sam3_weights import Sam3Weights

IMAGE_SIZE = 1008
"""SAM3's fixed input size (72 x 72 patches of 14 pixels)."""

MISSING_EXTRA = (
    "Meta's sam3.pt runs through Ultralytics, which needs OpenAI's CLIP tokenizer and timm: "
    "install the extra with `pip install 'edgedistill[sam3]'`"
)


class ClipTokenizer:
    """OpenAI's CLIP BPE tokenizer with the call Ultralytics' SAM3 text encoder makes.

    Ultralytics' fork of CLIP gives ``SimpleTokenizer`` a ``__call__(texts,
    context_length)``; the PyPI ``clip`` module offers the same as ``clip.tokenize``
    (start and end tokens, zero padding, truncation keeping the end token).
    """

    def __init__(self) -> None:
        self._tokenize = _clip().tokenize

    def __call__(self, texts: str | list[str], context_length: int = 77) -> torch.Tensor:
        return self._tokenize(texts, context_length=context_length, truncate=True)


def _clip() -> Any:
    try:
        with warnings.catch_warnings():  # clip-anytorch still imports pkg_resources
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            import clip
    except ImportError as exc:
        if exc.name == "pkg_resources":
            raise TeacherError(
                "the clip module needs setuptools older than 81 (for pkg_resources); "
                "reinstall the extra with `pip install 'edgedistill[sam3]'`"
            ) from None
        raise TeacherError(MISSING_EXTRA) from None
    if not hasattr(clip, "tokenize") or not hasattr(clip, "simple_tokenizer"):
        raise TeacherError(f"the installed `clip` module is not OpenAI's CLIP; {MISSING_EXTRA}")
    return clip


def _check_checkpoint(path: Path) -> None:
    """Meta's SAM3 checkpoint holds the detector's weights under ``detector.``.

    Ultralytics loads a checkpoint leniently (missing weights stay random), so a wrong
    file would label with noise: look before building. ``mmap`` reads no tensor data.
    """
    if not zipfile.is_zipfile(path):
        raise TeacherError(
            f"{path}: not a PyTorch checkpoint (no zip archive in it: cut short, or another file)"
        )
    try:
        state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TeacherError(f"{path}: not a PyTorch checkpoint ({reason})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not any(str(k).startswith("detector.") for k in state):
        raise TeacherError(
            f"{path}: not Meta's SAM3 checkpoint (it holds no detector weights); download "
            "sam3.pt from facebook/sam3 on Hugging Face"
        )


class UltralyticsSam3Images:
    """Text-prompted detection on still frames with ``sam3.pt`` and ``SAM3SemanticPredictor``."""

    def __init__(self, weights: Sam3Weights, device: str, half: bool) -> None:
        _clip()
        if importlib.util.find_spec("timm") is None:
            raise TeacherError(MISSING_EXTRA)
        _check_checkpoint(weights.path)
        from ultralytics.models.sam import SAM3SemanticPredictor

        overrides = {
            "task": "segment",
            "mode": "predict",
            "model": str(weights.path),
            "imgsz": IMAGE_SIZE,
            "device": device,
            "quantize": 16 if half else None,
            "iou": 1.0,  # raw output: overlapping answers stay, NMS is the label stage's
            "save": False,
            "verbose": False,
        }
        self.predictor = SAM3SemanticPredictor(overrides=overrides)
        try:
            self.predictor.setup_model(verbose=False)
        except (RuntimeError, OSError, EOFError, KeyError, ValueError) as exc:
            raise TeacherError(f"{weights.path}: cannot load SAM3 from it ({exc})") from None
        # Ultralytics' BasePredictor.model is unannotated (inferred None); setup_model set it.
        text_encoder = self.predictor.model.backbone.language_backbone  # type: ignore[attr-defined]
        text_encoder.tokenizer = ClipTokenizer()

    @torch.inference_mode()
    def detect(
        self,
        images: list[np.ndarray],
        prompts: list[str],
        score_floor: float,
        mask_threshold: float,
    ) -> list[list[RawDetection]]:
        """Every prompt on every image (RGB arrays); one image-encoder pass per image.

        Ultralytics' SAM3 predictor encodes one image at a time; ``mask_threshold`` is
        the model's own (applied by the predictor to the mask logits).
        """
        self.predictor.args.conf = score_floor
        return [self._detect_one(image, prompts) for image in images]

    def _detect_one(self, image: np.ndarray, prompts: list[str]) -> list[RawDetection]:
        predictor = self.predictor
        predictor.set_image(np.ascontiguousarray(image[..., ::-1]))  # Ultralytics takes BGR
        masks, boxes = predictor.inference_features(
            predictor.features, src_shape=image.shape[:2], text=prompts
        )
        predictor.features = None
        return to_raw_detections(masks, boxes, prompts)

    def close(self) -> None:
        self.predictor.reset_prompts()


def to_raw_detections(
    masks: torch.Tensor | None, boxes: torch.Tensor, prompts: list[str]
) -> list[RawDetection]:
    """The predictor's ``(masks N x H x W, boxes N x [x1 y1 x2 y2 score class])`` as raw
    detections; the class column indexes ``prompts``. Empty masks are dropped."""
    if masks is None or len(boxes) == 0:
        return []
    found = []
    for mask, row in zip(masks.cpu().numpy(), boxes.float().cpu().tolist(), strict=True):
        if mask.any():
            x1, y1, x2, y2, score, cls = row
            box = (x1, y1, x2, y2)
            found.append(RawDetection(prompts[int(cls)], score, box, mask_to_rle(mask)))
    return found
