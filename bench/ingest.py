"""Whole-process ``edgedistill ingest`` beside its floors: a bare PyAV decode loop and ffmpeg.

Every contender is its own process, timed from spawn to exit (interpreter start-up and
imports included), in an order rotated every repetition; ratios are taken within each
repetition and reported as median [min-max]. Contenders:

- ``ingest``: the real CLI, ``edgedistill -q ingest``, into a fresh project each time
  (project defaults: 2 fps, 640 px, dedup, JPEG 95);
- ``ingest, unchanged``: the same CLI on a clip the project already holds (start-up,
  hashing and catalog look-ups; nothing decoded);
- ``pyav``: ``python -c`` opening the clip and decoding every frame of its video stream,
  nothing else, with ingest's threading (``thread_type`` from ``edgedistill.media.video``);
- ``pyav, default threads``: the same loop with PyAV's default threading;
- ``ffmpeg``: ``ffmpeg -i CLIP -vf fps=2 -f null -`` (skipped, with a line in the JSON,
  when the ffmpeg CLI is not installed; its FFmpeg build need not be PyAV's: the JSON
  names both versions);
- ``import av``: ``python -c "import av"``, the start-up floor, and ``import av, cv2``:
  the media libraries ingest cannot do without (cv2 brings numpy);
- ``ingest, baseline`` (with ``--baseline DIR``): the same CLI importing edgedistill
  from another checkout's ``src/``, for before/after figures taken under the same load.

Clips: ../shared/assets/videos/dashcam_highway_960x540.mp4 (8.8 s) and that clip
remuxed ``--repeat`` times, so that start-up and steady state both show. Goal (issue
17): ingest at most 1.2x the PyAV loop, start-up included. Writes JSON and prints a
summary::

    .venv/bin/python bench/ingest.py [--repeat 10] [--reps 5] [--long-reps 3] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from edgedistill.media.video import THREAD_TYPE
from edgedistill.project import Project, init_project

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "assets" / "videos" / "dashcam_highway_960x540.mp4"
BIN = Path(sys.executable).parent
GOAL = 1.2

DECODE_LOOP = """
import sys, av
with av.open(sys.argv[1]) as container:
    stream = container.streams.video[0]
    if sys.argv[2] != "default":
        stream.thread_type = sys.argv[2]
    print(sum(1 for _ in container.decode(stream)))
"""

RATIOS = {
    "ingest / pyav": ("ingest", "pyav"),
    "ingest / pyav, default threads": ("ingest", "pyav, default threads"),
    "ingest / ffmpeg": ("ingest", "ffmpeg"),
    "pyav / ffmpeg": ("pyav", "ffmpeg"),
    "ingest, unchanged / import av": ("ingest, unchanged", "import av"),
    "ingest / ingest, baseline": ("ingest", "ingest, baseline"),
}


def concatenate(clip: Path, times: int, target: Path) -> Path:
    """``clip`` repeated ``times`` times in one file, by remuxing its packets."""
    with av.open(str(clip)) as source, av.open(str(target), "w") as out:
        stream_in = source.streams.video[0]
        stream_out = out.add_stream_from_template(stream_in)
        packets = [p for p in source.demux(stream_in) if p.size]
        span = max(p.pts + p.duration for p in packets) - min(p.pts for p in packets)
        for repeat in range(times):
            for packet in packets:
                copy = av.Packet(bytes(packet))
                copy.pts, copy.dts = packet.pts + repeat * span, packet.dts + repeat * span
                copy.duration, copy.is_keyframe = packet.duration, packet.is_keyframe
                copy.time_base, copy.stream = packet.time_base, stream_out
                out.mux(copy)
    return target


@dataclass(frozen=True)
class Process:
    """One finished contender process: wall seconds from spawn to exit, CPU seconds.

    (No peak RSS: a child's ``ru_maxrss`` counts the parent it was forked from.)
    """

    seconds: float
    cpu_seconds: float
    stdout: str


def timed(command: list[str], env: dict[str, str] | None = None) -> Process:
    """Run ``command`` in its own process; its stdout is kept, a failure stops the run."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{command} failed ({child.returncode}): {err.read().strip()}")
        cpu = usage.ru_utime + usage.ru_stime
        return Process(seconds, cpu, out.read())


@dataclass
class Contender:
    """A command to time, built afresh for each run from the clip it reads."""

    name: str
    what: str
    command: Callable[[Path], list[str]]
    env: dict[str, str] | None = None
    stores: bool = False  # ingests into a fresh project, whose frames are counted


@dataclass
class Projects:
    """A fresh project for every ``ingest`` run, and one that already holds the clip."""

    folder: Path
    made: int = 0
    last: Project | None = None

    def fresh(self) -> Path:
        self.made += 1
        self.last = init_project(self.folder / f"fresh-{self.made}", "driving")
        return self.last.root

    def holding(self, clip: Path) -> Path:
        root = self.folder / f"holding-{clip.stem}"
        if not root.exists():
            init_project(root, "driving")
            timed([str(BIN / "edgedistill"), "-q", "ingest", "-p", str(root), str(clip)])
        return root


def contenders(projects: Projects, ffmpeg: str | None, baseline: Path | None) -> list[Contender]:
    python, cli = sys.executable, str(BIN / "edgedistill")
    found = [
        Contender(
            "ingest",
            "edgedistill -q ingest CLIP into a fresh project (project defaults)",
            lambda clip: [cli, "-q", "ingest", "-p", str(projects.fresh()), str(clip)],
            stores=True,
        ),
        Contender(
            "ingest, unchanged",
            "edgedistill -q ingest CLIP into a project that already holds it",
            lambda clip: [cli, "-q", "ingest", "-p", str(projects.holding(clip)), str(clip)],
        ),
        Contender(
            "pyav",
            f"python -c: open, decode every video frame; thread_type={THREAD_TYPE} as ingest "
            "(thread_count: FFmpeg's choice, as ingest)",
            lambda clip: [python, "-c", DECODE_LOOP, str(clip), THREAD_TYPE],
        ),
        Contender(
            "pyav, default threads",
            "python -c: the same loop with PyAV's default threading (slice threads)",
            lambda clip: [python, "-c", DECODE_LOOP, str(clip), "default"],
        ),
        Contender("import av", 'python -c "import av"', lambda clip: [python, "-c", "import av"]),
        Contender(
            "import av, cv2",
            'python -c "import av, cv2"',
            lambda clip: [python, "-c", "import av, cv2"],
        ),
    ]
    if baseline:
        found.append(
            Contender(
                "ingest, baseline",
                f"the same ingest with edgedistill imported from {baseline}",
                lambda clip: [cli, "-q", "ingest", "-p", str(projects.fresh()), str(clip)],
                env={**os.environ, "PYTHONPATH": str(baseline)},
                stores=True,
            )
        )
    if ffmpeg:
        found.append(
            Contender(
                "ffmpeg",
                "ffmpeg -nostdin -v error -i CLIP -vf fps=2 -f null -",
                lambda clip: (
                    [ffmpeg, "-nostdin", "-v", "error", "-i", str(clip)]
                    + ["-vf", "fps=2", "-f", "null", "-"]
                ),
            )
        )
    return found


def spread(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def measure(clip: Path, reps: int, racers: list[Contender], projects: Projects) -> dict[str, Any]:
    """``reps`` rotated rounds of every contender on ``clip`` (after one untimed round)."""
    for racer in racers:  # warms the page cache, the bytecode caches, the holding project
        timed(racer.command(clip), racer.env)
    runs: dict[str, list[Process]] = {racer.name: [] for racer in racers}
    stored = set()
    for rep in range(reps):
        shift = rep % len(racers)
        for racer in racers[shift:] + racers[:shift]:
            runs[racer.name].append(timed(racer.command(clip), racer.env))
            if racer.stores and projects.last is not None:
                with projects.last.open_catalog() as catalog:
                    stored.add(catalog.count("frames"))
    decoded = {int(p.stdout) for name in ("pyav", "pyav, default threads") for p in runs[name]}
    if len(decoded) != 1 or len(stored) != 1:
        raise SystemExit(f"runs disagree: frames decoded {decoded}, frames stored {stored}")
    pairs = {
        label: list(zip(runs[top], runs[bottom], strict=True))
        for label, (top, bottom) in RATIOS.items()
        if top in runs and bottom in runs
    }
    ratios = {
        label: spread([a.seconds / b.seconds for a, b in both]) for label, both in pairs.items()
    }
    cpu_ratios = {
        label: spread([a.cpu_seconds / b.cpu_seconds for a, b in both])
        for label, both in pairs.items()
    }
    return {
        "repetitions": reps,
        "frames_decoded": decoded.pop(),
        "frames_stored": stored.pop(),
        "seconds": {name: spread([p.seconds for p in done]) for name, done in runs.items()},
        "cpu_seconds": {
            name: spread([p.cpu_seconds for p in done], 2) for name, done in runs.items()
        },
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "goal": {
            "ratio": "ingest / pyav",
            "at_most": GOAL,
            "met": ratios["ingest / pyav"]["median"] <= GOAL,
        },
    }


def machine(ffmpeg: str | None) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    version = None
    if ffmpeg:
        version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
        version = version.splitlines()[0]
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyav": av.__version__,
        "pyav_ffmpeg": str(av.ffmpeg_version_info),
        "ffmpeg_cli": version,
    }


def summary(report: dict[str, Any]) -> None:
    """The JSON report as a few lines per clip."""
    print(f"ingest benchmark, {report['machine']['cpu_count']} cores, JSON in {report['out']}")
    print(
        f"load average before {report['load_average']['before']}, after "
        f"{report['load_average']['after']}"
    )
    if report["skipped"]:
        for name, why in report["skipped"].items():
            print(f"skipped {name}: {why}")
    for clip_name, row in report["clips"].items():
        print(
            f"\n{clip_name}: {row['frames_decoded']} frames decoded, {row['frames_stored']} "
            f"stored, {row['repetitions']} repetitions"
        )
        print(f"  {'contender':24} {'seconds median [min-max]':>26} {'CPU s':>6}")
        for name, seconds in row["seconds"].items():
            print(
                f"  {name:24} {seconds['median']:>10.3f} "
                f"[{seconds['min']:.3f}-{seconds['max']:.3f}] "
                f"{row['cpu_seconds'][name]['median']:>6.2f}"
            )
        print(f"  {'ratio, per repetition':32} {'wall':>17} {'CPU':>17}")
        for label, ratio in row["ratios"].items():
            cpu = row["cpu_ratios"][label]
            print(
                f"  {label:32} {ratio['median']:5.2f} [{ratio['min']:.2f}-{ratio['max']:.2f}] "
                f"{cpu['median']:5.2f} [{cpu['min']:.2f}-{cpu['max']:.2f}]"
            )
        goal = row["goal"]
        print(f"  goal ingest / pyav <= {goal['at_most']}: {'met' if goal['met'] else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="copies in the long clip")
    parser.add_argument("--reps", type=int, default=5, help="rotated rounds on the short clip")
    parser.add_argument("--long-reps", type=int, default=3, help="rounds on the long clip")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a src/ folder of another edgedistill (git archive main src | tar -x -C DIR): "
        "its ingest runs beside this one",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args()
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP} is missing: this benchmark needs ../shared/assets")
    ffmpeg = shutil.which("ffmpeg")
    skipped = (
        {} if ffmpeg else {"ffmpeg": "the ffmpeg CLI is not installed (apt-get install ffmpeg)"}
    )
    before = os.getloadavg()
    clips: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        projects = Projects(Path(folder))
        racers = contenders(projects, ffmpeg, args.baseline)
        long_clip = concatenate(CLIP, args.repeat, Path(folder) / f"dashcam-x{args.repeat}.mp4")
        clips["dashcam 8.8 s"] = measure(CLIP, args.reps, racers, projects)
        clips[f"dashcam x{args.repeat} (remuxed)"] = measure(
            long_clip, args.long_reps, racers, projects
        )
    report: dict[str, Any] = {
        "benchmark": "ingest",
        "out": str(args.out),
        "machine": machine(ffmpeg),
        "load_average": {
            "before": [round(x, 2) for x in before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "clip": str(CLIP.relative_to(ROOT.parent)),
        "contenders": {racer.name: racer.what for racer in racers},
        "skipped": skipped,
        "baseline": str(args.baseline) if args.baseline else None,
        "clips": clips,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    summary(report)


if __name__ == "__main__":
    main()
