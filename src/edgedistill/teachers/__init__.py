"""Teacher backends, registered by name. A new backend: a module here that subclasses
``Teacher``, decorates it with ``@register_teacher`` and is imported below."""

from edgedistill.teachers import (  # noqa: F401  (importing registers the backends)
    annotations,
    roboflow_sam3,
    roboflow_workflow,
    sam3,
    ultralytics_model,
)
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
from edgedistill.teachers.factory import budget_credits, build_teacher, teacher_settings

__all__ = [
    "ALL_CLASSES",
    "CostEstimate",
    "FrameInput",
    "RawDetection",
    "Teacher",
    "TeacherError",
    "TeacherResult",
    "available_teachers",
    "budget_credits",
    "build_teacher",
    "register_teacher",
    "teacher_class",
    "teacher_settings",
]
