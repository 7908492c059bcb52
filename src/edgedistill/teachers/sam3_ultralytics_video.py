"""Video propagation for Meta's ``sam3.pt``: Ultralytics' ``SAM3VideoSemanticPredictor``
fed the project's sampled frames one by one.

The predictor's own entry point reads a video file; here each session drives its
per-frame step (``_run_single_frame_inference``) with frames the ingest stage already
sampled, so nothing is decoded twice. ``sam3_propagate.propagate`` decides which frames
are keyframes and when a run starts; this module is the ``VideoSession`` it drives, as
``sam3_hf`` is for the transformers checkpoint.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from ultralytics.models.sam import SAM3VideoSemanticPredictor

from edgedistill.masks import mask_to_rle
from edgedistill.teachers.base import RawDetection
from edgedistill.teachers.sam3_ultralytics import encoder_input, load_predictor, mask_logit
from edgedistill.teachers.sam3_weights import Sam3Weights

UNBOUNDED = 2**31 - 1
"""The session's video length: a stream, as long as the run is."""
NEVER = 2**31 - 1
"""Keep-alive of a track: the predictor ends no track by itself, ``drop_missed`` does."""

_NO_DETECTIONS: tuple[np.ndarray, np.ndarray, dict[int, Any], dict[int, int], np.ndarray] = (
    np.array([], np.int64),
    np.array([], np.int64),
    {},
    {},
    np.array([], np.int64),
)
"""``_associate_det_trk``'s answer on a frame the detector did not run on: nothing new,
no track matched and none unmatched (a frame without detection confirms or misses nothing)."""


class KeyframeSam3VideoPredictor(SAM3VideoSemanticPredictor):
    """SAM3's video predictor that runs the text-prompted detector only when asked to.

    Between keyframes the tracker alone carries the objects forward: the image encoder
    still runs (the tracker needs the frame's features), the detector does not.
    """

    detect_now: bool = True

    def run_backbone_and_detection(
        self,
        im: torch.Tensor,
        text_ids: torch.Tensor,
        geometric_prompt: Any,
        allow_new_detections: bool,
    ) -> dict[str, torch.Tensor]:
        if self.detect_now:
            return super().run_backbone_and_detection(
                im, text_ids, geometric_prompt, allow_new_detections
            )
        features = self.get_im_features(im)
        self._cache_backbone_features({"backbone_out": features})  # the tracker's input
        height, width = self.tracker._bb_feat_sizes[0]
        empty = features["vision_features"].new_zeros
        return {
            "bbox": empty((0, 4)),
            "mask": empty((0, height, width)),
            "scores": empty((0,)),
            "cls": empty((0,)),
        }

    def _associate_det_trk(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        if self.detect_now:
            return super()._associate_det_trk(*args, **kwargs)
        return _NO_DETECTIONS


class _NoBoxPrompts(dict[int, Any]):
    """Box prompts per frame: none on any frame, without a list as long as the video."""

    def __missing__(self, frame_idx: int) -> None:
        return None


class _QuietTrackLimit(logging.Filter):
    """Ultralytics warns on every keyframe that meets the object limit; here the limit is
    a setting (``max_tracks``), and transformers' same warning is silenced too."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "hitting self.max_num_objects" not in record.getMessage()


_QUIET_TRACK_LIMIT = _QuietTrackLimit()


class UltralyticsSam3Video:
    """Streams one video's frames through ``sam3.pt``'s video predictor; see ``VideoSession``."""

    def __init__(
        self, weights: Sam3Weights, device: str, half: bool, track_score: float, max_tracks: int
    ) -> None:
        def make(overrides: dict[str, Any]) -> KeyframeSam3VideoPredictor:
            return KeyframeSam3VideoPredictor(
                overrides=overrides,
                # Only objects above this score start tracks; a track then lives on its masks.
                score_threshold_detection=track_score,
                new_det_thresh=track_score,
                max_num_objects=max_tracks,
                init_trk_keep_alive=NEVER,
                max_trk_keep_alive=NEVER,
            )

        logging.getLogger("ultralytics").addFilter(_QUIET_TRACK_LIMIT)  # added once
        self.predictor: Any = load_predictor(make, weights, device, half)
        self.predictor.args.conf = 0.0  # a track keeps its first detection's score

    def open(self, prompts: tuple[str, ...]) -> UltralyticsVideoSession:
        """A tracking session over one run of frames (``KeyframeSam3VideoPredictor``)."""
        return UltralyticsVideoSession(self.predictor, prompts)

    def close(self) -> None:
        """Sessions release their own state."""


class UltralyticsVideoSession:
    """One run of consecutive frames: objects keep their ids from frame to frame.

    The predictor prunes the tracker's memories older than its window itself; the
    bookkeeping it keeps per frame is dropped here as the session goes, so a long video
    does not hold every frame's state.
    """

    def __init__(self, predictor: Any, prompts: tuple[str, ...]) -> None:
        self.predictor = predictor
        self.prompts = list(prompts)
        if predictor.model.names != self.prompts:
            predictor.model.set_classes(text=self.prompts)  # text features, once per session
        self.state: dict[str, Any] = {
            "num_frames": UNBOUNDED,
            "tracker_inference_states": [],
            "tracker_metadata": {},
            "text_prompt": self.prompts,
            "text_ids": torch.arange(len(self.prompts), device=predictor.device),
            "per_frame_geometric_prompt": _NoBoxPrompts(),
            "im": None,
        }
        self.frames = 0
        self.missed: dict[int, int] = {}

    @torch.inference_mode()
    def step(self, image: np.ndarray, detect: bool, mask_threshold: float) -> list[RawDetection]:
        """The tracked objects on the next frame (RGB array); ``detect``: a keyframe."""
        predictor, index = self.predictor, self.frames
        predictor.detect_now = detect
        predictor.model.mask_threshold = mask_logit(mask_threshold)
        self.state["im"] = encoder_input(predictor, image)
        output = predictor._run_single_frame_inference(index, inference_state=self.state)
        self.state["im"] = None
        predictor.batch = ([f"frame {index}"], [image], [""])  # what postprocess reads
        result = predictor.postprocess(output, None, [image])[0]
        self._forget_old_state(index)
        self.frames += 1
        return tracked_detections(result.masks, result.boxes.data, self.prompts)

    def drop_missed(self, frame_idx: int, max_missed: int) -> None:
        """End tracks that no detection confirmed on ``max_missed`` keyframes in a row.

        A track ends at the next frame: the predictor removes it there (its keep-alive run
        out), before that frame's output, as it removes tracks itself.
        """
        metadata = self.state["tracker_metadata"]
        unmatched = metadata["metadata"]["unmatched_frame_inds"]
        live = [int(obj) for obj in metadata["obj_ids"]]
        self.missed = {obj: self.missed.get(obj, 0) for obj in live}
        for obj in live:
            self.missed[obj] = self.missed[obj] + 1 if frame_idx in unmatched.get(obj, ()) else 0
            if self.missed[obj] >= max_missed:
                metadata["metadata"]["trk_keep_alive"][obj] = 0

    def _forget_old_state(self, frame_idx: int) -> None:
        metadata = self.state["tracker_metadata"]
        scores = metadata["obj_id_to_tracker_score_frame_wise"]
        for index in [i for i in scores if i < frame_idx]:
            del scores[index]
        per_object = metadata["metadata"]
        lists = [*per_object["unmatched_frame_inds"].values()]
        lists += per_object["overlap_pair_to_frame_inds"].values()
        for frames in lists:
            frames[:] = [i for i in frames if i >= frame_idx]
        for tracker in self.state["tracker_inference_states"]:
            tracker["frames_already_tracked"].intersection_update({frame_idx})

    def close(self) -> None:
        self.state.clear()


def tracked_detections(masks: Any, boxes: torch.Tensor, prompts: list[str]) -> list[RawDetection]:
    """The video predictor's results (``masks``: Ultralytics ``Masks`` or None; ``boxes``
    N x [x1 y1 x2 y2 track score class]) as raw detections with track ids; the class
    column indexes ``prompts``."""
    if masks is None or len(boxes) == 0:
        return []
    found = []
    for mask, row in zip(masks.data.cpu().numpy(), boxes.float().cpu().tolist(), strict=True):
        x1, y1, x2, y2, track, score, cls = row
        if mask.any():  # the non-overlap rule can leave a track no pixel on a frame
            rle = mask_to_rle(mask.astype(bool))
            label = prompts[int(cls)]
            found.append(RawDetection(label, score, (x1, y1, x2, y2), rle, str(int(track))))
    return found
