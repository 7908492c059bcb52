"""Counts per pipeline stage, for ``edgedistill status``."""

from __future__ import annotations

import json
from typing import Any

from edgedistill.catalog import Catalog
from edgedistill.config import ProjectConfig
from edgedistill.evaluate.stage import REPORTS_DIR
from edgedistill.label import LabelCache, summarize
from edgedistill.project import Project


def project_status(project: Project) -> dict[str, Any]:
    """Counts of what each stage has produced so far; each stage adds its keys."""
    config = project.load_config()
    with project.open_catalog() as catalog:
        return {
            "project": str(project.root),
            "ontology": {
                "classes": len(config.ontology.classes),
                "prompts": len(config.ontology.prompts),
            },
            **_ingest_status(catalog),
            **_label_status(catalog, config),
            **_student_status(catalog, project),
        }


def _ingest_status(catalog: Catalog) -> dict[str, Any]:
    return {
        "sources": catalog.count("sources"),
        "sources_by_kind": {
            "video": catalog.count("sources", kind="video"),
            "image": catalog.count("sources", kind="image"),
        },
        "sources_incomplete": catalog.count("sources") - catalog.count("sources", status="done"),
        "frames": catalog.count("frames"),
        "frames_bytes": catalog.frame_bytes(),
    }


def _label_status(catalog: Catalog, config: ProjectConfig) -> dict[str, Any]:
    """Labels of the most recently used teacher, derived with the current ontology."""
    cache = LabelCache(catalog)
    last = cache.last_teacher()
    if last is None:
        return {"labelled_frames": 0, "per_class": {}, "label": None}
    summary = summarize(cache, config, *last)
    return {
        "labelled_frames": summary.labelled_frames,
        "per_class": dict(summary.per_class),
        "label": {
            "teacher": summary.teacher,
            "fingerprint": summary.fingerprint,
            "calls": summary.calls,
            "credits": round(summary.credits, 6),
            "objects": sum(summary.per_class.values()),
            "unknown_labels": sorted(summary.unknown_labels),
        },
    }


def _student_status(catalog: Catalog, project: Project) -> dict[str, Any]:
    """Datasets written, training runs, and the newest student and report."""
    runs = dict(catalog.execute("SELECT status, COUNT(*) FROM train_runs GROUP BY status"))
    student = catalog.execute(
        "SELECT weights, regressions FROM train_runs WHERE status = 'done' "
        "ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    regressed = catalog.execute(
        "SELECT COUNT(*) FROM train_runs WHERE regressions IS NOT NULL AND regressions != '[]'"
    ).fetchone()[0]
    reports = sorted((project.root / REPORTS_DIR).glob("*/report.html"))
    return {
        "datasets": catalog.execute("SELECT COUNT(*) FROM datasets").fetchone()[0],
        "train_runs": {
            status: runs.get(status, 0) for status in ("done", "failed", "interrupted", "running")
        },
        "student": student[0] if student else None,
        "regressed_runs": regressed,
        "student_regressed": (
            [r["name"] for r in json.loads(student[1])] if student and student[1] else None
        ),
        "report": str(reports[-1]) if reports else None,
    }
