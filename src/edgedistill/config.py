"""The project config (``edgedistill.yaml``): schema, loading and readable errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgedistill.errors import ConfigError
from edgedistill.ontology import Ontology


class IngestConfig(BaseModel):
    """How sources become frames."""

    model_config = ConfigDict(extra="forbid")

    fps: float = Field(default=2.0, ge=0.0, description="frames sampled per second; 0 = all")
    max_side: int = Field(default=640, ge=0, description="longest side in pixels; 0 = keep")
    dedup: bool = True
    dedup_threshold: float = Field(default=0.05, ge=0.0, le=2.0)
    jpeg_quality: int = Field(default=95, ge=50, le=100)


class ProjectConfig(BaseModel):
    """Everything a project decides, in one validated file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    name: str | None = None
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    ontology: Ontology = Field(default_factory=Ontology)


def load_config(path: Path) -> ProjectConfig:
    """Read and validate a config file; any problem raises one-sentence ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "config") -> ProjectConfig:
    """Validate config text; ``source`` names it in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({_yaml_problem(exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, not a list or value")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc, data)}") from None


def describe_validation_error(exc: ValidationError, data: Any) -> str:
    """The first problem of a pydantic error, as one sentence naming the key."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    key = _dotted(loc, data)
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(ProjectConfig, loc[:-1]))
        return f"unknown key '{key}'; allowed keys here are: {allowed}"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if error["type"] == "missing":
        return f"{key} is required"
    got = error.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
    return f"{key}: {message}{shown}"


def _dotted(loc: tuple[Any, ...], data: Any) -> str:
    """``ontology.classes[3] (police car).confidence`` from a pydantic location."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                label += f" ({node['name']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model``."""
    for item in loc:
        if isinstance(item, int):
            continue
        annotation = model.model_fields[item].annotation
        inner = getattr(annotation, "__args__", (annotation,))
        model = next(t for t in inner if isinstance(t, type) and issubclass(t, BaseModel))
    return list(model.model_fields)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem
