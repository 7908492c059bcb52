"""Teachers from the project config: the settings checked, the backend built, the budget priced."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from edgedistill.config import LabelConfig, ProjectConfig, describe_validation_error, override
from edgedistill.errors import ConfigError, EdgedistillError, UsageError
from edgedistill.teachers.base import (
    Teacher,
    TeacherSettings,
    check_teacher_name,
    settings_class,
    teacher_class,
)
from edgedistill.weights import is_bare_name, resolve_weights

VIDEO_MODES = typing.get_args(LabelConfig.model_fields["video"].annotation)


def check_teacher_sections(config: ProjectConfig, source: str = "config") -> None:
    """``label.teacher`` names a backend and each ``teachers.<name>`` section is valid for
    its backend; ``source`` names the file in the one-sentence ConfigError. Only the
    backends' settings models are loaded, not the backends."""
    try:
        check_teacher_name(config.label.teacher)
    except EdgedistillError as exc:
        raise ConfigError(f"{source}: label.teacher: {exc}") from None
    for name, values in config.teachers.items():
        try:
            settings_model: type[BaseModel] = settings_class(name)
            settings_model.model_validate(values or {})
        except EdgedistillError as exc:
            raise ConfigError(f"{source}: teachers.{name}: {exc}") from None
        except ValidationError as exc:
            problem = describe_validation_error(exc, values, settings_model, ("teachers", name))
            raise ConfigError(f"{source}: {problem}") from None


def with_teacher_flags(
    config: ProjectConfig, name: str | None, flags: Mapping[str, Any] | None
) -> ProjectConfig:
    """The config with a teacher's command-line flags applied through
    :func:`~edgedistill.config.override`: ``video`` to ``label.video``, the rest to
    ``teachers.<name>`` (where the backend refuses a flag it has no use for)."""
    flags = dict(flags or {})
    video = flags.pop("video", None)
    if video is not None and video not in VIDEO_MODES:
        raise UsageError(f"--video must be one of {', '.join(VIDEO_MODES)} (got {video!r})")
    config = override(config, "label", {"video": video})
    return override(config, f"teachers.{teacher_class(name or config.label.teacher).name}", flags)


def teacher_settings(
    config: ProjectConfig, name: str | None = None, flags: Mapping[str, Any] | None = None
) -> tuple[type[Teacher], TeacherSettings]:
    """The backend ``name`` (default: ``label.teacher``) and its validated settings.

    Settings come from ``teachers.<name>`` with ``flags`` applied (see
    :func:`with_teacher_flags`); ``label.video`` reaches teachers that track videos. A
    ``weights`` setting given by name alone is found by
    :func:`~edgedistill.weights.resolve_weights`; a path is left to the backend, whose
    message says how to get its weights. Nothing is loaded.
    """
    config = with_teacher_flags(config, name, flags)
    cls = teacher_class(name or config.label.teacher)
    values = config.teacher_settings(cls.name)
    _apply_video_mode(cls, config.label.video, values)
    weights = values.get("weights")
    if weights is not None and "weights" in cls.Settings.model_fields and is_bare_name(weights):
        values["weights"] = resolve_weights(weights, [config.weights_dir])
    try:
        return cls, cls.Settings.model_validate(values)
    except ValidationError as exc:
        problem = describe_validation_error(exc, values, cls.Settings, ("teachers", cls.name))
        raise ConfigError(problem) from None


def _apply_video_mode(cls: type[Teacher], video: str, values: dict[str, object]) -> None:
    """``label.video`` (not ``teachers.<name>``) goes to a backend that can track."""
    if "video" in cls.Settings.model_fields:
        values["video"] = video
    elif video != "per_frame":
        raise ConfigError(
            f"label.video: '{video}' tracks objects through videos, which the {cls.name} "
            "teacher cannot do; use the sam3 teacher or label.video: per_frame"
        )


def build_teacher(
    config: ProjectConfig, name: str | None = None, flags: Mapping[str, Any] | None = None
) -> Teacher:
    """The teacher ``name`` with its settings and ``flags`` applied, ready to label."""
    cls, settings = teacher_settings(config, name, flags)
    return cls(settings)


def budget_credits(
    config: ProjectConfig,
    name: str | None,
    flags: Mapping[str, Any] | None,
    max_usd: float | None,
    max_credits: float | None = None,
) -> tuple[float | None, bool]:
    """The tighter of two caps, in credits, without building the teacher; and whether
    ``max_usd`` had any effect (it has none for a teacher that is free per call)."""
    caps = [] if max_credits is None else [max_credits]
    priced = True
    if max_usd is not None:
        cls, settings = teacher_settings(config, name, flags)
        credits = cls.credits_for_usd(settings, max_usd)
        priced = credits is not None
        if credits is not None:
            caps.append(credits)
    return (min(caps) if caps else None), priced
