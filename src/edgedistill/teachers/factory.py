"""Build a teacher from the project config and command-line overrides."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from edgedistill.config import ProjectConfig, describe_validation_error
from edgedistill.errors import ConfigError
from edgedistill.teachers.base import Teacher, TeacherSettings, teacher_class
from edgedistill.weights import is_bare_name, resolve_weights

VIDEO_MODES = ("per_frame", "propagate")


def teacher_settings(
    config: ProjectConfig, name: str | None, overrides: dict[str, Any]
) -> tuple[type[Teacher], TeacherSettings]:
    """The backend ``name`` (default: ``label.teacher``) and its validated settings.

    Config values, then flags; flags that the backend has no use for are ignored and
    ``None`` means not given. ``label.video`` (flag ``video``) reaches teachers that
    track videos. A ``weights`` setting given by name alone is found by
    :func:`~edgedistill.weights.resolve_weights`; a path is left to the backend, whose
    message says how to get its weights. Nothing is loaded.
    """
    cls = teacher_class(name or config.label.teacher)
    fields = cls.Settings.model_fields
    given = {k: v for k, v in overrides.items() if v is not None and k in fields}
    _apply_video_mode(cls, overrides.get("video") or config.label.video, given)
    values = {**config.teacher_settings(cls.name), **given}
    weights = values.get("weights")
    if weights is not None and "weights" in fields and is_bare_name(weights):
        values["weights"] = resolve_weights(weights, [config.weights_dir])
    try:
        return cls, cls.Settings.model_validate(values)
    except ValidationError as exc:
        problem = describe_validation_error(exc, values, cls.Settings, ("teachers", cls.name))
        raise ConfigError(problem) from None


def _apply_video_mode(cls: type[Teacher], video: str, given: dict[str, Any]) -> None:
    """``label.video`` (not ``teachers.<name>``) goes to a backend that can track."""
    if video not in VIDEO_MODES:
        raise ConfigError(f"--video must be one of {', '.join(VIDEO_MODES)} (got {video!r})")
    if "video" in cls.Settings.model_fields:
        given["video"] = video
    elif video != "per_frame":
        raise ConfigError(
            f"label.video: '{video}' tracks objects through videos, which the {cls.name} "
            "teacher cannot do; use the sam3 teacher or label.video: per_frame"
        )


def build_teacher(config: ProjectConfig, name: str | None, overrides: dict[str, Any]) -> Teacher:
    """The teacher ``name`` with config settings and flags applied, ready to label."""
    cls, settings = teacher_settings(config, name, overrides)
    return cls(settings)


def budget_credits(
    config: ProjectConfig,
    name: str | None,
    overrides: dict[str, Any],
    max_usd: float | None,
    max_credits: float | None = None,
) -> tuple[float | None, bool]:
    """The tighter of two caps, in credits, without building the teacher; and whether
    ``max_usd`` had any effect (it has none for a teacher that is free per call)."""
    caps = [] if max_credits is None else [max_credits]
    priced = True
    if max_usd is not None:
        cls, settings = teacher_settings(config, name, overrides)
        credits = cls.credits_for_usd(settings, max_usd)
        priced = credits is not None
        if credits is not None:
            caps.append(credits)
    return (min(caps) if caps else None), priced
