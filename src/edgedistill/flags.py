"""Command-line flags described by pydantic settings models.

Each field of a model is a flag (``max_det`` is ``--max-det``): its help is the field's
description (else its docstring, read from the source here rather than by pydantic's
``use_attribute_docstrings``, which would cost every command that checks the config),
its type and bounds the field's, so that a new setting is a new flag with no edit to the
command line. Several models (the teacher backends) may share a flag: one field name, one
flag, applied to whichever model the command uses. Fields of a type one value cannot give
(a list, a dict) have no flag, nor have fields marked
``Field(json_schema_extra={"flag": False})``. Only pydantic (and its annotated_types) is
imported: the command line turns these into options.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

_SCALARS: tuple[type, ...] = (int, float, str, Path)
_METAVARS = {int: "N", float: "NUM", str: "TEXT", Path: "PATH"}


@dataclass(frozen=True)
class SettingFlag:
    """One field as a flag, across the models that have it."""

    field: str
    kind: type
    """int, float, str or Path: what the flag's value is read as."""
    choices: tuple[str, ...]
    """The values a ``Literal`` field allows; empty for any value of ``kind``."""
    minimum: float | None
    maximum: float | None
    help: str
    owners: tuple[str, ...]
    """The models (by name) that have this field."""

    def option(self, prefix: str = "") -> str:
        """The flag: ``--max-det`` for ``max_det``, ``--teacher-max-det`` with ``teacher-``."""
        return "--" + prefix + self.field.replace("_", "-")

    @property
    def metavar(self) -> str:
        return "|".join(self.choices) if self.choices else _METAVARS[self.kind]


def settings_flags(models: Mapping[str, type[BaseModel]]) -> list[SettingFlag]:
    """A flag per field name of ``models`` (name → model), in order of first appearance."""
    fields: dict[str, dict[str, FieldInfo]] = {}
    described: dict[str, str] = {}
    for owner, model in models.items():
        docs = _docstrings(model)
        for name, info in model.model_fields.items():
            if _wanted(info):
                fields.setdefault(name, {})[owner] = info
                described.setdefault(name, info.description or docs.get(name) or "")
    flags = (_flag(name, infos, described[name]) for name, infos in fields.items())
    return [flag for flag in flags if flag is not None]


def _docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Each field's docstring (the string below its line), from the model's source and
    its bases'; none where the source cannot be read."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__[: model.__mro__.index(BaseModel)]):
        try:
            body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
        except (OSError, TypeError):
            continue
        statements = body.body if isinstance(body, ast.ClassDef) else []
        for line, after in zip(statements, statements[1:], strict=False):
            if (
                isinstance(line, ast.AnnAssign)
                and isinstance(line.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[line.target.id] = inspect.cleandoc(after.value.value)
    return found


def _wanted(info: FieldInfo) -> bool:
    """False for a field marked ``Field(json_schema_extra={"flag": False})``: one that is
    set from elsewhere in the config, not given on its own."""
    extra = info.json_schema_extra
    return not (isinstance(extra, dict) and extra.get("flag") is False)


def _flag(name: str, infos: dict[str, FieldInfo], description: str) -> SettingFlag | None:
    kinds = {_kind(info.annotation) for info in infos.values()}
    if None in kinds:
        return None
    kind, choices = _one_kind(typing.cast(set[tuple[type, tuple[str, ...]]], kinds))
    minimum, maximum = _bounds(list(infos.values()))
    text = _help(name, infos, description)
    return SettingFlag(name, kind, choices, minimum, maximum, text, tuple(infos))


def _kind(annotation: Any) -> tuple[type, tuple[str, ...]] | None:
    """``(type, choices)`` of an annotation one flag value can give, None for another;
    ``X | None`` is ``X`` (the flag is simply not given)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _kind(args[0]) if len(args) == 1 else None
    if typing.get_origin(annotation) is typing.Literal:
        values = typing.get_args(annotation)
        return (str, tuple(map(str, values))) if all(isinstance(v, str) for v in values) else None
    return (annotation, ()) if annotation in _SCALARS else None


def _one_kind(kinds: set[tuple[type, tuple[str, ...]]]) -> tuple[type, tuple[str, ...]]:
    """The models' kinds as one: shared, else a number (int and float), else text."""
    if len(kinds) == 1:
        return next(iter(kinds))
    if {kind for kind, _ in kinds} <= {int, float}:
        return float, ()
    return str, ()


def _bounds(infos: list[FieldInfo]) -> tuple[float | None, float | None]:
    """Inclusive bounds every model agrees on (an open bound is left to the model)."""
    found = {(_bound(info, annotated_types.Ge), _bound(info, annotated_types.Le)) for info in infos}
    return next(iter(found)) if len(found) == 1 else (None, None)


def _bound(info: FieldInfo, kind: type[annotated_types.Ge] | type[annotated_types.Le]) -> Any:
    for item in info.metadata:
        if isinstance(item, kind):
            return item.ge if isinstance(item, annotated_types.Ge) else item.le
    return None


def _help(name: str, infos: dict[str, FieldInfo], description: str) -> str:
    """The description, then the models that take it and their defaults."""
    text = (description or name.replace("_", " ")).strip().rstrip(".")
    defaults = {
        owner: str(info.default)
        for owner, info in infos.items()
        if not info.is_required() and info.default is not None
    }
    if len(defaults) == len(infos) and len(set(defaults.values())) == 1:
        where = f"{', '.join(infos)}; default {next(iter(defaults.values()))}"
    else:
        where = ", ".join(
            f"{owner}: default {defaults[owner]}" if owner in defaults else owner for owner in infos
        )
    return f"{text[:1].upper()}{text[1:]} [{where}]."
