"""Build a teacher from the project config and command-line overrides."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from edgedistill.config import ProjectConfig, describe_validation_error
from edgedistill.errors import ConfigError
from edgedistill.teachers.base import Teacher, teacher_class


def build_teacher(config: ProjectConfig, name: str | None, overrides: dict[str, Any]) -> Teacher:
    """The teacher ``name`` (default: ``label.teacher``) with config settings and flags applied.

    Flags that the backend has no use for are ignored; ``None`` means not given.
    """
    name = name or config.label.teacher
    cls = teacher_class(name)
    fields = cls.Settings.model_fields
    given = {k: v for k, v in overrides.items() if v is not None and k in fields}
    values = {**config.teacher_settings(name), **given}
    try:
        settings = cls.Settings.model_validate(values)
    except ValidationError as exc:
        problem = describe_validation_error(exc, values, cls.Settings, ("teachers", name))
        raise ConfigError(problem) from None
    return cls(settings)
