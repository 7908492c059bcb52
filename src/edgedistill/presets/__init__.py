"""Project config templates shipped with the package, one commented YAML file each."""

from __future__ import annotations

from importlib import resources

from edgedistill.errors import UsageError


def available_presets() -> list[str]:
    """Names of the shipped presets, e.g. ``driving``."""
    files = resources.files(__package__).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    """The commented config text of preset ``name``."""
    if name not in available_presets():
        raise UsageError(
            f"unknown preset '{name}'; available presets: {', '.join(available_presets())}"
        )
    return resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
