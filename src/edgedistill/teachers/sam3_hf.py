"""SAM3 through Hugging Face transformers: the image model (SAM3 or EfficientSAM3's
SAM3-LiteText, one code path) and SAM3's video model for propagation.

The image encoder, by far the heaviest part, runs once per batch of frames; each
prompt then runs only the text-conditioned DETR and mask heads on the shared
features. Text features are computed once per prompt for the whole run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import (
    Sam3LiteTextModel,
    Sam3Model,
    Sam3Processor,
    Sam3VideoModel,
    Sam3VideoProcessor,
)
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.utils import logging as hf_logging

from edgedistill.masks import mask_to_rle
from edgedistill.teachers.base import RawDetection, TeacherError
from edgedistill.teachers.sam3_weights import Sam3Weights

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

_IMAGE_MODELS: dict[str, type[Sam3Model] | type[Sam3LiteTextModel]] = {
    "sam3": Sam3Model,
    "sam3_video": Sam3Model,  # facebook/sam3 holds the video model, whose detector is SAM3
    "sam3_lite_text": Sam3LiteTextModel,
}


class HfSam3Images:
    """Text-prompted detection on still frames with a transformers SAM3 image model."""

    def __init__(self, weights: Sam3Weights, device: str, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype
        try:
            model = _IMAGE_MODELS[weights.kind].from_pretrained(weights.path, dtype=dtype)
            self.processor = Sam3Processor.from_pretrained(weights.path)
        except (OSError, ValueError) as exc:
            raise TeacherError(f"{weights.path}: cannot load SAM3 ({exc})") from None
        # typeshed's functools._Wrapped has no __get__: transformers' @wraps'd .to() looks unbound
        self.model = model.to(device).eval()  # type: ignore[arg-type]
        self._text: dict[str, tuple[Any, Any]] = {}

    @torch.inference_mode()
    def detect(
        self,
        images: list[np.ndarray],
        prompts: list[str],
        score_floor: float,
        mask_threshold: float,
    ) -> list[list[RawDetection]]:
        """Every prompt on every image (RGB arrays); one image-encoder pass for the batch."""
        sizes = [image.shape[:2] for image in images]
        found: list[list[RawDetection]] = [[] for _ in images]
        inputs = self.processor(images=images, return_tensors="pt")
        pixels = inputs.pixel_values.to(self.device, self.dtype)
        vision = self.model.get_vision_features(pixel_values=pixels)
        for prompt in prompts:
            outputs = self.model(vision_embeds=vision, **self._text_inputs(prompt, len(images)))
            per_image = self.processor.post_process_instance_segmentation(
                outputs, threshold=score_floor, mask_threshold=mask_threshold, target_sizes=sizes
            )
            for detections, result in zip(found, per_image, strict=True):
                detections += _detections(prompt, result)
        return found

    def _text_inputs(self, prompt: str, batch: int) -> dict[str, Any]:
        """Text features for a prompt, computed once, repeated along the image batch."""
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


class KeyframeSam3VideoModel(Sam3VideoModel):
    """SAM3's video model that runs the text-prompted detector only when asked to.

    Between keyframes the tracker alone carries the objects forward: the image
    encoder still runs (the tracker needs the frame's features), the per-prompt
    detector heads do not.
    """

    detect_now: bool = True

    def run_detection(self, inference_session: Any, vision_embeds: Any) -> dict[int, Any]:
        if not self.detect_now:
            return {}  # merged downstream into "no detections on this frame"
        return super().run_detection(inference_session, vision_embeds)


class HfSam3Video:
    """Streams one video's frames through SAM3's video model; see ``VideoSession``."""

    def __init__(
        self,
        weights: Sam3Weights,
        device: str,
        dtype: torch.dtype,
        track_score: float,
        max_tracks: int,
    ) -> None:
        if weights.kind != "sam3_video":
            raise TeacherError(
                f"{weights.path}: label.video 'propagate' needs SAM3's video model (the "
                "facebook/sam3 checkpoint holds it); these weights are the image model only"
            )
        self.device, self.dtype = device, dtype
        try:
            model = KeyframeSam3VideoModel.from_pretrained(weights.path, dtype=dtype)
            self.processor = Sam3VideoProcessor.from_pretrained(weights.path)
        except (OSError, ValueError) as exc:
            raise TeacherError(f"{weights.path}: cannot load SAM3's video model ({exc})") from None
        # typeshed's functools._Wrapped has no __get__: transformers' @wraps'd .to() looks unbound
        self.model = model.to(device).eval()  # type: ignore[arg-type]
        # Only objects above this score start tracks; a track then lives on its own masks.
        self.model.score_threshold_detection = track_score
        self.model.new_det_thresh = track_score
        self.model.max_num_objects = max_tracks
        tracker = self.model.config.tracker_config
        # The tracker reads mask memories and object pointers from this many frames back.
        self.memory_frames = max(tracker.num_maskmem, tracker.max_object_pointers_in_encoder)

    def open(self, prompts: tuple[str, ...]) -> HfVideoSession:
        return HfVideoSession(self, prompts)

    def close(self) -> None:
        """Sessions release their own state."""


class HfVideoSession:
    """One run of consecutive frames: objects keep their ids from frame to frame.

    State older than the tracker's memory window is dropped as the session goes, so a
    long video does not hold every frame's tensors.
    """

    def __init__(self, video: HfSam3Video, prompts: tuple[str, ...]) -> None:
        self.video = video
        self.session = video.processor.init_video_session(
            inference_device=video.device, dtype=video.dtype
        )
        video.processor.add_text_prompt(self.session, list(prompts))
        self.prompt_of = dict(self.session.prompts)
        self.frames = 0
        self.missed: dict[int, int] = {}

    @torch.inference_mode()
    def step(self, image: np.ndarray, detect: bool, mask_threshold: float) -> list[RawDetection]:
        """The tracked objects on the next frame (RGB array); ``detect``: a keyframe."""
        model, processor = self.video.model, self.video.processor
        inputs = processor(images=image, return_tensors="pt")
        model.detect_now = detect
        index = self.frames  # given, not counted by the session: old frames are dropped
        pixels = inputs.pixel_values[0]
        output = model(inference_session=self.session, frame=pixels, frame_idx=index)
        post = processor.postprocess_outputs(
            self.session, output, original_sizes=[list(image.shape[:2])]
        )
        self._forget_old_state(index)
        self.frames += 1
        return self._detections(post, mask_threshold)

    def drop_missed(self, frame_idx: int, max_missed: int) -> None:
        """End tracks that no detection confirmed on ``max_missed`` keyframes in a row."""
        for obj_id in list(self.session.obj_ids):
            if frame_idx in self.session.unmatched_frame_inds.get(obj_id, ()):
                self.missed[obj_id] = self.missed.get(obj_id, 0) + 1
            else:
                self.missed[obj_id] = 0
            if self.missed[obj_id] >= max_missed:
                self.session.remove_object(obj_id)
                self.missed.pop(obj_id)

    def _detections(self, post: dict[str, Any], mask_threshold: float) -> list[RawDetection]:
        prompt_by_obj = {
            obj: prompt for prompt, objs in post["prompt_to_obj_ids"].items() for obj in objs
        }
        found = []
        for obj, score, box, mask in zip(
            post["object_ids"].tolist(),
            post["scores"].float().tolist(),
            post["boxes"].float().tolist(),
            post["masks"].cpu().numpy(),
            strict=True,
        ):
            binary = mask > mask_threshold if mask.dtype != bool else mask
            if binary.any() and score >= 0:  # SAM3 scores objects it removed -1e4
                rle = mask_to_rle(binary)
                found.append(RawDetection(prompt_by_obj[obj], score, tuple(box), rle, str(obj)))
        return found

    def _forget_old_state(self, frame_idx: int) -> None:
        session = self.session
        keep_from = frame_idx - self.video.memory_frames
        for index in [i for i in session.processed_frames if i < frame_idx]:
            del session.processed_frames[index]
        past_per_frame = [o["non_cond_frame_outputs"] for o in session.output_dict_per_obj.values()]
        past_per_frame += list(session.frames_tracked_per_obj.values())
        past_per_frame += [session.obj_id_to_tracker_score_frame_wise, session.suppressed_obj_ids]
        for per_frame in past_per_frame:
            for index in [i for i in per_frame if i < keep_from]:
                del per_frame[index]
        for frames in session.unmatched_frame_inds.values():
            frames[:] = [i for i in frames if i >= keep_from]

    def close(self) -> None:
        self.session.reset_state()


def _detections(prompt: str, found: dict[str, Any]) -> list[RawDetection]:
    masks = found["masks"].cpu().numpy().astype(bool)
    boxes = found["boxes"].float().cpu().tolist()
    scores = found["scores"].float().cpu().tolist()
    return [
        RawDetection(prompt, score, tuple(box), mask_to_rle(mask))
        for box, score, mask in zip(boxes, scores, masks, strict=True)
        if mask.any()
    ]
