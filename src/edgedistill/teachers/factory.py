"""Build a teacher from the project config and command-line overrides."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from edgedistill.config import ProjectConfig, describe_validation_error
from edgedistill.errors import ConfigError
from edgedistill.teachers.base import Teacher, teacher_class

VIDEO_MODES = ("per_frame", "propagate")


def build_teacher(config: ProjectConfig, name: str | None, overrides: dict[str, Any]) -> Teacher:
    """The teacher ``name`` (default: ``label.teacher``) with config settings and flags applied.

    Flags that the backend has no use for are ignored; ``None`` means not given.
    ``label.video`` (flag ``video``) reaches teachers that track videos.
    """
    name = name or config.label.teacher
    cls = teacher_class(name)
    fields = cls.Settings.model_fields
    given = {k: v for k, v in overrides.items() if v is not None and k in fields}
    video = overrides.get("video") or config.label.video  # label.video, not teachers.<name>
    if video not in VIDEO_MODES:
        raise ConfigError(f"--video must be one of {', '.join(VIDEO_MODES)} (got {video!r})")
    if "video" in fields:
        given["video"] = video
    elif video != "per_frame":
        raise ConfigError(
            f"label.video: '{video}' tracks objects through videos, which the {name} teacher "
            "cannot do; use the sam3 teacher or label.video: per_frame"
        )
    values = {**config.teacher_settings(name), **given}
    try:
        settings = cls.Settings.model_validate(values)
    except ValidationError as exc:
        problem = describe_validation_error(exc, values, cls.Settings, ("teachers", name))
        raise ConfigError(problem) from None
    return cls(settings)
