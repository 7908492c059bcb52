"""Small videos and images made on the fly, so that tests need no files of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

CODECS = {".mp4": "libx264", ".mkv": "libx264", ".mov": "libx264", ".avi": "mjpeg"}


def scene(seed: int, size: tuple[int, int] = (96, 64)) -> np.ndarray:
    """A smooth random picture (BGR): blurred noise at a few scales, like a real view."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(image, (5, 5), 0)


def panning(seconds_per_scene: float = 0.5) -> Callable[[float], np.ndarray]:
    """Frames that change to a new scene every ``seconds_per_scene``: never near-duplicates."""
    return lambda t: scene(int(t / seconds_per_scene + 1e-9))


def write_video(
    path: Path,
    seconds: float,
    fps: int,
    picture: Callable[[float], np.ndarray] | None = None,
    size: tuple[int, int] = (96, 64),
    rotation: int | None = None,
    faststart: bool = False,
) -> Path:
    """Encode ``picture(t)`` for every frame; ``rotation`` sets the display matrix.

    ``faststart`` puts the MP4 index first, as streaming-friendly files have it, so
    that a truncated copy still opens and breaks part-way.
    """
    picture = picture or panning()
    codec = CODECS[path.suffix.lower()]
    width, height = size
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index in range(round(seconds * fps)):
            image = cv2.resize(picture(index / fps), (width, height))
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncate(path: Path, target: Path, share: float = 0.5) -> Path:
    """A copy of ``path`` cut after ``share`` of its bytes, like an interrupted download."""
    data = path.read_bytes()
    target.write_bytes(data[: int(len(data) * share)])
    return target


def write_image(
    path: Path, seed: int = 0, size: tuple[int, int] = (96, 64), **save: object
) -> Path:
    """Save ``scene(seed)`` in the format the suffix names; ``save`` goes to PIL."""
    rgb = scene(seed, size)[:, :, ::-1]
    Image.fromarray(rgb).save(path, **save)
    return path


def write_camera(path: Path, images: Iterable[np.ndarray], size: tuple[int, int]) -> Path:
    """BGR ``images`` as a 15 fps y4m clip, which Chromium plays (looped) as its camera."""
    width, height = size
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=15)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


HOOD_BAND = 0.2
"""Share of the frame's height the stand-in hood covers."""
HOOD_WIDTH = 5 / 6
"""Share of the frame's width it covers, centred."""
HOOD_REGION = [
    ((1 - HOOD_WIDTH) / 2, 1 - HOOD_BAND),
    ((1 + HOOD_WIDTH) / 2, 1 - HOOD_BAND),
    ((1 + HOOD_WIDTH) / 2, 1.0),
    ((1 - HOOD_WIDTH) / 2, 1.0),
]
"""Where the stand-in hood is, as (x, y) shares of the frame: the truth a found mask and
the HUD's lead choices are checked against."""


def hooded_clip(assets: Path, path: Path, seconds: float | None = None) -> Path:
    """The real dashcam clip with a stand-in for the car's own hood: the rear of a real car
    (the white car of dashcam still test1.jpg), squashed into a band over the bottom fifth
    of every frame, in the same place throughout. A COCO detector calls it a car (about 0.7
    at 832 px), as an open-vocabulary teacher asked for "car" calls a visible hood one."""
    still = cv2.imread(str(assets / "images" / "dashcam_stills" / "test1.jpg"))
    car = still[400:512, 1048:1275]
    source = av.open(str(assets / "videos" / "dashcam_highway_960x540.mp4"))
    stream = source.streams.video[0]
    fps = stream.average_rate
    with source, av.open(str(path), "w") as target:
        out = target.add_stream("libx264", rate=fps)
        out.width, out.height, out.pix_fmt = stream.width, stream.height, "yuv420p"
        for frame in source.decode(stream):
            if seconds is not None and frame.time is not None and frame.time >= seconds:
                break
            image = frame.to_ndarray(format="bgr24")
            height, width = image.shape[:2]
            band_w, band_h = int(width * HOOD_WIDTH), int(height * HOOD_BAND)
            left = (width - band_w) // 2
            image[height - band_h :, left : left + band_w] = cv2.resize(car, (band_w, band_h))
            for packet in out.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                target.mux(packet)
        for packet in out.encode():
            target.mux(packet)
    return path
