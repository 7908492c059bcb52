"""Rich rendering of stage results: progress bars, tables and summaries."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from edgedistill.ingest import IngestReport
from edgedistill.ingest.sources import MediaFile

# soft_wrap: a message stays one line in logs and pipes, whatever the width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class IngestProgress:
    """Rich progress: one bar per video, one for all images."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._tasks: dict[Path | str, int] = {}

    def __enter__(self) -> IngestProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def update(self, media: MediaFile, done: int, total: int | None) -> None:
        key: Path | str = media.path if media.kind == "video" else "images"
        if key not in self._tasks:
            label = media.path.name if media.kind == "video" else "images"
            self._tasks[key] = self._progress.add_task(escape(label), total=total)
        self._progress.update(self._tasks[key], completed=done, total=total)


def print_ingest_report(report: IngestReport) -> None:
    table = Table(title="ingest", title_justify="left")
    for column in ("source", "sampled", "new", "near-dup", "already", "result"):
        table.add_column(column, justify="left" if column in ("source", "result") else "right")
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    results: dict[str, str] = {}
    for result in report.results:
        name = result.file.path.name
        if result.file.kind == "image":
            name = f"{result.file.path.parent}/ (images)"
        counts = rows[name]
        counts[0] += result.frames_sampled
        counts[1] += result.frames_new
        counts[2] += result.near_duplicates
        counts[3] += result.frames_present
        results[name] = _merge_result(results.get(name), result.status)
    for name, counts in rows.items():
        table.add_row(escape(name), *map(str, counts), results[name])
    if rows:
        out.print(table)
    for result in report.results:
        if result.status == "skipped":
            where = escape(str(result.file.path))
            err.print(f"[yellow]skipped[/] {where}: {escape(result.message or '')}")
    for name, reason in report.failures:
        err.print(f"[red]failed[/] {escape(name)}: {escape(reason)}")
    out.print(_summary(report))


def _summary(report: IngestReport) -> str:
    statuses = [result.status for result in report.results]
    parts = []
    if "ingested" in statuses:
        parts.append(
            f"{_count(statuses.count('ingested'), 'file')} ingested: "
            f"{_count(report.total('frames_new'), 'new frame')}, "
            f"{_count(report.total('near_duplicates'), 'near-duplicate')} dropped, "
            f"{report.total('frames_present')} already present"
        )
    if "unchanged" in statuses:
        unchanged = _count(statuses.count("unchanged"), "file")
        parts.append(f"{unchanged} already ingested with these settings")
    if "skipped" in statuses:
        parts.append(f"{statuses.count('skipped')} skipped")
    if report.failures:
        parts.append(f"[red]{len(report.failures)} failed[/] (listed above)")
    text = "; ".join(parts) or "nothing to ingest"
    return text[0].upper() + text[1:] + "."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _merge_result(previous: str | None, status: str) -> str:
    if previous is None or previous == status:
        return status
    return "failed" if "failed" in (previous, status) else "ingested"


def print_status(counts: dict[str, Any]) -> None:
    table = Table(title=f"project {counts['project']}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    ontology = counts["ontology"]
    kinds = counts["sources_by_kind"]
    table.add_row("ontology", f"{ontology['classes']} classes, {ontology['prompts']} prompts")
    table.add_row(
        "sources", f"{counts['sources']} ({kinds['video']} videos, {kinds['image']} images)"
    )
    if counts["sources_incomplete"]:
        table.add_row("  incomplete", f"[yellow]{counts['sources_incomplete']}[/]")
    table.add_row("frames", f"{counts['frames']} ({counts['frames_bytes'] / 1e6:.1f} MB)")
    out.print(table)
