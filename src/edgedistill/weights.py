"""Where a model comes from: one rule for every command that takes one.

1. an explicit path (a file, or a folder such as SAM3's) that exists;
2. a file or folder of that name in the weights folders — ``$EDGEDISTILL_WEIGHTS_DIR``
   (several separated by ``:``), then the config's ``weights_dir`` — where a name also
   matches its copy tagged with the dataset it was trained on (``yolo11n.pt`` is found
   as ``yolo11n-coco.pt``);
3. Ultralytics' own download of its release assets, when this machine is online;
4. otherwise one sentence saying where to put the file.

A model YAML (``yolo11n.yaml``) builds the architecture with random weights. That
happens only when a YAML is asked for by name, never as a fallback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from edgedistill.errors import EdgedistillError

log = logging.getLogger(__name__)

WEIGHTS_DIR_VARIABLE = "EDGEDISTILL_WEIGHTS_DIR"
DATASET_TAGS = ("coco",)
"""Tags a weights file may carry after its model name: ``yolo11n-coco.pt``."""


class WeightsNotFoundError(EdgedistillError):
    """A model named by the user is nowhere this machine can get it from."""


def is_architecture(name: str | Path) -> bool:
    """True for a model YAML: the architecture alone, with random weights."""
    return str(name).endswith((".yaml", ".yml"))


def is_bare_name(name: str | Path) -> bool:
    """True for a file name without a folder (``yolo11n.pt``): one to search for."""
    return len(Path(str(name).strip()).expanduser().parts) == 1


def weights_dirs(extra: Sequence[Path | None] = ()) -> list[Path]:
    """The folders searched by name: ``$EDGEDISTILL_WEIGHTS_DIR``, then ``extra``."""
    listed = os.environ.get(WEIGHTS_DIR_VARIABLE, "")
    folders = [Path(p).expanduser() for p in listed.split(os.pathsep) if p.strip()]
    folders += [Path(p).expanduser() for p in extra if p is not None]
    return [folder for folder in folders if folder.is_dir()]


def resolve_weights(
    name: str | Path, search: Sequence[Path | None] = (), download: bool = True
) -> str:
    """The path that ``name`` stands for, by the rule above.

    ``search`` adds folders after ``$EDGEDISTILL_WEIGHTS_DIR`` (the config's
    ``weights_dir``); ``download=False`` skips step 3. Raises
    :class:`WeightsNotFoundError` with one sentence.
    """
    text = str(name).strip()
    if is_architecture(text):
        return text
    path = Path(text).expanduser()
    if path.exists():
        return str(path)
    if not is_bare_name(text):
        raise WeightsNotFoundError(f"{text}: no such model file or folder")
    folders = weights_dirs(search)
    for folder in folders:
        for candidate in _names(path):
            if (folder / candidate).exists():
                return str(folder / candidate)
    if download and _downloadable(text):
        return _download(text, folders)
    raise WeightsNotFoundError(_where_to_put(text, folders))


def _names(path: Path) -> list[str]:
    return [path.name, *(f"{path.stem}-{tag}{path.suffix}" for tag in DATASET_TAGS)]


def _downloadable(name: str) -> bool:
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return name in GITHUB_ASSETS_NAMES


def _download(name: str, searched: Sequence[Path]) -> str:
    """Ultralytics' release asset, downloaded into the current folder when online."""
    from ultralytics.utils import is_online
    from ultralytics.utils.downloads import attempt_download_asset

    missing = WeightsNotFoundError(_where_to_put(name, searched, downloadable=True))
    if not is_online():
        raise missing
    try:
        return str(attempt_download_asset(name))
    except Exception as exc:  # Ultralytics raises several kinds for a failed download
        log.debug("download of %s failed: %s", name, exc)
        raise missing from None


def _where_to_put(name: str, folders: Sequence[Path], downloadable: bool = False) -> str:
    searched = ", ".join(str(f) for f in folders) or "no weights folder is set"
    download = (
        ", or run once with internet so that Ultralytics downloads it "
        "(github.com/ultralytics/assets/releases)"
        if downloadable
        else ""
    )
    return (
        f"{name}: not found (searched {searched}); put it in the folder named by "
        f"{WEIGHTS_DIR_VARIABLE} or by weights_dir in edgedistill.yaml, or pass its path" + download
    )
