"""Ingest stage: videos and images in, sampled, resized, deduplicated frames out."""

from edgedistill.ingest.pipeline import IngestReport, SourceResult, ingest
from edgedistill.ingest.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "IngestReport", "SourceResult", "ingest"]
