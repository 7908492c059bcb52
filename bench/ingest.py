"""Ingest throughput: decode + sample + dedup, and the full ingest with storage.

Runs on ../shared/assets/videos/dashcam_highway_960x540.mp4 and on a longer clip made
by concatenating it (packets remuxed, not re-encoded). Writes JSON and prints a
summary::

    .venv/bin/python bench/ingest.py [--repeat 10] [--runs 3] [--out bench/results/ingest.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import av

from edgedistill.config import IngestConfig
from edgedistill.ingest import ingest
from edgedistill.ingest.dedup import NearDuplicateFilter
from edgedistill.media.video import VideoReader
from edgedistill.project import init_project

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "assets" / "videos" / "dashcam_highway_960x540.mp4"


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


def decode_sample_dedup(clip: Path, settings: IngestConfig) -> dict[str, float]:
    """One pass of what ingest does before storage: decode, sample, resize, dedup."""
    start = time.perf_counter()
    dedup = NearDuplicateFilter(settings.dedup_threshold) if settings.dedup else None
    kept = sampled = 0
    with VideoReader(clip) as reader:
        for frame in reader.sample(settings.fps, settings.max_side):
            sampled += 1
            kept += dedup is None or not dedup.is_duplicate(frame.image)
        decoded, duration = reader.frames_decoded, reader.info.duration or 0.0
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "frames_decoded": decoded,
        "frames_sampled": sampled,
        "frames_kept": kept,
        "video_seconds": duration,
    }


def full_ingest(clip: Path, settings: IngestConfig) -> dict[str, float]:
    """A real ``ingest`` into a fresh project: adds JPEG encoding, hashing and the catalog."""
    with tempfile.TemporaryDirectory() as folder:
        project = init_project(Path(folder) / "p", "driving")
        start = time.perf_counter()
        report = ingest(project, [str(clip)], settings)
        seconds = time.perf_counter() - start
    (result,) = report.results
    return {
        "seconds": seconds,
        "frames_sampled": result.frames_sampled,
        "frames_kept": result.frames_new + result.frames_present,
    }


def measure(clip: Path, settings: IngestConfig, runs: int) -> dict[str, object]:
    passes = [decode_sample_dedup(clip, settings) for _ in range(runs)]
    stored = [full_ingest(clip, settings) for _ in range(runs)]
    seconds = statistics.median(p["seconds"] for p in passes)
    first = passes[0]
    return {
        "settings": settings.model_dump(),
        "frames_decoded": first["frames_decoded"],
        "frames_sampled": first["frames_sampled"],
        "frames_kept": first["frames_kept"],
        "video_seconds": round(first["video_seconds"], 2),
        "decode_sample_dedup": {
            "seconds_median": round(seconds, 3),
            "decoded_fps": round(first["frames_decoded"] / seconds, 1),
            "realtime_factor": round(first["video_seconds"] / seconds, 1),
        },
        "full_ingest": {
            "seconds_median": round(statistics.median(s["seconds"] for s in stored), 3),
            "decoded_fps": round(
                first["frames_decoded"] / statistics.median(s["seconds"] for s in stored), 1
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="copies in the long clip")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args()
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP} is missing: this benchmark needs ../shared/assets")
    cases = {"every frame (fps 0)": IngestConfig(fps=0), "default (fps 2)": IngestConfig()}
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        long_clip = concatenate(CLIP, args.repeat, Path(folder) / "long.mp4")
        for clip_name, clip in (("dashcam 8.8 s", CLIP), (f"dashcam x{args.repeat}", long_clip)):
            for case_name, settings in cases.items():
                results[f"{clip_name}, {case_name}"] = measure(clip, settings, args.runs)
    report = {
        "benchmark": "ingest",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "pyav": av.__version__,
        },
        "clip": str(CLIP.relative_to(ROOT.parent)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"ingest benchmark ({report['machine']['cpu_count']} cores), JSON in {args.out}")
    header = (
        f"{'case':44} {'decoded':>7} {'kept':>5} {'decode+sample+dedup':>20} {'full ingest':>12}"
    )
    print(header)
    for name, row in results.items():
        fast, full = row["decode_sample_dedup"], row["full_ingest"]
        print(
            f"{name:44} {row['frames_decoded']:>7} {row['frames_kept']:>5} "
            f"{fast['decoded_fps']:>10.0f} fps {fast['realtime_factor']:>4.0f}x "
            f"{full['decoded_fps']:>8.0f} fps"
        )
    print(f"peak RSS {report['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
