"""A project directory: config file, catalog and stored frames.

::

    my-project/
      edgedistill.yaml   the validated config (ontology, stage settings)
      catalog.db         SQLite catalog (WAL): sources, frames, later labels and runs
      frames/ab/ab….jpg  frames as JPEG, named by the SHA-256 of their bytes
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgedistill.catalog import Catalog
from edgedistill.config import ProjectConfig, load_config, parse_config
from edgedistill.errors import EdgedistillError, ProjectNotFoundError
from edgedistill.presets import preset_text

CONFIG_NAME = "edgedistill.yaml"
CATALOG_NAME = "catalog.db"
FRAMES_DIR = "frames"


@dataclass(frozen=True)
class Project:
    """Paths of one project; open the config and catalog through it."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def frames_dir(self) -> Path:
        return self.root / FRAMES_DIR

    def load_config(self) -> ProjectConfig:
        return load_config(self.config_path)

    def open_catalog(self) -> Catalog:
        return Catalog(self.catalog_path)


def init_project(root: Path, preset: str = "driving") -> Project:
    """Create a project at ``root`` (made if missing) from a preset config."""
    project = Project(root.resolve())
    if project.config_path.exists():
        raise EdgedistillError(f"{project.root} is already an edgedistill project")
    if root.exists() and not root.is_dir():
        raise EdgedistillError(f"{root} exists and is not a directory")
    text = preset_text(preset)
    parse_config(text, source=f"preset '{preset}'")
    try:
        project.frames_dir.mkdir(parents=True, exist_ok=True)
        project.config_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EdgedistillError(f"cannot create a project at {root} ({exc.strerror})") from None
    project.open_catalog().close()
    return project


def find_project(path: Path | None = None) -> Project:
    """The project at ``path``; without one, the current directory or its nearest parent."""
    if path is not None:
        project = Project(path.resolve())
        if not project.config_path.is_file():
            raise ProjectNotFoundError(
                f"{path} is not an edgedistill project (no {CONFIG_NAME}); "
                f"create one with: edgedistill init {path}"
            )
        return project
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return Project(candidate)
    raise ProjectNotFoundError(
        f"no edgedistill project in {here} or its parents; "
        "pass -p/--project DIR or create one with: edgedistill init DIR"
    )
