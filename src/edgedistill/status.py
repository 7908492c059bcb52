"""Counts per pipeline stage, for ``edgedistill status``."""

from __future__ import annotations

from typing import Any

from edgedistill.project import Project


def project_status(project: Project) -> dict[str, Any]:
    """Counts of what each stage has produced so far; later stages add their keys."""
    config = project.load_config()
    with project.open_catalog() as catalog:
        return {
            "project": str(project.root),
            "ontology": {
                "classes": len(config.ontology.classes),
                "prompts": len(config.ontology.prompts),
            },
            "sources": catalog.count("sources"),
            "sources_by_kind": {
                "video": catalog.count("sources", kind="video"),
                "image": catalog.count("sources", kind="image"),
            },
            "sources_incomplete": catalog.count("sources")
            - catalog.count("sources", status="done"),
            "frames": catalog.count("frames"),
            "frames_bytes": catalog.frame_bytes(),
        }
