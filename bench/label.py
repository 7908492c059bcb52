"""Label-stage benchmarks; writes JSON and prints a summary.

(a) overhead of the label pipeline (cache, pending queries, bookkeeping) over the
    teacher alone on the same frames, in one run: an Ultralytics YOLO11n-seg teacher
    (random weights; the compute is the same) on CPU. Goal: at most 10 %.
(b) throughput against a local server speaking Roboflow's SAM3 JSON that answers in
    150 ms, at the default concurrency. Goal: at least 40 frames/s on 2 cores.
(c) peak RSS of ``edgedistill label`` over 1,000 and 5,000 frames with masks.
    Goal: under 1.5 GB and not growing with the frame count.
(d) SAM3 image-encoder passes (and text-conditioned detector passes) per minute of
    video, ``label.video: propagate`` vs ``per_frame``, both at 2 fps sampling, on a
    tiny random SAM3 video model of the real architecture (the counts are the real
    model's; the seconds are not). Goal: propagate at most a third of the passes.
(e) peak RSS of ``edgedistill label --video propagate`` over a 1- and a 5-minute
    video (tiny random SAM3). Goal: flat, a session does not hold every frame's state.
(f) as (d), for Meta's ``sam3.pt`` through Ultralytics' SAM3 predictors (a tiny random
    SAM3 from Ultralytics' own builder, ``tests/tiny_sam3_ultralytics.py``).
(g) as (e), for ``sam3.pt`` through Ultralytics' ``SAM3VideoSemanticPredictor``.

    .venv/bin/python bench/label.py [--only a,b,c,d,e,f,g] [--out bench/results/label.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgedistill.config import IngestConfig  # noqa: E402
from edgedistill.ingest import ingest  # noqa: E402
from edgedistill.label import label_project  # noqa: E402
from edgedistill.project import Project, init_project  # noqa: E402
from edgedistill.teachers import build_teacher  # noqa: E402
from edgedistill.teachers.base import ALL_CLASSES  # noqa: E402
from edgedistill.teachers.cache import LabelCache  # noqa: E402
from tests.label_helpers import edit_config  # noqa: E402
from tests.media import scene, write_image, write_video  # noqa: E402
from tests.tiny_sam3 import save_tiny_sam3_video  # noqa: E402
from tests.tiny_sam3_ultralytics import save_tiny_sam3_pt, tiny_ultralytics_sam3  # noqa: E402

KEY = "bench-key-0123456789"
SIXTEEN_PROMPTS = {"classes": [{"name": f"class {i}"} for i in range(16)]}


def make_project(folder: Path, frames: int, size: tuple[int, int]) -> Project:
    project = init_project(folder / "project", "driving")
    images = folder / "images"
    images.mkdir()
    for seed in range(frames):
        write_image(images / f"f{seed:05d}.jpg", seed=seed, size=size)
    ingest(project, [str(images)], IngestConfig(dedup=False, max_side=0))
    shutil.rmtree(images)
    return project


def overhead(frames: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder), frames, (640, 360))
        # Random weights find nothing above a real threshold: keep the 20 best boxes
        # and masks a frame, about what a busy road gives a real model.
        settings = {
            "weights": "yolo11n-seg.yaml",
            "imgsz": 640,
            "device": "cpu",
            "score_floor": 0.0,
            "max_det": 20,
        }
        project = edit_config(project, teachers={"ultralytics": settings})
        teacher = build_teacher(project.config, "ultralytics", {})
        with project.open_catalog() as catalog:
            inputs = list(
                LabelCache(catalog).pending(teacher.fingerprint, (ALL_CLASSES,), project.root)
            )
        list(teacher.predict(iter(inputs[:8])))  # warm-up
        alone, pipeline = [], []
        for _ in range(runs):
            start = time.perf_counter()
            for _result in teacher.predict(iter(inputs)):
                pass
            alone.append(time.perf_counter() - start)
            with project.open_catalog() as catalog:
                catalog.execute("DELETE FROM label_cache")
            start = time.perf_counter()
            report = label_project(project, teacher)
            pipeline.append(time.perf_counter() - start)
            assert report.frames_labelled == frames
        teacher_s, pipeline_s = statistics.median(alone), statistics.median(pipeline)
    return {
        "teacher": "ultralytics yolo11n-seg (random weights, 20 masks a frame), CPU, imgsz 640",
        "frames": frames,
        "teacher_alone_s": round(teacher_s, 3),
        "pipeline_s": round(pipeline_s, 3),
        "overhead_pct": round(100 * (pipeline_s - teacher_s) / teacher_s, 2),
        "goal_pct": 10,
    }


def serve(delay: float, object_share: float = 0.0) -> tuple[subprocess.Popen[str], str]:
    """The fake Roboflow server in its own process, so it does not share our GIL."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_roboflow",
            "--key",
            KEY,
            "--delay",
            str(delay),
            "--object-share",
            str(object_share),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return server, server.stdout.readline().strip()


def throughput(frames: int) -> dict[str, object]:
    server, url = serve(0.15)
    os.environ.update(ROBOFLOW_API_KEY=KEY, ROBOFLOW_API_URL=url)
    try:
        results = {}
        with tempfile.TemporaryDirectory() as folder:
            project = make_project(Path(folder), frames, (640, 360))
            for name, ontology in (
                ("16 prompts (1 call a frame)", SIXTEEN_PROMPTS),
                ("driving preset, 23 prompts (2 calls a frame)", None),
            ):
                if ontology is not None:
                    project = edit_config(project, ontology=ontology)
                else:
                    project = edit_config(project, ontology=_driving_ontology())
                teacher = build_teacher(project.config, "roboflow-sam3", {})
                start = time.perf_counter()
                report = label_project(project, teacher)
                seconds = time.perf_counter() - start
                teacher.close()
                assert report.frames_labelled == frames, report.failures[:3]
                results[name] = {
                    "frames": frames,
                    "calls": report.calls,
                    "seconds": round(seconds, 2),
                    "frames_per_s": round(frames / seconds, 1),
                    "concurrency": teacher.settings.concurrency,
                }
        return {"server_answer_ms": 150, "goal_frames_per_s": 40, "runs": results}
    finally:
        server.kill()


def _driving_ontology() -> dict:
    from edgedistill.config import parse_config
    from edgedistill.presets import preset_text

    return parse_config(preset_text("driving")).ontology.model_dump()


def memory(sizes: list[int]) -> dict[str, object]:
    server, url = serve(0.0, object_share=0.25)
    env = {**os.environ, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    script = Path(sys.executable).with_name("edgedistill")
    results = {}
    try:
        for frames in sizes:
            with tempfile.TemporaryDirectory() as folder:
                project = make_project(Path(folder), frames, (640, 360))
                project = edit_config(project, ontology=SIXTEEN_PROMPTS)
                start = time.perf_counter()
                child = subprocess.run(
                    ["/usr/bin/time", "-f", "%M", str(script), "label", "-p", str(project.root)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                peak_kb = int(child.stderr.strip().splitlines()[-1])
                with project.open_catalog() as catalog:
                    masks = catalog.execute("SELECT COUNT(*) FROM label_cache").fetchone()[0]
                results[str(frames)] = {
                    "frames": frames,
                    "cached_prompt_answers": masks,
                    "seconds": round(time.perf_counter() - start, 1),
                    "peak_rss_mb": round(peak_kb / 1024, 1),
                }
    finally:
        server.kill()
    return {"goal_peak_rss_mb": 1536, "runs": results}


SMALL_ONTOLOGY = {
    "classes": [
        {"name": "car"},
        {"name": "police car", "parent": "car"},
        {"name": "person", "prompts": ["person", "pedestrian"]},
    ]
}
TINY_TRACKING = {"device": "cpu", "track_score": 0.05, "max_tracks": 8}


def video_project(folder: Path, seconds: float) -> Project:
    """A project holding one synthetic drive (a new scene every 0.5 s) sampled at 2 fps."""
    project = init_project(folder / "project", "driving")
    clip = folder / "drive.mp4"
    write_video(clip, seconds, 10, lambda t: scene(int(t / 0.5)), size=(320, 180))
    ingest(project, [str(clip)], IngestConfig(fps=2, dedup=False))
    clip.unlink()
    project = edit_config(project, ontology=SMALL_ONTOLOGY)
    return project


class PassCounter:
    """Counts images through SAM3's image encoder and through its per-prompt detector."""

    def __init__(self, detector) -> None:
        self.encoder = self.detector = 0
        encode, detect = detector.get_vision_features, detector.forward

        def counted_encode(*args, **kwargs):
            self.encoder += kwargs["pixel_values"].shape[0]
            return encode(*args, **kwargs)

        def counted_detect(*args, **kwargs):
            self.detector += kwargs["vision_embeds"].last_hidden_state.shape[0]
            return detect(*args, **kwargs)

        detector.get_vision_features, detector.forward = counted_encode, counted_detect


class UltralyticsPassCounter:
    """The same counts for Ultralytics' SAM3: images through ``get_im_features`` and
    (image, prompt) pairs through the detector (``forward_grounding``, all prompts at once)."""

    def __init__(self, predictor) -> None:
        self.encoder = self.detector = 0
        encode, ground = predictor.get_im_features, predictor.model.forward_grounding

        def counted_encode(im):
            self.encoder += im.shape[0]
            return encode(im)

        def counted_ground(backbone_out, text_ids, geometric_prompt=None):
            self.detector += len(text_ids)
            return ground(backbone_out, text_ids, geometric_prompt)

        predictor.get_im_features = counted_encode
        predictor.model.forward_grounding = counted_ground


def counter_for(teacher, mode: str):
    engine = teacher.engine
    if hasattr(engine, "predictor"):  # sam3.pt through Ultralytics
        return UltralyticsPassCounter(engine.predictor)
    return PassCounter(engine.model.detector_model if mode == "propagate" else engine.model)


def encoder_passes(seconds: float, keyframe_interval: int, sam3_pt: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        if sam3_pt:
            weights = save_tiny_sam3_pt(Path(folder) / "sam3.pt")
        else:
            weights = save_tiny_sam3_video(Path(folder) / "tiny-sam3-video")
        project = video_project(Path(folder), seconds)
        settings = {"weights": str(weights), **TINY_TRACKING}
        settings["keyframe_interval"] = keyframe_interval
        project = edit_config(project, teachers={"sam3": settings})
        runs = {}
        for mode in ("per_frame", "propagate"):
            teacher = build_teacher(project.config, "sam3", {"video": mode})
            counter = counter_for(teacher, mode)
            start = time.perf_counter()
            report = label_project(project, teacher)
            per_minute = 60 / seconds
            runs[mode] = {
                "frames": report.frames_labelled,
                "encoder_passes_per_min": round(counter.encoder * per_minute, 1),
                "detector_passes_per_min": round(counter.detector * per_minute, 1),
                "seconds_tiny_model": round(time.perf_counter() - start, 1),
            }
        prompts = len(project.config.ontology.prompts)
    ratio = {
        key: round(runs["propagate"][key] / runs["per_frame"][key], 3)
        for key in ("encoder_passes_per_min", "detector_passes_per_min")
    }
    return {
        "model": "tiny random sam3.pt (Ultralytics)" if sam3_pt else "tiny random Sam3VideoModel",
        "video_s": seconds,
        "sampling_fps": 2,
        "prompts": prompts,
        "keyframe_interval": keyframe_interval,
        "runs": runs,
        "propagate_over_per_frame": ratio,
        "goal_ratio": round(1 / 3, 3),
    }


def propagate_memory(minutes: list[float], sam3_pt: bool) -> dict[str, object]:
    if sam3_pt:  # the CLI in a process that builds the tiny Ultralytics SAM3
        label = [sys.executable, "-m", "tests.tiny_sam3_ultralytics", "label"]
    else:
        label = [str(Path(sys.executable).with_name("edgedistill")), "label"]
    results = {}
    for length in minutes:
        with tempfile.TemporaryDirectory() as folder:
            if sam3_pt:
                weights = save_tiny_sam3_pt(Path(folder) / "sam3.pt")
            else:
                weights = save_tiny_sam3_video(Path(folder) / "tiny-sam3-video")
            project = video_project(Path(folder), 60 * length)
            project = edit_config(
                project, teachers={"sam3": {"weights": str(weights), **TINY_TRACKING}}
            )
            command = [*label, "-p", str(project.root), "--teacher", "sam3"]
            start = time.perf_counter()
            child = subprocess.run(
                ["/usr/bin/time", "-f", "%M", *command, "--video", "propagate"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            peak_kb = int(child.stderr.strip().splitlines()[-1])
            with project.open_catalog() as catalog:
                frames = catalog.execute("SELECT COUNT(DISTINCT frame_id) FROM label_cache")
                labelled = frames.fetchone()[0]
            results[f"{length:g} min"] = {
                "frames": labelled,
                "seconds": round(time.perf_counter() - start, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
    model = "tiny random sam3.pt (Ultralytics)" if sam3_pt else "tiny random Sam3VideoModel"
    return {"model": f"{model}, CPU", "runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="a,b,c,d,e,f,g", help="which parts: a to g")
    parser.add_argument("--overhead-frames", type=int, default=48)
    parser.add_argument("--throughput-frames", type=int, default=600)
    parser.add_argument("--memory-frames", default="1000,5000")
    parser.add_argument("--passes-seconds", type=float, default=60.0)
    parser.add_argument("--keyframe-interval", type=int, default=3)
    parser.add_argument("--propagate-minutes", default="1,5")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "label.json")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    report: dict[str, object] = {
        "benchmark": "label",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
    }
    if "a" in parts:
        report["overhead"] = overhead(args.overhead_frames, runs=3)
    if "b" in parts:
        report["throughput"] = throughput(args.throughput_frames)
    if "c" in parts:
        if not Path("/usr/bin/time").exists():
            raise SystemExit("part c needs /usr/bin/time (Debian package 'time')")
        report["memory"] = memory([int(n) for n in args.memory_frames.split(",")])
    minutes = [float(n) for n in args.propagate_minutes.split(",")]
    if "d" in parts:
        report["encoder_passes"] = encoder_passes(
            args.passes_seconds, args.keyframe_interval, sam3_pt=False
        )
    if "e" in parts:
        report["propagate_memory"] = propagate_memory(minutes, sam3_pt=False)
    if "f" in parts:
        with tiny_ultralytics_sam3():
            report["encoder_passes_sam3_pt"] = encoder_passes(
                args.passes_seconds, args.keyframe_interval, sam3_pt=True
            )
    if "g" in parts:
        report["propagate_memory_sam3_pt"] = propagate_memory(minutes, sam3_pt=True)
    report["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"label benchmark ({os.cpu_count()} cores), JSON in {args.out}")
    if "overhead" in report:
        o = report["overhead"]
        print(
            f"(a) pipeline {o['pipeline_s']} s vs teacher alone {o['teacher_alone_s']} s on "
            f"{o['frames']} frames: overhead {o['overhead_pct']} % (goal <= 10 %)"
        )
    if "throughput" in report:
        for name, run in report["throughput"]["runs"].items():
            print(
                f"(b) {name}: {run['frames_per_s']} frames/s at concurrency "
                f"{run['concurrency']} (goal >= 40)"
            )
    if "memory" in report:
        for run in report["memory"]["runs"].values():
            print(
                f"(c) {run['frames']} frames with masks: peak RSS {run['peak_rss_mb']} MB "
                f"(goal < 1536 MB, flat)"
            )
    for key, part in (("encoder_passes", "d"), ("encoder_passes_sam3_pt", "f")):
        if key in report:
            e = report[key]
            for mode, run in e["runs"].items():
                print(
                    f"({part}) {e['model']}, {mode}: {run['encoder_passes_per_min']} "
                    f"image-encoder passes and {run['detector_passes_per_min']} detector "
                    "passes per minute of video"
                )
            ratio = e["propagate_over_per_frame"]
            print(
                f"({part}) propagate / per_frame: encoder {ratio['encoder_passes_per_min']}, "
                f"detector {ratio['detector_passes_per_min']} (goal <= {e['goal_ratio']})"
            )
    for key, part in (("propagate_memory", "e"), ("propagate_memory_sam3_pt", "g")):
        if key in report:
            for name, run in report[key]["runs"].items():
                frames, peak = run["frames"], run["peak_rss_mb"]
                print(
                    f"({part}) {report[key]['model']}: propagate over {name} ({frames} "
                    f"frames): peak RSS {peak} MB"
                )


if __name__ == "__main__":
    main()
