"""Near-duplicate removal: stills collapse, motion is kept, exposure does not count."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgedistill.config import IngestConfig
from edgedistill.ingest import ingest
from edgedistill.ingest.dedup import NearDuplicateFilter, difference, signature
from edgedistill.project import Project
from tests.media import scene, write_video

THRESHOLD = IngestConfig().dedup_threshold


def noisy(image: np.ndarray, seed: int, sigma: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def test_signature_difference_orders_changes_sensibly() -> None:
    base = scene(1, (320, 240))
    brighter = np.clip(base.astype(int) + 30, 0, 255).astype(np.uint8)
    walker = base.copy()
    walker[100:180, 150:180] = 255  # a person-sized blob appears
    same = difference(signature(base), signature(base))
    noise = difference(signature(base), signature(noisy(base, 0)))
    exposure = difference(signature(base), signature(brighter))
    other = difference(signature(base), signature(scene(2, (320, 240))))
    assert same == 0.0
    assert noise < THRESHOLD and exposure < THRESHOLD
    assert difference(signature(base), signature(walker)) > noise
    assert other > 10 * THRESHOLD


def test_filter_keeps_changes_and_drops_repeats() -> None:
    dedup = NearDuplicateFilter(THRESHOLD)
    assert not dedup.is_duplicate(scene(1))
    assert dedup.is_duplicate(noisy(scene(1), 1))
    assert not dedup.is_duplicate(scene(2))
    assert dedup.is_duplicate(scene(1))  # still in the window of recent kept frames


def test_zero_threshold_drops_only_exact_repeats() -> None:
    dedup = NearDuplicateFilter(0.0)
    assert not dedup.is_duplicate(scene(1))
    assert dedup.is_duplicate(scene(1))
    assert not dedup.is_duplicate(noisy(scene(1), 2))


def stop_and_go(t: float) -> np.ndarray:
    """Driving for 3 s, waiting at a light for 8 s (sensor noise only), driving for 3 s."""
    if 3 <= t < 11:
        return noisy(scene(100, (96, 64)), int(t * 100), sigma=3)
    return scene(int(t * 2))


def test_a_stop_yields_a_handful_of_frames(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "stop.mp4", seconds=14, fps=25, picture=stop_and_go)
    settings = IngestConfig(fps=2)
    report = ingest(project, [str(video)], settings)
    (result,) = report.results
    assert result.frames_sampled == 28
    # 12 samples while driving, 16 while stopped: the stop keeps at most 2.
    assert 12 <= result.frames_new <= 14
    assert result.near_duplicates >= 14
    assert result.frames_new + result.near_duplicates == 28


def test_no_dedup_keeps_every_sample(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "stop.mp4", seconds=14, fps=25, picture=stop_and_go)
    report = ingest(project, [str(video)], IngestConfig(fps=2, dedup=False))
    (result,) = report.results
    assert result.near_duplicates == 0
    # The encoder may repeat a still picture exactly; identical frames are stored once.
    assert result.frames_new + result.frames_present == 28
    assert result.frames_new >= 20
