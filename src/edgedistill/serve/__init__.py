"""Serve stage: the student behind a WebSocket and a Roboflow-compatible HTTP endpoint."""

from edgedistill.serve.app import create_app

__all__ = ["create_app"]
