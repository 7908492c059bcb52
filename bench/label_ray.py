"""Labelling on Ray against the single-process path, on the same frames; writes JSON.

(a) frames per second of ``label`` in one process (with 2 torch threads, and with 1 as
    Ray gives a 1-CPU actor), and on a local Ray cluster with 1 and 2 CPU actors, all
    with the same Ultralytics teacher (YOLO11n-seg, random weights, the compute is the
    same) on CPU. Wall time includes starting the actors (the model loads once per
    actor); the steady rate is that of the run's second half. The steady-state
    overhead per frame compares one actor with the one-thread process.
(b) peak RSS of the driver (``edgedistill label --ray``, joined to this benchmark's
    cluster, so the actors are not counted) over 1,000 and 5,000 frames, against
    ``edgedistill label`` in one process, both asking the local Roboflow stand-in; and
    over 5,000 frames in windows of 1,000 (``label.ray.window``), which bounds what the
    driver holds. Goal: flat, not growing with the frame count. With a teacher that
    answers at once, the time per extra frame between the two sizes is each path's own
    cost per frame (start-up cancels out).

    .venv/bin/python bench/label_ray.py [--only a,b] [--out bench/results/label_ray.json]

The machine it ran on is in the JSON; on a shared 2-core machine the Ray actors compete
with the driver, Ray's own processes and other users for the two cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ray  # noqa: E402
import torch  # noqa: E402

from bench.label import KEY, SIXTEEN_PROMPTS, make_project, serve  # noqa: E402
from edgedistill.label import label_project  # noqa: E402
from edgedistill.label.ray_runner import label_on_ray  # noqa: E402
from edgedistill.project import Project  # noqa: E402
from edgedistill.teachers import build_teacher  # noqa: E402
from tests.label_helpers import edit_config  # noqa: E402

TEACHER = {
    "weights": "yolo11n-seg.yaml",
    "imgsz": 320,
    "device": "cpu",
    "score_floor": 0.0,
    "max_det": 20,
}


class Clock:
    """Progress callback that notes when each answer arrived."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.times: list[float] = []

    def __call__(self, done: int, _pending: int) -> None:
        self.times.append(time.perf_counter())

    def summary(self) -> dict[str, float]:
        """Rate over the whole run, and over its second half (actors long started)."""
        wall = self.times[-1] - self.start
        half = len(self.times) // 2
        second_half = self.times[-1] - self.times[half - 1]
        return {
            "wall_s": round(wall, 2),
            "first_answer_s": round(self.times[0] - self.start, 2),
            "frames_per_s": round(len(self.times) / wall, 2),
            "steady_frames_per_s": round((len(self.times) - half) / second_half, 2),
        }


def clear_cache(project: Project) -> None:
    with project.open_catalog() as catalog:
        catalog.execute("DELETE FROM label_cache")


def throughput(frames: int) -> dict[str, object]:
    runs: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder), frames, (320, 180))
        project = edit_config(project, teachers={"ultralytics": TEACHER})
        teacher = build_teacher(project.config, "ultralytics", {})
        threads = torch.get_num_threads()
        for name, count in (("2 torch threads", threads), ("1 torch thread", 1)):
            clear_cache(project)
            torch.set_num_threads(count)
            clock = Clock()
            report = label_project(project, teacher, on_progress=clock)
            assert report.frames_labelled == frames
            runs[f"single process, {name}"] = clock.summary()
        torch.set_num_threads(threads)
        for actors in (1, 2):
            clear_cache(project)
            options = project.config.label.ray.model_copy(
                update={"min_actors": actors, "max_actors": actors, "frames": "shared"}
            )
            clock = Clock()
            report = label_on_ray(project, teacher, options, on_progress=clock)
            assert report.frames_labelled == frames, report.failures[:3]
            runs[f"ray, {actors} CPU actor{'s' * (actors > 1)}"] = clock.summary()
    single = runs["single process, 1 torch thread"]["steady_frames_per_s"]
    one = runs["ray, 1 CPU actor"]["steady_frames_per_s"]
    return {
        "teacher": f"ultralytics yolo11n-seg (random weights, 20 masks a frame), CPU, "
        f"imgsz {TEACHER['imgsz']}",
        "frames": frames,
        "runs": runs,
        "overhead_ms_per_frame": round(1000 * (1 / one - 1 / single), 2),
        "overhead_basis": "ray with 1 actor vs one process with 1 torch thread, as Ray gives "
        "an actor of 1 CPU",
    }


def memory(sizes: list[int], address: str, window: int) -> dict[str, object]:
    server, url = serve(0.0)
    env = {**os.environ, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    script = Path(sys.executable).with_name("edgedistill")
    results: dict[str, dict[str, object]] = {}
    try:
        for frames in sizes:
            with tempfile.TemporaryDirectory() as folder:
                project = make_project(Path(folder), frames, (96, 64))
                project = edit_config(project, ontology=SIXTEEN_PROMPTS)
                ray_args = ["--ray", address]
                variants = [("single process", [], None), ("ray driver", ray_args, None)]
                if frames == max(sizes):
                    variants.append((f"ray driver, window {window}", ray_args, window))
                for name, extra, size in variants:
                    project = edit_config(project, label={"ray": {"window": size}} if size else {})
                    clear_cache(project)
                    start = time.perf_counter()
                    child = subprocess.run(
                        ["/usr/bin/time", "-f", "%M", str(script), "-q", "label", *extra]
                        + ["-p", str(project.root)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    peak_kb = int(child.stderr.strip().splitlines()[-1])
                    results[f"{name}, {frames} frames"] = {
                        "frames": frames,
                        "seconds": round(time.perf_counter() - start, 1),
                        "peak_rss_mb": round(peak_kb / 1024, 1),
                    }
    finally:
        server.kill()
    return {
        "teacher": "roboflow-sam3 against the local stand-in (answers at once)",
        "runs": results,
        "ms_per_extra_frame": _marginal(results, sizes),
    }


def _marginal(results: dict[str, dict[str, object]], sizes: list[int]) -> dict[str, float]:
    """Seconds per frame between the smallest and the largest run: start-up costs cancel,
    what is left is each path's cost per frame with a teacher that costs nothing."""
    small, large = min(sizes), max(sizes)
    marginal = {}
    for name in ("single process", "ray driver"):
        extra = float(results[f"{name}, {large} frames"]["seconds"])  # type: ignore[arg-type]
        extra -= float(results[f"{name}, {small} frames"]["seconds"])  # type: ignore[arg-type]
        marginal[name] = round(1000 * extra / (large - small), 2)
    return marginal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="a,b", help="which parts: a, b")
    parser.add_argument("--throughput-frames", type=int, default=400)
    parser.add_argument("--memory-frames", default="1000,5000")
    parser.add_argument("--window", type=int, default=1000, help="label.ray.window, part b")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "label_ray.json")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    report: dict[str, object] = {
        "benchmark": "label_ray",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "ray": ray.__version__,
            "ray_cluster": "local, num_cpus=2, on the same machine",
        },
    }
    try:
        if "a" in parts:
            report["throughput"] = throughput(args.throughput_frames)
        if "b" in parts:
            address = ray.get_runtime_context().gcs_address
            sizes = [int(n) for n in args.memory_frames.split(",")]
            report["memory"] = memory(sizes, address, args.window)
    finally:
        ray.shutdown()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"label on Ray benchmark ({os.cpu_count()} cores), JSON in {args.out}")
    if "throughput" in report:
        t = report["throughput"]
        for name, run in t["runs"].items():
            print(
                f"(a) {name}: {run['frames_per_s']} frames/s over {t['frames']} frames "
                f"({run['wall_s']} s, actors' start included), steady "
                f"{run['steady_frames_per_s']} frames/s"
            )
        print(f"(a) Ray overhead in steady state: {t['overhead_ms_per_frame']} ms a frame")
        start = {name: run["first_answer_s"] for name, run in t["runs"].items()}
        print(f"(a) seconds to the first answer: {start}")
    if "memory" in report:
        for name, run in report["memory"]["runs"].items():
            print(f"(b) {name}: peak RSS {run['peak_rss_mb']} MB ({run['seconds']} s)")
        for name, ms in report["memory"]["ms_per_extra_frame"].items():
            print(f"(b) {name}: {ms} ms per extra frame with an instant teacher")


if __name__ == "__main__":
    main()
