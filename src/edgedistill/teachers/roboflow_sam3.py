"""Roboflow's hosted SAM3 concept segmentation: ``POST {api_url}/sam3/concept_segment``.

Up to 16 text prompts per request; masks come back as COCO RLE (or polygons),
boxes are derived from the masks and the class from the prompt's index.
"""

from __future__ import annotations

from typing import Any

from edgedistill.masks import polygons_to_rle, rle_to_box
from edgedistill.teachers.base import FrameInput, RawDetection, TeacherResult, register_teacher
from edgedistill.teachers.roboflow_api import (
    RetryableError,
    RoboflowTeacher,
    Spend,
    api_url,
    encode_image,
)
from edgedistill.teachers.roboflow_settings import RoboflowSam3Settings

MAX_PROMPTS_PER_REQUEST = 16


@register_teacher
class RoboflowSam3Teacher(RoboflowTeacher[RoboflowSam3Settings]):
    name = "roboflow-sam3"
    title = "Roboflow's hosted SAM3"
    Settings = RoboflowSam3Settings

    def identity(self) -> dict[str, Any]:
        return {
            "api": f"{api_url()}/sam3/concept_segment",
            "model_id": self.settings.model_id,
            "score_floor": self.settings.score_floor,
        }

    def calls_for(self, prompts: tuple[str, ...]) -> int:
        return -(-len(prompts) // MAX_PROMPTS_PER_REQUEST)

    def _label_frame(self, frame: FrameInput) -> TeacherResult:
        result = TeacherResult(frame, prompts=())
        spend = Spend()
        try:
            image = {"type": "base64", "value": encode_image(frame)}
            for start in range(0, len(frame.prompts), MAX_PROMPTS_PER_REQUEST):
                chunk = frame.prompts[start : start + MAX_PROMPTS_PER_REQUEST]
                body = {
                    "image": image,
                    "prompts": [{"type": "text", "text": prompt} for prompt in chunk],
                    "format": "rle",
                    "output_prob_thresh": self.settings.score_floor,
                    "model_id": self.settings.model_id,
                }
                answer = self.client.post("/sam3/concept_segment", body, True, spend)
                result.detections += _parse(answer, chunk, frame)
                result.prompts += chunk
        except (RetryableError, OSError) as exc:
            result.error = str(exc)  # prompts answered so far are still cached
        result.calls, result.credits = spend.calls, spend.credits
        return result


def _parse(answer: Any, prompts: tuple[str, ...], frame: FrameInput) -> list[RawDetection]:
    try:
        detections = []
        for prompt_result in answer["prompt_results"]:
            prompt = prompts[int(prompt_result.get("prompt_index", 0))]
            for prediction in prompt_result.get("predictions", []):
                rle = _mask(prediction["masks"], frame)
                detections.append(
                    RawDetection(prompt, float(prediction["confidence"]), rle_to_box(rle), rle)
                )
        return detections
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RetryableError(f"unexpected answer from Roboflow SAM3 ({exc!r})") from None


def _mask(masks: Any, frame: FrameInput) -> dict[str, Any]:
    """COCO RLE as is; polygons (``[[[x, y], …], …]``) rasterised at the frame's size."""
    if isinstance(masks, dict):
        return {"size": list(masks["size"]), "counts": masks["counts"]}
    polygons = [[float(v) for point in polygon for v in point] for polygon in masks]
    return polygons_to_rle(polygons, frame.height, frame.width)
