"""Start-up of the light commands, beside the interpreter's own start-up in the same run.

Every repetition runs each command once, in its own process and in a rotated order:
``python -c pass`` (the floor), ``edgedistill --help``, ``edgedistill status`` in a
fresh project, and the other frequent light commands (``init``, ``cost --help``, a
usage error). Wall time per process, and its CPU time (user + system, less disturbed by
other work on a shared machine); medians [min–max] over the repetitions and, per
repetition, the ratio of the wall time to that repetition's floor. Goal: ``--help``
and ``status`` under 0.3 s on 2 cores.

    .venv/bin/python bench/startup.py [--reps 15] [--out bench/results/startup.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.3
GOAL_COMMANDS = ("--help", "status")


@dataclass(frozen=True)
class Command:
    """One timed command line; ``{new}`` in an argument becomes a folder not yet there."""

    name: str
    argv: tuple[str, ...]
    expected_exit: int = 0


def edgedistill() -> list[str]:
    """The console script users run, else the module beside this interpreter."""
    script = Path(sys.executable).with_name("edgedistill")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "edgedistill"]


def commands() -> list[Command]:
    cli = tuple(edgedistill())
    return [
        Command("python -c pass", (sys.executable, "-c", "pass")),
        Command("--help", (*cli, "--help")),
        Command("status", (*cli, "status")),
        Command("init", (*cli, "init", "{new}")),
        Command("cost --help", (*cli, "cost", "--help")),
        Command("status --bogus", (*cli, "status", "--bogus"), expected_exit=2),
    ]


def cpu_of_children() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def time_once(command: Command, rep: int, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process from start to exit, run in the project ``cwd``;
    a wrong exit code stops the benchmark."""
    new = cwd.parent / f"new-{rep}"
    argv = [arg.replace("{new}", str(new)) for arg in command.argv]
    cpu = cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != command.expected_exit:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    return seconds, cpu_of_children() - cpu


def spread(values: Sequence[float], digits: int) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def measure(reps: int, project: Path) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds per command and the wall ratio to the floor, per repetition,
    order rotated."""
    timed = commands()
    for command in timed:  # warm: bytecode compiled, files in the page cache
        time_once(command, reps, project)
    seconds: dict[str, list[float]] = {c.name: [] for c in timed}
    cpu: dict[str, list[float]] = {c.name: [] for c in timed}
    ratios: dict[str, list[float]] = {c.name: [] for c in timed[1:]}
    for rep in range(reps):
        shift = rep % len(timed)
        this_rep = {c.name: time_once(c, rep, project) for c in timed[shift:] + timed[:shift]}
        floor = this_rep[timed[0].name][0]
        for name, (wall, used) in this_rep.items():
            seconds[name].append(wall)
            cpu[name].append(used)
            if name in ratios:
                ratios[name].append(wall / floor)
    return {"seconds": seconds, "cpu_seconds": cpu, "ratios": ratios}


def summarize(raw: dict[str, dict[str, list[float]]], reps: int) -> dict[str, object]:
    rows = {}
    for name, values in raw["seconds"].items():
        row: dict[str, object] = {
            "ms": spread([v * 1000 for v in values], 1),
            "cpu_ms": spread([v * 1000 for v in raw["cpu_seconds"][name]], 1),
        }
        if name in raw["ratios"]:
            row["ratio_to_floor"] = spread(raw["ratios"][name], 2)
        if name in GOAL_COMMANDS:
            row["meets_goal"] = statistics.median(values) < GOAL_S
        rows[name] = row
    return {
        "benchmark": "startup",
        "goal_s": GOAL_S,
        "goal_commands": list(GOAL_COMMANDS),
        "repetitions": reps,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        },
        "commands": rows,
        "raw_seconds": {k: [round(v, 4) for v in vs] for k, vs in raw["seconds"].items()},
    }


def print_summary(summary: dict[str, object]) -> None:
    rows = summary["commands"]
    assert isinstance(rows, dict)
    print(
        f"start-up, {summary['repetitions']} interleaved repetitions, median [min–max]: "
        "wall, CPU, wall over the floor"
    )
    for name, row in rows.items():
        ms, cpu = row["ms"], row["cpu_ms"]
        line = f"  {name:<16} {ms['median']:6.1f} ms [{ms['min']:.1f}–{ms['max']:.1f}]"
        line += f"  cpu {cpu['median']:6.1f} ms [{cpu['min']:.1f}–{cpu['max']:.1f}]"
        if "ratio_to_floor" in row:
            r = row["ratio_to_floor"]
            line += f"  x{r['median']:.2f} [{r['min']:.2f}–{r['max']:.2f}]"
        if "meets_goal" in row:
            line += "  goal < 300 ms: " + ("met" if row["meets_goal"] else "MISSED")
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "startup.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        subprocess.run([*edgedistill(), "init", str(project)], check=True, capture_output=True)
        summary = summarize(measure(args.reps, project), args.reps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print_summary(summary)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
