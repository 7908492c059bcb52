"""What every teacher is: a name, a fingerprint, and ``predict(frames) -> results``.

A backend subclasses :class:`Teacher`, declares a pydantic ``Settings`` model (its
options, validated from the config's ``teachers.<name>`` section and CLI flags)
and registers itself with :func:`register_teacher`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from edgedistill.errors import EdgedistillError, UsageError
from edgedistill.teachers.registry import BACKENDS, SETTINGS

if TYPE_CHECKING:
    from edgedistill.masks import Box, Rle

ALL_CLASSES = "*"
"""Cache key of teachers that label with their own class list instead of prompts."""


class TeacherError(EdgedistillError):
    """The teacher cannot run at all (missing weights, bad key, unreachable server)."""


class TeacherSettings(BaseModel):
    """Base of every backend's settings; unknown keys are errors. A field's description,
    else its docstring, is the help of its command-line flag (:mod:`edgedistill.flags`)."""

    model_config = ConfigDict(extra="forbid")


SettingsT = TypeVar("SettingsT", bound=TeacherSettings)
"""The settings model of one backend, so that ``teacher.settings`` has its fields."""


@dataclass(frozen=True)
class FrameInput:
    """A frame to label and the prompts still missing for it."""

    id: str
    path: Path
    width: int
    height: int
    source_path: str
    prompts: tuple[str, ...]
    source_id: int | None = None
    frame_index: int | None = None
    timestamp: float | None = None


@dataclass(frozen=True)
class RawDetection:
    """One teacher detection before the ontology: the prompt (or class name) that found it."""

    label: str
    score: float
    box: Box
    rle: Rle | None = None
    track: str | None = None
    """The object's track across a video's frames (video propagation), else None."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "label": self.label,
            "score": round(self.score, 5),
            "box": [round(v, 2) for v in self.box],
        }
        if self.rle is not None:
            data["rle"] = self.rle
        if self.track is not None:
            data["track"] = self.track
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawDetection:
        return cls(
            data["label"], data["score"], tuple(data["box"]), data.get("rle"), data.get("track")
        )


@dataclass
class TeacherResult:
    """The teacher's answer for one frame.

    ``prompts`` are the prompts answered (and cached); ``error`` says what failed
    after retries (reported, not cached). ``credits`` is what the calls were billed.
    """

    frame: FrameInput
    prompts: tuple[str, ...]
    detections: list[RawDetection] = field(default_factory=list)
    credits: float = 0.0
    calls: int = 0
    error: str | None = None


@dataclass(frozen=True)
class CostEstimate:
    """What labelling would cost before anything is spent."""

    calls: int
    credits: float
    usd: float
    basis: str


class Teacher(ABC, Generic[SettingsT]):
    """A labelling backend. Subclasses set ``name``, ``Settings`` and implement ``predict``;
    they subclass ``Teacher[TheirSettings]`` so that ``self.settings`` is typed."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    """The backend in words for reports ("Roboflow's hosted SAM3"); defaults to ``name``."""
    Settings: ClassVar[type[TeacherSettings]] = TeacherSettings
    """The model ``settings`` are validated with; the class that ``SettingsT`` names."""
    prompted: ClassVar[bool] = True
    """True: asked with the ontology's prompts. False: labels with its own class names."""
    propagates: bool = False
    """True: ``predict`` wants each video's frames in order and tracks objects through them."""

    def __init__(self, settings: SettingsT) -> None:
        self.settings: SettingsT = settings

    @property
    def fingerprint(self) -> str:
        """Stable id of everything that changes this teacher's output."""
        identity = json.dumps({"teacher": self.name, **self.identity()}, sort_keys=True)
        return f"{self.name}:{hashlib.sha256(identity.encode()).hexdigest()[:16]}"

    def describe(self) -> str:
        """The teacher in words: backend, and the weights it runs when it has any."""
        weights = getattr(self.settings, "weights", None)
        title = self.title or self.name
        return f"{title} ({Path(weights).name})" if weights else title

    @property
    def caveat(self) -> str | None:
        """Why its labels are not SAM3's, where it only stands in for SAM3; else None."""
        return None

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """Model, version and settings that change the output (not speed or cost knobs)."""

    @abstractmethod
    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        """Label frames, lazily: one result per frame, in any order."""

    def calls_for(self, prompts: tuple[str, ...]) -> int:
        """Requests one frame takes (paid APIs batch prompts)."""
        return 1

    def estimate(
        self, frames: int, calls: int, measured: float | None = None
    ) -> CostEstimate | None:
        """Cost of ``calls`` requests for ``frames`` frames; None when it costs nothing.

        ``measured`` is the average credits per call seen so far in this project.
        """
        return None

    @classmethod
    def credits_for_usd(cls, settings: TeacherSettings, usd: float) -> float | None:
        """A budget in dollars as credits; None for teachers that cost nothing per call.

        A class method: pricing a budget never loads a model or needs a key.
        """
        return None

    def answer_down_to(self, floor: float, nms_iou: float, max_det: int) -> bool:
        """From now on, answer with every box down to score ``floor``, duplicates within a
        class suppressed at ``nms_iou`` where the backend suppresses any, at most
        ``max_det`` a frame: as eval scores every model. False where this backend cannot
        (its answers stay as they were). Its fingerprint changes with its settings."""
        return False

    def close(self) -> None:  # noqa: B027  (most backends hold nothing to release)
        """Release models, sessions and threads."""


"""Each backend's module, imported only when the backend is used: naming the teachers
(``--help``, config checks) loads none of their heavy dependencies."""

_REGISTRY: dict[str, type[Teacher[Any]]] = {}

TeacherClassT = TypeVar("TeacherClassT", bound=type[Teacher[Any]])


def register_teacher(cls: TeacherClassT) -> TeacherClassT:
    """Class decorator: make a backend available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def check_teacher_name(name: str) -> None:
    """A :class:`UsageError` unless a backend is called ``name``; nothing is imported."""
    if name not in _REGISTRY and name not in BACKENDS:
        raise UsageError(
            f"unknown teacher '{name}'; available teachers: {', '.join(available_teachers())}"
        )


def teacher_class(name: str) -> type[Teacher[Any]]:
    """The backend called ``name``, its module imported on first use."""
    check_teacher_name(name)
    if name not in _REGISTRY:
        importlib.import_module(BACKENDS[name])
    return _REGISTRY[name]


def settings_class(name: str) -> type[TeacherSettings]:
    """The settings model of the backend called ``name``; a built-in backend's comes from
    its light settings module (``registry.SETTINGS``) without importing the backend."""
    if name in _REGISTRY or name not in SETTINGS:
        return teacher_class(name).Settings
    module, _, attribute = SETTINGS[name].partition(":")
    settings: type[TeacherSettings] = getattr(importlib.import_module(module), attribute)
    return settings


def available_teachers() -> list[str]:
    return sorted(set(BACKENDS) | set(_REGISTRY))
