"""Teacher backends, registered by name. A new backend: a module here that subclasses
``Teacher[ItsSettings]`` and decorates it with ``@register_teacher``, named in ``base.BACKENDS`` so
that it is imported when first used."""

from edgedistill.teachers.base import (
    ALL_CLASSES,
    BACKENDS,
    CostEstimate,
    FrameInput,
    RawDetection,
    Teacher,
    TeacherError,
    TeacherResult,
    available_teachers,
    register_teacher,
    teacher_class,
)
from edgedistill.teachers.factory import (
    budget_credits,
    build_teacher,
    check_teacher_sections,
    teacher_settings,
    with_teacher_flags,
)

__all__ = [
    "ALL_CLASSES",
    "BACKENDS",
    "CostEstimate",
    "FrameInput",
    "RawDetection",
    "Teacher",
    "TeacherError",
    "TeacherResult",
    "available_teachers",
    "budget_credits",
    "build_teacher",
    "check_teacher_sections",
    "register_teacher",
    "teacher_class",
    "teacher_settings",
    "with_teacher_flags",
]
