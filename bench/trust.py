"""Is what the driver sees true? Ghost classes and the car's own hood, before and after.

1. **Ghost detections**: boxes of classes the student never saw a box of (none in its
   training labels), per frame of the dashcam clip (``../shared/assets/videos``) at the
   HUD's confidence. Measured on the newest student of each project given: ``--before``, a
   project trained by an earlier version (its weights unmasked), and ``--after``.
2. **The hood as the lead vehicle**: the dashcam clip with a stand-in hood (the rear of a
   real car squashed over the bottom fifth, ``tests.media.hooded_clip``), labelled by the
   demo's stand-in teacher (COCO YOLO11n at 832 px) in a project of its own, whose
   ``dataset`` finds the ego mask. The HUD runs with each student and COCO YOLO11n, once
   as before (no ego mask, no distance guard) and once as now; the lead choices on the
   stand-in hood (at least half inside the region where it was pasted, known, not the
   mask found) are counted from the ``--events`` log. The plain clip is run as well.

    .venv/bin/python bench/trust.py --before /tmp/demo_before/…/project --after demo/…/project

Writes bench/results/trust.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import coco_onnx  # noqa: E402
from edgedistill.config import HudConfig  # noqa: E402
from edgedistill.ego import share_inside  # noqa: E402
from edgedistill.hud import run_hud  # noqa: E402
from edgedistill.hud.sources import open_source  # noqa: E402
from edgedistill.project import Project, open_project  # noqa: E402
from edgedistill.runtime import open_runtime  # noqa: E402
from edgedistill.untrained import classes_without_boxes  # noqa: E402
from tests.media import HOOD_REGION, hooded_clip  # noqa: E402

ASSETS = ROOT.parent / "shared" / "assets"
CLIP = ASSETS / "videos" / "dashcam_highway_960x540.mp4"
OUT = ROOT / "bench" / "results" / "trust.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a project trained by an earlier version")
    parser.add_argument(
        "--after", type=Path, help="the same, trained now (default: make demo's project)"
    )
    args = parser.parse_args()
    args.after = args.after or _demo_project()
    projects = {"before": args.before, "after": args.after}
    students = {when: _student_onnx(open_project(path)) for when, path in projects.items() if path}
    results: dict[str, Any] = {
        "benchmark": "trust",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
    }
    results["ghosts"] = {
        when: ghosts(open_project(projects[when]), onnx) for when, onnx in students.items()
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hooded = hooded_clip(ASSETS, folder / "hooded.mp4")
        mask = _found_mask(folder, hooded)
        models = {f"student ({when})": onnx for when, onnx in students.items()}
        models["COCO yolo11n"] = coco_onnx("yolo11n", folder)
        results["ego_mask"] = mask
        results["hood"] = {
            name: {
                clip.stem: {
                    guard: leads_on_hood(clip, onnx, settings, folder)
                    for guard, settings in _guards(mask).items()
                }
                for clip in (hooded, CLIP)
            }
            for name, onnx in models.items()
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    summarize(results)


def _demo_project() -> Path:
    found = sorted((ROOT / "demo").glob("*/project"))
    if not found:
        raise SystemExit("no project to measure: run `make demo` first, or pass --after DIR")
    return found[0]


def _student_onnx(project: Project) -> Path:
    """The newest student of ``project`` as ONNX (the export the HUD would run)."""
    weights = project.latest_weights()
    onnx = project.exports_dir / weights.parent.parent.name / f"{weights.stem}.onnx"
    if not onnx.is_file() or onnx.stat().st_mtime < weights.stat().st_mtime:
        raise SystemExit(f"{onnx}: export the newest student first (edgedistill export)")
    return onnx


def ghosts(project: Project, onnx: Path) -> dict[str, Any]:
    """Detections per frame of the clip of classes without a training box."""
    run = project.run_of(project.latest_weights())
    assert run is not None
    unseen = set(classes_without_boxes(project.dataset(run.dataset).data_yaml))
    student = open_runtime(onnx)
    conf = HudConfig().conf
    found: Counter[str] = Counter()
    frames = 0
    for frame in open_source(str(CLIP), HudConfig().width, 15).frames:
        frames += 1
        detections = student.detect(frame.image, conf)
        found.update(student.names[int(c)] for c in detections.class_id)
    ghost = {name: n for name, n in found.items() if name in unseen}
    return {
        "frames": frames,
        "classes_without_boxes": sorted(unseen),
        "ghost_detections": ghost,
        "ghosts_per_frame": round(sum(ghost.values()) / frames, 3),
        "learnt_detections": {name: n for name, n in found.items() if name not in unseen},
    }


def _found_mask(folder: Path, clip: Path) -> list[list[float]]:
    """The ego mask `edgedistill dataset` finds in the stand-in teacher's labels of ``clip``."""
    from edgedistill.cli import main as cli

    project = folder / "hooded-project"
    assert cli(["init", str(project)]) == 0
    config = project / "edgedistill.yaml"
    config.write_text(config.read_text() + "\nteachers:\n  ultralytics:\n    imgsz: 832\n")
    teacher = str(ASSETS / "weights" / "yolo11n-coco.pt")
    steps = [
        ["ingest", str(clip), "-p", str(project), "--fps", "5"],
        ["label", "-p", str(project), "--teacher", "ultralytics", "--weights", teacher],
        ["dataset", "-p", str(project)],
    ]
    for step in steps:
        assert cli(["-q", *step]) == 0, step
    (saved,) = (project / "datasets").glob("*/dataset.json")
    return json.loads(saved.read_text())["ego_mask"]["polygon"]


def _guards(mask: list[list[float]]) -> dict[str, HudConfig]:
    return {
        "before (no mask, no distance guard)": HudConfig(ego_mask=[], min_lead_distance_m=0),
        "guard alone (no mask, 3 m guard)": HudConfig(ego_mask=[]),
        "now (ego mask found, 3 m guard)": HudConfig(ego_mask=[tuple(p) for p in mask]),
    }


def leads_on_hood(clip: Path, onnx: Path, settings: HudConfig, folder: Path) -> dict[str, int]:
    """Lead choices, and those on the stand-in hood, from the HUD's event log."""
    events = folder / "events.jsonl"
    run_hud(str(clip), onnx, settings, events=events)
    log = [json.loads(line) for line in events.read_text().splitlines()]
    on_hood = 0
    for event in log:
        lead = event.get("lead")
        if lead is None:
            continue
        width, height = event["size"]
        box = next(d["box"] for d in event["detections"] if d["track"] == lead["track"])
        scaled = [(x * width, y * height) for x, y in HOOD_REGION]
        on_hood += share_inside(box, scaled) >= 0.5
    return {
        "frames": len(log),
        "lead_choices": sum(e.get("lead") is not None for e in log),
        "on_hood": on_hood,
        "ego_dropped": sum(e.get("ego_dropped", 0) for e in log),
    }


def summarize(results: dict[str, Any]) -> None:
    print(f"machine: {results['machine']['cpu_count']} cores, {results['machine']['platform']}")
    for when, ghost in results["ghosts"].items():
        print(
            f"ghost detections per frame ({when}): {ghost['ghosts_per_frame']} "
            f"over {ghost['frames']} frames {ghost['ghost_detections']}"
        )
    print(f"ego mask found on the hooded clip: {results['ego_mask']} (hood: {HOOD_REGION})")
    for model, clips in results["hood"].items():
        for clip, guards in clips.items():
            for guard, counts in guards.items():
                print(
                    f"{model}, {clip}, {guard}: lead on the hood in {counts['on_hood']} of "
                    f"{counts['lead_choices']} lead choices ({counts['frames']} frames)"
                )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
