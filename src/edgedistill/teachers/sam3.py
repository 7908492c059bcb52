"""Local SAM3 through Hugging Face transformers (``Sam3Model``, ``Sam3Processor``).

The image encoder, by far the heaviest part, runs once per batch of frames; each
prompt then runs only the text-conditioned DETR and mask heads on the shared
features. Text features are computed once per prompt for the whole run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgedistill.devices import resolve_device
from edgedistill.masks import mask_to_rle
from edgedistill.teachers.base import (
    FrameInput,
    RawDetection,
    Teacher,
    TeacherError,
    TeacherResult,
    TeacherSettings,
    register_teacher,
)

log = logging.getLogger(__name__)

WHERE_TO_GET_WEIGHTS = (
    "request access to the gated repository facebook/sam3 on Hugging Face (accept Meta's SAM "
    "License), download it (e.g. `hf download facebook/sam3 --local-dir sam3`), then pass "
    "--weights sam3 or set teachers.sam3.weights in edgedistill.yaml"
)


class Sam3Settings(TeacherSettings):
    weights: Path | None = None
    """A directory with SAM3 in transformers format (config.json + model.safetensors)."""
    device: str = "auto"
    batch_size: int = 4
    score_floor: float = 0.05
    mask_threshold: float = 0.5


@register_teacher
class Sam3Teacher(Teacher):
    name = "sam3"
    title = "SAM3 (local, transformers)"
    Settings = Sam3Settings

    def __init__(self, settings: Sam3Settings) -> None:
        super().__init__(settings)
        self.weights = _check_weights(settings.weights)
        import torch
        from transformers import Sam3Model, Sam3Processor
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self._torch = torch
        self.device = resolve_device(settings.device)
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        if self.device == "cpu":
            log.warning(
                "SAM3 is running on the CPU: expect tens of seconds per frame with the "
                "real model; a CUDA GPU labels several frames per second"
            )
        try:
            model = Sam3Model.from_pretrained(self.weights, dtype=self.dtype)
            self.processor = Sam3Processor.from_pretrained(self.weights)
        except (OSError, ValueError) as exc:
            raise TeacherError(f"{self.weights}: cannot load SAM3 ({exc})") from None
        self.model = model.to(self.device).eval()
        self._text: dict[str, tuple[Any, Any]] = {}
        self._digest = _weights_digest(self.weights)

    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {
            "weights": self._digest,
            "score_floor": s.score_floor,
            "mask_threshold": s.mask_threshold,
        }

    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        while batch := list(islice(frames, self.settings.batch_size)):
            yield from self._predict_batch(batch)

    def _predict_batch(self, batch: list[FrameInput]) -> Iterator[TeacherResult]:
        torch = self._torch
        images = [np.array(Image.open(f.path).convert("RGB")) for f in batch]
        sizes = [image.shape[:2] for image in images]
        results = {f.id: TeacherResult(f, f.prompts, calls=1) for f in batch}
        prompts = list(dict.fromkeys(p for f in batch for p in f.prompts))
        with torch.inference_mode():
            inputs = self.processor(images=images, return_tensors="pt")
            pixels = inputs.pixel_values.to(self.device, self.dtype)
            vision = self.model.get_vision_features(pixel_values=pixels)
            for prompt in prompts:
                outputs = self.model(vision_embeds=vision, **self._text_inputs(prompt, len(batch)))
                per_image = self.processor.post_process_instance_segmentation(
                    outputs,
                    threshold=self.settings.score_floor,
                    mask_threshold=self.settings.mask_threshold,
                    target_sizes=sizes,
                )
                for frame, found in zip(batch, per_image, strict=True):
                    if prompt in frame.prompts:
                        results[frame.id].detections += _detections(prompt, found)
        yield from results.values()

    def _text_inputs(self, prompt: str, batch: int) -> dict[str, Any]:
        """Text features for a prompt, computed once, repeated along the image batch."""
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        if prompt not in self._text:
            tokens = self.processor(text=[prompt], return_tensors="pt").to(self.device)
            features = self.model.get_text_features(**tokens).pooler_output
            self._text[prompt] = (features, tokens.attention_mask)
        features, mask = self._text[prompt]
        return {
            "text_embeds": BaseModelOutputWithPooling(pooler_output=features.expand(batch, -1, -1)),
            "attention_mask": mask.expand(batch, -1),
        }

    def close(self) -> None:
        self._text.clear()
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


def _detections(prompt: str, found: dict[str, Any]) -> list[RawDetection]:
    masks = found["masks"].cpu().numpy().astype(bool)
    boxes = found["boxes"].float().cpu().tolist()
    scores = found["scores"].float().cpu().tolist()
    return [
        RawDetection(prompt, score, tuple(box), mask_to_rle(mask))
        for box, score, mask in zip(boxes, scores, masks, strict=True)
        if mask.any()
    ]


def _check_weights(weights: Path | None) -> Path:
    if weights is None:
        raise TeacherError(f"the sam3 teacher needs SAM3 weights: {WHERE_TO_GET_WEIGHTS}")
    path = weights.expanduser()
    if path.is_file() and path.suffix == ".pt":
        raise TeacherError(
            f"{weights}: Meta's sam3.pt checkpoint is not supported yet; use the transformers "
            f"format instead: {WHERE_TO_GET_WEIGHTS}"
        )
    if not (path / "config.json").is_file():
        raise TeacherError(
            f"{weights}: no SAM3 weights there (no config.json); {WHERE_TO_GET_WEIGHTS}"
        )
    return path


def _weights_digest(directory: Path) -> str:
    """SHA-256 over config and weight files: a fine-tuned SAM3 gets a new fingerprint."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.suffix in (".json", ".safetensors", ".bin"):
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]
