"""Ingest stage: videos and images in, sampled, resized, deduplicated frames out."""

from edgedistill.ingest.pipeline import IngestReport, SourceResult, ingest

__all__ = ["IngestReport", "SourceResult", "ingest"]
