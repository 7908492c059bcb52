"""The ingest stage: storage, provenance, idempotence, images and bad inputs."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from edgedistill.config import IngestConfig
from edgedistill.ingest import ingest
from edgedistill.project import Project
from tests.media import scene, truncate, write_image, write_video

NO_DEDUP = IngestConfig(fps=2, dedup=False)


def frame_files(project: Project) -> list[Path]:
    return sorted(project.frames_dir.rglob("*.jpg"))


def test_frames_are_jpegs_named_by_content_hash_with_provenance(
    project: Project, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=3, fps=20, size=(320, 240))
    ingest(project, [str(video)], IngestConfig(fps=2, max_side=160, dedup=False))
    with project.open_catalog() as catalog:
        (source,) = catalog.sources()
        frames = list(catalog.frames())
    assert source.path == str(video.resolve())
    assert source.status == "done" and source.kind == "video"
    assert (source.width, source.height, source.fps) == (320, 240, 20)
    assert source.content_hash == hashlib.sha256(video.read_bytes()).hexdigest()
    assert [f.frame_index for f in frames] == [0, 10, 20, 30, 40, 50]
    assert [f.timestamp for f in frames] == pytest.approx([0, 0.5, 1, 1.5, 2, 2.5])
    for frame in frames:
        data = (project.root / frame.path).read_bytes()
        assert frame.id == hashlib.sha256(data).hexdigest()[:32]
        assert frame.path == f"frames/{frame.id[:2]}/{frame.id}.jpg"
        assert (frame.width, frame.height, frame.bytes) == (160, 120, len(data))
        assert Image.open(project.root / frame.path).format == "JPEG"
    assert len(frame_files(project)) == 6


def test_second_ingest_adds_nothing(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=3, fps=20)
    images = tmp_path / "stills"
    images.mkdir()
    for seed in range(3):
        write_image(images / f"{seed}.jpg", seed=seed)
    first = ingest(project, [str(video), str(images)], NO_DEDUP)
    files = frame_files(project)
    second = ingest(project, [str(video), str(images)], NO_DEDUP)
    assert first.total("frames_new") == 9
    assert [r.status for r in second.results] == ["unchanged"] * 4
    assert second.total("frames_new") == 0
    assert frame_files(project) == files
    with project.open_catalog() as catalog:
        assert catalog.count("frames") == 9 and catalog.count("sources") == 4


def test_same_content_under_another_name_adds_nothing(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=2, fps=10)
    ingest(project, [str(video)], NO_DEDUP)
    copy = tmp_path / "copy of drive.mp4"
    copy.write_bytes(video.read_bytes())
    report = ingest(project, [str(copy)], NO_DEDUP)
    assert report.results[0].status == "unchanged"


def test_a_higher_rate_adds_only_the_frames_in_between(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=4, fps=20)
    ingest(project, [str(video)], IngestConfig(fps=1, dedup=False))
    report = ingest(project, [str(video)], IngestConfig(fps=2, dedup=False))
    (result,) = report.results
    assert (result.frames_new, result.frames_present) == (4, 4)


def test_another_frame_size_is_refused_not_stored_twice(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=2, fps=10, size=(320, 240))
    ingest(project, [str(video)], IngestConfig(max_side=160))
    report = ingest(project, [str(video)], IngestConfig(max_side=320))
    (result,) = report.results
    assert result.status == "skipped"
    assert "max_side 160" in (result.message or "")
    assert not report.failures


def test_bad_inputs_beside_good_ones(project: Project, tmp_path: Path) -> None:
    good_image = write_image(tmp_path / "good.jpg")
    good_video = write_video(tmp_path / "good.mp4", seconds=2, fps=10)
    cut = truncate(write_video(tmp_path / "long.mp4", 4, 25, faststart=True), tmp_path / "cut.mp4")
    headless = truncate(write_video(tmp_path / "other.mp4", 2, 25), tmp_path / "no_index.mp4")
    corrupt_jpeg = truncate(good_image, tmp_path / "corrupt.jpg", share=0.3)
    not_media = tmp_path / "notes.txt"
    not_media.write_text("hello")
    fake_png = tmp_path / "fake.png"
    fake_png.write_text("not a png")
    arguments = [
        str(cut),
        str(good_image),
        str(tmp_path / "missing.mov"),
        str(headless),
        str(corrupt_jpeg),
        str(not_media),
        str(fake_png),
        str(good_video),
    ]
    report = ingest(project, arguments, NO_DEDUP)
    failed = dict(report.failures)
    assert set(failed) == {
        str(cut),
        str(tmp_path / "missing.mov"),
        str(headless),
        str(corrupt_jpeg),
        str(not_media),
        str(fake_png),
    }
    assert "truncated" in failed[str(cut)] or "breaks after" in failed[str(cut)]
    assert "kept the" in failed[str(cut)]
    assert failed[str(tmp_path / "missing.mov")] == "no such file or folder"
    assert "unsupported file type .txt" in failed[str(not_media)]
    assert "cannot open as a video" in failed[str(headless)]
    assert "cannot decode as an image" in failed[str(fake_png)]
    statuses = {r.file.path.name: r.status for r in report.results}
    assert statuses["good.jpg"] == statuses["good.mp4"] == "ingested"
    with project.open_catalog() as catalog:
        kinds = {s.path.rsplit("/", 1)[1]: s.status for s in catalog.sources()}
    # The cut video keeps the frames before the break, marked as incomplete.
    assert kinds == {"cut.mp4": "partial", "good.jpg": "done", "good.mp4": "done"}


def test_partial_video_is_retried_and_still_reported(project: Project, tmp_path: Path) -> None:
    cut = truncate(write_video(tmp_path / "long.mp4", 4, 25, faststart=True), tmp_path / "cut.mp4")
    first = ingest(project, [str(cut)], NO_DEDUP)
    second = ingest(project, [str(cut)], NO_DEDUP)
    assert first.results[0].frames_new > 0
    assert second.results[0].status == "failed"
    assert second.results[0].frames_new == 0


def test_interrupted_ingest_resumes_without_duplicates(project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=5, fps=20)
    calls = 0

    def interrupt_after_three(*_: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(project, [str(video)], NO_DEDUP, on_progress=interrupt_after_three)
    with project.open_catalog() as catalog:
        assert catalog.count("frames") == 3
        assert next(catalog.sources()).status == "ingesting"
    report = ingest(project, [str(video)], NO_DEDUP)
    assert (report.results[0].frames_new, report.results[0].frames_present) == (7, 3)
    with project.open_catalog() as catalog:
        assert catalog.count("frames") == 10
        assert next(catalog.sources()).status == "done"


def test_image_folders_recursive_any_case_hidden_skipped(project: Project, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "day" / "nested").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    write_image(root / "a.JPG", seed=1)
    write_image(root / "day" / "b.PnG", seed=2)
    write_image(root / "day" / "nested" / "c.webp", seed=3)
    write_image(root / "day" / "d.bmp", seed=4)
    write_image(root / "day" / "e.jpeg", seed=5)
    write_image(root / ".thumbnails" / "f.jpg", seed=6)
    write_image(root / ".hidden.jpg", seed=7)
    (root / "readme.txt").write_text("skip me")
    report = ingest(project, [str(root)], NO_DEDUP)
    names = sorted(r.file.path.name for r in report.results)
    assert names == ["a.JPG", "b.PnG", "c.webp", "d.bmp", "e.jpeg"]
    assert report.total("frames_new") == 5
    assert not report.failures


def test_quoted_glob_is_expanded(project: Project, tmp_path: Path) -> None:
    for seed in range(3):
        write_image(tmp_path / f"shot{seed}.jpg", seed=seed)
    write_image(tmp_path / "other.png", seed=9)
    report = ingest(project, [str(tmp_path / "shot*.jpg")], NO_DEDUP)
    assert sorted(r.file.path.name for r in report.results) == [
        "shot0.jpg",
        "shot1.jpg",
        "shot2.jpg",
    ]


def test_exif_orientation_is_applied(project: Project, tmp_path: Path) -> None:
    image = Image.fromarray(scene(3, (120, 80))[:, :, ::-1])
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees: portrait
    image.save(tmp_path / "phone.jpg", exif=exif)
    ingest(project, [str(tmp_path / "phone.jpg")], NO_DEDUP)
    with project.open_catalog() as catalog:
        (frame,) = catalog.frames()
        (source,) = catalog.sources()
    assert (frame.width, frame.height) == (80, 120)
    assert (source.width, source.height) == (80, 120)


def test_large_images_are_fitted_and_small_ones_not_upscaled(
    project: Project, tmp_path: Path
) -> None:
    write_image(tmp_path / "big.jpg", seed=1, size=(2000, 1500))
    write_image(tmp_path / "small.png", seed=2, size=(200, 100))
    ingest(project, [str(tmp_path)], IngestConfig(max_side=640, dedup=False))
    with project.open_catalog() as catalog:
        sizes = sorted((f.width, f.height) for f in catalog.frames())
    assert sizes == [(200, 100), (640, 480)]


def test_catalog_is_sqlite_in_wal_mode(project: Project) -> None:
    with sqlite3.connect(project.catalog_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"sources", "frames"} <= tables


def test_the_project_never_ingests_its_own_frames(project: Project, tmp_path: Path) -> None:
    ingest(project, [str(write_image(tmp_path / "a.jpg"))], NO_DEDUP)
    report = ingest(project, [str(project.root)], NO_DEDUP)
    assert not report.results
    assert all(reason == "is inside the project itself" for _, reason in report.failures)
    with project.open_catalog() as catalog:
        assert catalog.count("frames") == 1


def test_the_pipeline_source_list_is_not_an_ingest_setting(project: Project, tmp_path) -> None:
    video = write_video(tmp_path / "drive.mp4", seconds=2, fps=10)
    ingest(project, [str(video)], NO_DEDUP)
    listed = NO_DEDUP.model_copy(update={"sources": [str(video)]})
    assert ingest(project, [str(video)], listed).results[0].status == "unchanged"
