"""The command line as a user meets it: exit codes, one-line errors, JSON status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgedistill.project import CONFIG_NAME
from tests.media import truncate, write_image, write_video


def test_init_writes_a_commented_config_and_a_wal_catalog(cli, tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "p"), "--preset", "driving")
    assert result.code == 0, result.err
    text = (tmp_path / "p" / CONFIG_NAME).read_text()
    assert text.startswith("# edgedistill project config")
    assert "police cruiser" in text and "# " in text.split("ontology:")[0]
    assert (tmp_path / "p" / "catalog.db").is_file()


def test_paths_are_printed_as_they_are(cli, tmp_path: Path) -> None:
    """Rich would print ``:car:`` in a folder name as an emoji."""
    result = cli("init", str(tmp_path / "a:car:b"))
    assert result.code == 0, result.err
    assert f"Created project {tmp_path / 'a:car:b'} from preset" in result.out


def test_init_refuses_an_existing_project(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path / "p"))
    result = cli("init", str(tmp_path / "p"))
    assert result.code == 1
    assert "already an edgedistill project" in result.err


def test_init_unknown_preset(cli, tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "p"), "--preset", "boats")
    assert result.code == 2
    assert "unknown preset 'boats'; available presets: blank, driving" in result.err
    assert not (tmp_path / "p" / CONFIG_NAME).exists()


def test_project_found_from_a_subdirectory(cli, tmp_path: Path, monkeypatch) -> None:
    cli("init", str(tmp_path / "p"))
    (tmp_path / "p" / "clips").mkdir()
    monkeypatch.chdir(tmp_path / "p" / "clips")
    result = cli("status", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["project"] == str((tmp_path / "p").resolve())


def test_no_project_is_one_clear_sentence(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("status")
    assert result.code == 2
    assert "no edgedistill project in" in result.err and "edgedistill init DIR" in result.err
    other = cli("ingest", "x.mp4", "-p", str(tmp_path))
    assert other.code == 2 and "is not an edgedistill project" in other.err


def test_status_json_counts(cli, tmp_path: Path) -> None:
    project = tmp_path / "p"
    cli("init", str(project))
    empty = json.loads(cli("status", "--json", "-p", str(project)).out)
    assert (empty["sources"], empty["frames"]) == (0, 0)
    video = write_video(tmp_path / "drive.mp4", seconds=2, fps=10)
    assert cli("ingest", str(video), "-p", str(project), "--no-dedup").code == 0
    counts = json.loads(cli("status", "--json", "-p", str(project)).out)
    assert counts["sources"] == 1 and counts["frames"] == 4
    assert isinstance(counts["sources"], int) and isinstance(counts["frames"], int)
    assert counts["ontology"] == {"classes": 19, "prompts": 23}
    assert "frames" in cli("status", "-p", str(project)).out


def test_flags_override_the_config(cli, tmp_path: Path) -> None:
    project = tmp_path / "p"
    cli("init", str(project))
    video = write_video(tmp_path / "drive.mp4", seconds=4, fps=10)
    result = cli("ingest", str(video), "-p", str(project), "--fps", "1", "--no-dedup")
    assert result.code == 0
    assert "4 new frames" in result.out


def test_bad_flag_value_is_rejected_before_any_work(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path / "p"))
    result = cli("ingest", "x.mp4", "-p", str(tmp_path / "p"), "--fps", "-2")
    assert result.code == 2
    assert "--fps" in result.err


def test_invalid_config_stops_every_command(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path / "p"))
    config = tmp_path / "p" / CONFIG_NAME
    config.write_text(config.read_text().replace("  fps: 2.0", "  fps: often"))
    for args in (["status"], ["ingest", str(write_image(tmp_path / "a.jpg"))]):
        result = cli(*args, "-p", str(tmp_path / "p"))
        assert result.code == 2
        assert "edgedistill.yaml: ingest.fps: input should be a valid number" in result.err
        assert "(got 'often')" in result.err
    assert not list((tmp_path / "p" / "frames").rglob("*.jpg"))


def test_truncated_video_beside_a_good_image(cli, tmp_path: Path) -> None:
    project = tmp_path / "p"
    cli("init", str(project))
    image = write_image(tmp_path / "good.jpg")
    cut = truncate(write_video(tmp_path / "clip.mp4", 2, 25), tmp_path / "cut.mp4")
    result = cli("ingest", str(cut), str(image), "-p", str(project))
    assert result.code == 1
    failures = [line for line in result.err.splitlines() if line.startswith("failed")]
    assert failures == [
        f"failed {cut}: cannot open as a video (invalid data found when processing input)"
    ]
    assert "1 file ingested: 1 new frame," in result.out
    assert "1 failed" in result.out


def run_edgedistill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("edgedistill")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "edgedistill"]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_console_script_end_to_end_without_tracebacks(tmp_path: Path) -> None:
    run_edgedistill("init", "p", "--preset", "driving", cwd=tmp_path).check_returncode()
    video = write_video(tmp_path / "some.avi", seconds=3, fps=15)
    first = run_edgedistill("ingest", str(video), "--fps", "1", cwd=tmp_path / "p")
    assert first.returncode == 0, first.stderr
    again = run_edgedistill("ingest", str(video), "--fps", "1", cwd=tmp_path / "p")
    assert again.returncode == 0 and "1 file already ingested" in again.stdout
    cut = truncate(write_video(tmp_path / "clip.mp4", 2, 25), tmp_path / "cut.mp4")
    bad = run_edgedistill("ingest", str(cut), "missing.mkv", cwd=tmp_path / "p")
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr + bad.stdout
    status = json.loads(run_edgedistill("status", "--json", cwd=tmp_path / "p").stdout)
    assert (status["sources"], status["frames"]) == (1, 3)


def test_real_dashcam_clip(cli, tmp_path: Path, assets: Path) -> None:
    clip = assets / "videos" / "dashcam_highway_960x540.mp4"
    cli("init", str(tmp_path / "p"))
    result = cli("ingest", str(clip), "-p", str(tmp_path / "p"), "--fps", "1")
    assert result.code == 0, result.err
    counts = json.loads(cli("status", "--json", "-p", str(tmp_path / "p")).out)
    # 8.84 s at 1 fps: samples at 0..8 s; highway driving has no near-duplicates.
    assert counts["frames"] == 9
    assert cli("ingest", str(clip), "-p", str(tmp_path / "p"), "--fps", "1").code == 0
    assert json.loads(cli("status", "--json", "-p", str(tmp_path / "p")).out)["frames"] == 9


def test_real_dashcam_stills(cli, tmp_path: Path, assets: Path) -> None:
    cli("init", str(tmp_path / "p"))
    result = cli("ingest", str(assets / "images" / "dashcam_stills"), "-p", str(tmp_path / "p"))
    assert result.code == 0, result.err
    counts = json.loads(cli("status", "--json", "-p", str(tmp_path / "p")).out)
    assert counts["sources_by_kind"]["image"] == 6
    assert counts["frames"] >= 5


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["ingest", "--help"],
        ["init", "--help"],
        ["status", "--help"],
        ["label", "--help"],
        ["dataset", "--help"],
        ["train", "--help"],
        ["eval", "--help"],
        ["pipeline", "--help"],
        ["export", "--help"],
        ["demo", "--help"],
    ],
)
def test_every_command_has_help(cli, args) -> None:
    result = cli(*args)
    assert result.code == 0
    assert "Usage" in result.out


def test_damaged_catalog_is_one_clear_sentence(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path / "p"))
    (tmp_path / "p" / "catalog.db").write_bytes(b"this is not sqlite" * 100)
    result = cli("status", "-p", str(tmp_path / "p"))
    assert result.code == 1
    assert "cannot open the project catalog" in result.err
    assert "Traceback" not in result.err


def test_ctrl_c_says_what_is_kept(cli, tmp_path: Path, monkeypatch) -> None:
    cli("init", str(tmp_path / "p"))

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("edgedistill.ingest.ingest", interrupted)
    result = cli("ingest", str(write_image(tmp_path / "a.jpg")), "-p", str(tmp_path / "p"))
    assert result.code == 130
    assert "interrupted; everything finished so far is kept" in result.err


def test_label_without_a_key_or_with_an_unknown_teacher(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ROBOFLOW_API_KEY", raising=False)
    cli("init", str(tmp_path / "p"))
    cli("ingest", str(write_image(tmp_path / "a.jpg")), "-p", str(tmp_path / "p"))
    result = cli("label", "-p", str(tmp_path / "p"))
    assert result.code == 1
    assert result.err.strip().startswith("error: set ROBOFLOW_API_KEY to your Roboflow API key")
    assert len(result.err.strip().splitlines()) == 1
    unknown = cli("label", "-p", str(tmp_path / "p"), "--teacher", "sam4")
    assert unknown.code == 2 and "unknown teacher 'sam4'; available teachers: annotations" in (
        unknown.err
    )


def test_later_stages_say_what_comes_first(cli, tmp_path: Path) -> None:
    cli("init", str(tmp_path / "p"))
    for command, hint in (
        ("dataset", "run `edgedistill ingest VIDEO_OR_FOLDER` first"),
        ("train", "run `edgedistill dataset` first"),
        ("eval", "run `edgedistill train` first"),
        ("pipeline", "nothing to ingest"),
    ):
        result = cli(
            command,
            "-p",
            str(tmp_path / "p"),
            *(["--teacher", "annotations"] if command == "pipeline" else []),
        )
        assert result.code in (1, 2), (command, result.err)
        assert hint in result.err, (command, result.err)
