"""``GET /model``: the app model this server offers, so phones can update over the air.

Served when a ``model.json`` (written by ``edgedistill export-app``) lies beside the served
``.onnx``. The answer names the version, the file's SHA-256 and where to download it; the app
fetches the file only for a new version and keeps its bundled model unless the checksum
matches. Both routes need an API key, as the stream does, and allow any origin: the app's web build
is served from elsewhere, and the key, not the origin, is what is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse

from edgedistill.app_model import MODEL_FILE, read_app_model

ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}


def add_model_routes(
    app: FastAPI, directory: Path, authorised: Callable[[str | None], bool]
) -> None:
    model = read_app_model(directory)
    onnx = model["files"]["onnx"]

    @app.get("/model")
    def describe(api_key: str | None = None) -> Any:
        if not authorised(api_key):
            return _refused()
        offer = {
            "version": model["version"],
            "sha256": onnx["sha256"],
            "bytes": onnx["bytes"],
            "url": f"/model/{MODEL_FILE}?api_key={api_key}",
            "model": model,
        }
        return JSONResponse(offer, headers=ANY_ORIGIN)

    @app.get(f"/model/{MODEL_FILE}")
    def download(api_key: str | None = None) -> Any:
        if not authorised(api_key):
            return _refused()
        return FileResponse(
            directory / MODEL_FILE, media_type="application/octet-stream", headers=ANY_ORIGIN
        )


def _refused() -> JSONResponse:
    return JSONResponse(
        {"message": "invalid or missing api_key"}, status_code=401, headers=ANY_ORIGIN
    )
