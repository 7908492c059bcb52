"""Read still images upright (EXIF orientation applied), as BGR arrays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgedistill.errors import EdgedistillError
from edgedistill.media.video import fit_within

_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}


class ImageError(EdgedistillError):
    """An image file cannot be decoded."""


def load_image(path: Path, max_side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The image at ``path`` upright, fitted within ``max_side``, as HxWx3 uint8 BGR,
    and its full upright ``(width, height)``."""
    from PIL import Image, ImageOps  # here, not above: ingesting videos never needs Pillow

    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(_EXIF_ORIENTATION) in _QUARTER_TURNS:
                width, height = height, width
            # A JPEG can decode straight to 1/2, 1/4 or 1/8 of its size: much faster.
            image.draft("RGB", fit_within(*image.size, max_side))
            image.load()
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot decode as an image ({_reason(exc)})") from None
    except ImportError:
        # Ultralytics, once imported, patches Image.open to load a HEIF plugin for
        # files Pillow cannot identify; without that plugin it raises ImportError.
        raise ImageError("cannot decode as an image (not a readable image format)") from None
    size = fit_within(width, height, max_side)
    if size != upright.size:
        upright = upright.resize(size, Image.Resampling.BOX)
    return np.asarray(upright)[:, :, ::-1].copy(), (width, height)


def read_image(path: Path) -> np.ndarray:
    """A stored image (a frame's JPEG) as OpenCV reads it, HxWx3 uint8 BGR; one sentence
    when it is missing or cannot be decoded."""
    image = cv2.imread(str(path))
    if image is None:
        raise ImageError(f"{path}: missing or not a readable image")
    return image


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "cannot identify image file" in text:
        return "not a readable image format"
    return text.split(" at ")[0].rstrip(".") or type(exc).__name__
