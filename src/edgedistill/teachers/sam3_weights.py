"""Which SAM3 a ``--weights`` path holds, and the hash that fingerprints it.

Three layouts reach the ``sam3`` teacher: Meta's ``sam3.pt`` checkpoint (run through
Ultralytics), a transformers directory of SAM3 (``facebook/sam3``: image model, or the
video model that contains it) and a transformers directory of EfficientSAM3's
SAM3-LiteText. The directory's ``config.json`` says which.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edgedistill.teachers.base import TeacherError

WeightsKind = Literal["sam3", "sam3_video", "sam3_lite_text", "ultralytics"]

WHERE_TO_GET_WEIGHTS = (
    "request access to the gated repository facebook/sam3 on Hugging Face (accept Meta's SAM "
    "License), download it (e.g. `hf download facebook/sam3 --local-dir sam3`) or Meta's "
    "sam3.pt checkpoint, then pass --weights sam3 (or sam3.pt) or set teachers.sam3.weights in "
    "edgedistill.yaml"
)

_KINDS: dict[str, WeightsKind] = {
    "sam3": "sam3",
    "sam3_video": "sam3_video",
    "sam3_lite_text": "sam3_lite_text",
}


@dataclass(frozen=True)
class Sam3Weights:
    """A SAM3 checkpoint: where it is, its layout and a digest of its bytes."""

    path: Path
    kind: WeightsKind
    digest: str


def inspect_weights(weights: Path | None) -> Sam3Weights:
    """The checkpoint at ``weights``; a TeacherError in one sentence when there is none."""
    if weights is None:
        raise TeacherError(f"the sam3 teacher needs SAM3 weights: {WHERE_TO_GET_WEIGHTS}")
    path = weights.expanduser()
    if path.suffix == ".pt":
        if not path.is_file():
            raise TeacherError(f"{weights}: no such checkpoint file; {WHERE_TO_GET_WEIGHTS}")
        return Sam3Weights(path, "ultralytics", _files_digest([path], names=False))
    config = path / "config.json"
    if not config.is_file():
        raise TeacherError(
            f"{weights}: no SAM3 weights there (no config.json); {WHERE_TO_GET_WEIGHTS}"
        )
    kind = _kind_from_config(config)
    files = [p for p in sorted(path.iterdir()) if p.suffix in (".json", ".safetensors", ".bin")]
    return Sam3Weights(path, kind, _files_digest(files))


def _kind_from_config(config: Path) -> WeightsKind:
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise TeacherError(f"{config}: not a readable model config ({exc})") from None
    if model_type not in _KINDS:
        raise TeacherError(
            f"{config}: model_type {model_type!r} is not SAM3; the sam3 teacher runs "
            f"{', '.join(_KINDS)} checkpoints (transformers) or Meta's sam3.pt"
        )
    return _KINDS[model_type]


def _files_digest(files: list[Path], names: bool = True) -> str:
    """SHA-256 over the files' bytes (and names, for a directory's files): a fine-tuned
    SAM3 gets a new fingerprint, a renamed checkpoint file keeps its own."""
    digest = hashlib.sha256()
    for path in files:
        if names:
            digest.update(path.name.encode())
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]
