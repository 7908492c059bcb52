"""The Roboflow backends' settings: pydantic only, so that checking a config's
``teachers.roboflow-*`` sections loads neither the HTTP client nor numpy."""

from __future__ import annotations

from pydantic import Field

from edgedistill.teachers.base import TeacherSettings


class RoboflowSettings(TeacherSettings):
    concurrency: int = Field(default=8, ge=1, le=8)
    """Requests in flight."""
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=5, ge=0)
    """Retries of a request that failed (429, 5xx, network), with backoff."""
    max_resends: int = Field(
        default=1, ge=0, description="resends of a request that got no answer (may be billed)"
    )
    backoff: float = Field(default=0.5, gt=0, description="first retry delay in seconds")
    max_backoff: float = Field(default=30.0, gt=0)
    """Longest retry delay in seconds."""
    credit_usd: float = Field(default=3.0, ge=0)
    """Price of a Roboflow credit in dollars, for --max-usd and estimates."""
    seconds_per_call: float = Field(
        default=0.5, gt=0, description="assumed processing time for estimates before any call"
    )


class RoboflowSam3Settings(RoboflowSettings):
    model_id: str = "sam3/sam3_final"
    """Roboflow's SAM3 model."""
    score_floor: float = Field(default=0.05, ge=0.0, le=1.0)  # sent as output_prob_thresh
    """Lowest score kept in the label cache; thresholds apply later, offline."""


class RoboflowWorkflowSettings(RoboflowSettings):
    workspace: str | None = None
    """Roboflow workspace of the workflow."""
    workflow_id: str | None = None
    """The workflow's id."""
    image_input: str = "image"
    """Name of the workflow's image input."""
    revision: str = "1"
    """Change it after editing the workflow, so that frames are labelled again."""
