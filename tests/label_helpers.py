"""Projects with frames, ready to label, and config edits for label tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from edgedistill.config import IngestConfig
from edgedistill.ingest import ingest
from edgedistill.project import Project, init_project, open_project
from tests.media import write_image

SMALL_ONTOLOGY = {
    "classes": [
        {"name": "car", "prompts": ["car"]},
        {"name": "police car", "prompts": ["police car"], "parent": "car"},
        {"name": "person", "prompts": ["person", "pedestrian"]},
    ]
}


def project_with_frames(
    root: Path, frames: int, ontology: dict[str, Any] | None = None, preset: str = "driving"
) -> Project:
    """A project holding ``frames`` distinct small frames (one image source each)."""
    project = init_project(root / "project", preset)
    images = root / "images"
    images.mkdir(exist_ok=True)
    for seed in range(frames):
        write_image(images / f"frame{seed:04d}.jpg", seed=seed, size=(96, 64))
    ingest(project, [str(images)], IngestConfig(dedup=False))
    if ontology is not None:
        project = edit_config(project, ontology=ontology)
    return project


def edit_config(project: Project, **sections: Any) -> Project:
    """Replace top-level config sections (comments are lost; fine for tests); the project
    as a command run now would open it."""
    data = yaml.safe_load(project.config_path.read_text())
    data.update(sections)
    project.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return open_project(project.root)


FAST_RETRIES = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 2.0, "max_retries": 3}
