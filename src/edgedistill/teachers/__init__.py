"""Teacher backends, registered by name. A new backend: a module here that subclasses
``Teacher[ItsSettings]`` and decorates it with ``@register_teacher``, named in
``registry.BACKENDS`` so that it is imported when first used; its settings model lives
in a light module of its own, named in ``registry.SETTINGS``.

The names below load on first use (PEP 562): importing a submodule, or listing the
backends for ``--help``, loads neither pydantic's models nor the config schema.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgedistill.teachers.base import (
        ALL_CLASSES,
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
    from edgedistill.teachers.registry import BACKENDS

_HOMES = {
    **dict.fromkeys(
        ["ALL_CLASSES", "CostEstimate", "FrameInput", "RawDetection", "Teacher", "TeacherError",
         "TeacherResult", "available_teachers", "register_teacher", "teacher_class"],
        "base",
    ),
    **dict.fromkeys(
        ["budget_credits", "build_teacher", "check_teacher_sections", "teacher_settings",
         "with_teacher_flags"],
        "factory",
    ),
    "BACKENDS": "registry",
}  # fmt: skip

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


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
