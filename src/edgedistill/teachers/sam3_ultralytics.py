"""Meta's ``sam3.pt`` through Ultralytics' SAM3 semantic predictor.

One image-encoder pass per frame serves every prompt: the prompts go to the detector
together as one batch of text queries, and the frames of a batch go through the image
encoder together. Ultralytics builds SAM3's text encoder around
OpenAI's CLIP tokenizer, which it would pip-install from a git URL at run time; the
``edgedistill[sam3]`` extra provides the same ``clip`` module from PyPI
(``clip-anytorch``, with the BPE vocabulary bundled) and run-time installs stay off.
"""

from __future__ import annotations

import importlib.util
import math
import pickle
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgedistill.masks import mask_to_rle
from edgedistill.teachers.base import RawDetection, TeacherError
from edgedistill.teachers.sam3_weights import Sam3Weights

IMAGE_SIZE = 1008
"""SAM3's input size (72 x 72 patches of 14 pixels), as it was trained."""


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


def load_predictor(
    make: Callable[[dict[str, Any]], Any], weights: Sam3Weights, device: str, half: bool
) -> Any:
    """An Ultralytics SAM3 predictor (``make(overrides)``) with ``sam3.pt`` loaded, the CLIP
    tokenizer from the extra, and its input size set up; one sentence when it cannot be."""
    _clip()
    if importlib.util.find_spec("timm") is None:
        raise TeacherError(MISSING_EXTRA)
    _check_checkpoint(weights.path)
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
    predictor = make(overrides)
    try:
        predictor.setup_model(verbose=False)
    except (RuntimeError, OSError, EOFError, KeyError, ValueError) as exc:
        raise TeacherError(f"{weights.path}: cannot load SAM3 from it ({exc})") from None
    predictor.model.backbone.language_backbone.tokenizer = ClipTokenizer()
    # Sizes the model, the tracker and the input transform for IMAGE_SIZE inputs.
    predictor.setup_source(np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8))
    return predictor


def encoder_input(predictor: Any, image: np.ndarray) -> torch.Tensor:
    """One RGB frame as the image encoder's input (1 x 3 x size x size), by the
    predictor's own transform (stretched to the square input, as SAM3 was trained)."""
    return predictor.preprocess([np.ascontiguousarray(image[..., ::-1])])  # it takes BGR


def mask_logit(probability: float) -> float:
    """``mask_threshold`` (a probability, as in the transformers path) as the mask-logit
    threshold Ultralytics binarises masks at (``model.mask_threshold``; 0.5 -> 0.0)."""
    if probability <= 0.0:
        return -math.inf
    if probability >= 1.0:
        return math.inf
    return math.log(probability / (1.0 - probability))


class UltralyticsSam3Images:
    """Text-prompted detection on still frames with ``sam3.pt`` and ``SAM3SemanticPredictor``."""

    def __init__(self, weights: Sam3Weights, device: str, half: bool) -> None:
        from ultralytics.models.sam import SAM3SemanticPredictor

        self.predictor: Any = load_predictor(
            lambda overrides: SAM3SemanticPredictor(overrides=overrides), weights, device, half
        )

    @torch.inference_mode()
    def detect(
        self,
        images: list[np.ndarray],
        prompts: list[str],
        score_floor: float,
        mask_threshold: float,
    ) -> list[list[RawDetection]]:
        """Every prompt on every image (RGB arrays); one image-encoder pass for the batch.

        Ultralytics' predictor takes one image at a time; its image encoder takes a batch,
        so the batch is encoded at once and the detector runs on each image's slice of
        the features, all prompts together.
        """
        predictor = self.predictor
        predictor.args.conf = score_floor
        predictor.model.mask_threshold = mask_logit(mask_threshold)
        pixels = torch.cat([encoder_input(predictor, image) for image in images])
        features = predictor.get_im_features(pixels)
        found = []
        for index, image in enumerate(images):
            masks, boxes = predictor.inference_features(
                _one_image(features, index, len(images)), src_shape=image.shape[:2], text=prompts
            )
            found.append(to_raw_detections(masks, boxes, prompts))
        return found

    def close(self) -> None:
        self.predictor.reset_prompts()


def _one_image(features: Any, index: int, batch: int) -> Any:
    """Image ``index``'s part of the encoder's output for a batch (nested dicts and lists
    of tensors, batch first; tensors shared by the batch are kept whole)."""
    if isinstance(features, torch.Tensor):
        return features[index : index + 1] if features.shape[0] == batch else features
    if isinstance(features, dict):
        return {key: _one_image(value, index, batch) for key, value in features.items()}
    if isinstance(features, list | tuple):
        return type(features)(_one_image(value, index, batch) for value in features)
    return features


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
