"""Any Roboflow workflow: ``POST {api_url}/{workspace}/workflows/{workflow_id}``.

The user's existing workflow (e.g. one built on the ``roboflow_core/sam3@v3``
block) labels frames; its class names are mapped onto the ontology by name or
prompt. Predictions carry centre-based boxes and an ``rle_mask`` or ``points``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from edgedistill.masks import polygons_to_rle
from edgedistill.teachers.base import (
    FrameInput,
    RawDetection,
    TeacherError,
    TeacherResult,
    register_teacher,
)
from edgedistill.teachers.roboflow_api import (
    RetryableError,
    RoboflowTeacher,
    Spend,
    api_url,
    encode_image,
)
from edgedistill.teachers.roboflow_settings import RoboflowWorkflowSettings


@register_teacher
class RoboflowWorkflowTeacher(RoboflowTeacher[RoboflowWorkflowSettings]):
    name = "roboflow-workflow"
    title = "Roboflow workflow"
    Settings = RoboflowWorkflowSettings
    prompted = False

    def __init__(self, settings: RoboflowWorkflowSettings) -> None:
        if not settings.workspace or not settings.workflow_id:
            raise TeacherError(
                "the roboflow-workflow teacher needs --workspace and --workflow-id "
                "(both are in the workflow's URL in the Roboflow app)"
            )
        super().__init__(settings)

    @property
    def path(self) -> str:
        return f"/{self.settings.workspace}/workflows/{self.settings.workflow_id}"

    def identity(self) -> dict[str, Any]:
        return {
            "api": f"{api_url()}{self.path}",
            "image_input": self.settings.image_input,
            "revision": self.settings.revision,
        }

    def _label_frame(self, frame: FrameInput) -> TeacherResult:
        spend = Spend()
        try:
            image = {"type": "base64", "value": encode_image(frame)}
            body = {"api_key": self.client.key, "inputs": {self.settings.image_input: image}}
            answer = self.client.post(self.path, body, key_in_query=False, spend=spend)
            result = TeacherResult(frame, frame.prompts, _parse(answer, frame))
        except (RetryableError, OSError) as exc:
            result = TeacherResult(frame, (), error=str(exc))
        result.calls, result.credits = spend.calls, spend.credits
        return result


def _parse(answer: Any, frame: FrameInput) -> list[RawDetection]:
    try:
        outputs = answer["outputs"]
        return [_detection(p, frame) for output in outputs for p in _predictions(output)]
    except (KeyError, TypeError, ValueError) as exc:
        raise RetryableError(f"unexpected answer from the Roboflow workflow ({exc!r})") from None


def _predictions(node: Any) -> Iterator[dict[str, Any]]:
    """Prediction dicts anywhere in one image's outputs (``$steps.x.predictions`` or ``.*``)."""
    if isinstance(node, dict):
        predictions = node.get("predictions")
        if isinstance(predictions, list):
            yield from (p for p in predictions if isinstance(p, dict) and "class" in p)
            return
        for value in node.values():
            yield from _predictions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _predictions(value)


def _detection(prediction: dict[str, Any], frame: FrameInput) -> RawDetection:
    x, y = float(prediction["x"]), float(prediction["y"])
    w, h = float(prediction["width"]), float(prediction["height"])
    rle = None
    if isinstance(prediction.get("rle_mask"), dict):
        rle = {
            "size": list(prediction["rle_mask"]["size"]),
            "counts": prediction["rle_mask"]["counts"],
        }
    elif prediction.get("points"):
        polygon = [float(v) for point in prediction["points"] for v in (point["x"], point["y"])]
        rle = polygons_to_rle([polygon], frame.height, frame.width)
    box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    return RawDetection(str(prediction["class"]), float(prediction["confidence"]), box, rle)
