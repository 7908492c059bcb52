"""Rich rendering of stage results: progress bars, tables and summaries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgedistill.logs import verbose

if TYPE_CHECKING:  # the stages are imported by the commands that run them
    from rich.progress import TaskID

    from edgedistill.cost import CostReport
    from edgedistill.dataset import DatasetReport
    from edgedistill.evaluate import EvalReport
    from edgedistill.export import ExportReport
    from edgedistill.hud import RunStats
    from edgedistill.ingest import IngestReport
    from edgedistill.label import LabelReport
    from edgedistill.media.files import MediaFile
    from edgedistill.metrics import FalsePositiveCount
    from edgedistill.status import LabelStatus, ProjectStatus
    from edgedistill.train import TrainRun

# soft_wrap: a message stays one line in logs and pipes, whatever the width.
# No emoji codes: a path or class name such as ``a:car:b`` is printed as it is.
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)
_quiet = False


def set_quiet(quiet: bool) -> None:
    """``--quiet``: no progress bars (results and errors still print)."""
    global _quiet
    _quiet = quiet


class _StageProgress:
    """Transient Rich progress bars on stderr, one per key."""

    def __init__(self, hidden: bool = False) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=_quiet or hidden,
        )
        self._tasks: dict[object, TaskID] = {}

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def _advance(self, key: object, label: str, done: int, total: int | None) -> None:
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(escape(label), total=total)
        self._progress.update(self._tasks[key], completed=done, total=total)


class IngestProgress(_StageProgress):
    """One bar per video, one for all images."""

    def update(self, media: MediaFile, done: int, total: int | None) -> None:
        if media.kind == "video":
            self._advance(media.path, media.path.name, done, total)
        else:
            self._advance("images", "images", done, total)


class LabelProgress(_StageProgress):
    """One bar over the frames a label run has to answer."""

    def update(self, done: int, total: int) -> None:
        self._advance("frames", "labelling", done, total)


class TrainProgress(_StageProgress):
    """One bar over the epochs, on a terminal; with --verbose Ultralytics prints its own
    lines instead."""

    def __init__(self) -> None:
        super().__init__(hidden=verbose() or not err.is_terminal)

    def update(self, done: int, total: int) -> None:
        self._advance("epochs", "training (epochs)", done, total)


class PipelineProgress:
    """What ``pipeline`` and ``demo`` show as the chain runs: each training's epoch bar
    (:class:`TrainProgress`, on a terminal) while it trains, each stage's report as it is
    announced. The bar is drawn only during training, so that no report printed on stdout
    is routed through the live display on stderr."""

    def __init__(self) -> None:
        self._bar: TrainProgress | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self._close()

    def update(self, done: int, total: int) -> None:
        """``run_pipeline``'s ``on_epoch``: the bar of the training under way."""
        if self._bar is None:
            self._bar = TrainProgress().__enter__()
        self._bar.update(done, total)

    def announce(self, stage: str, result: object) -> None:
        """``run_pipeline``'s ``announce``: the bar goes, the stage's report is printed."""
        self._close()
        print_stage(stage, result)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__()
            self._bar = None


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


def print_status(status: ProjectStatus, labels_only: bool = False) -> None:
    table = Table(title=f"project {status.project}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    if not labels_only:
        table.add_row(
            "ontology", f"{status.ontology_classes} classes, {status.ontology_prompts} prompts"
        )
        table.add_row(
            "sources",
            f"{status.sources} ({status.sources_video} videos, {status.sources_image} images)",
        )
        if status.sources_incomplete:
            table.add_row("  incomplete", f"[yellow]{status.sources_incomplete}[/]")
        table.add_row("frames", f"{status.frames} ({status.frames_bytes / 1e6:.1f} MB)")
    if status.label is not None:
        _label_rows(table, status, status.label)
    if not labels_only:
        table.add_row("datasets", str(status.datasets))
        table.add_row("training runs", _runs_line(status))
        if status.student:
            table.add_row("student", escape(status.student))
        if status.student_regressed:
            lost = ", ".join(status.student_regressed)
            table.add_row("  [red]regressed[/]", escape(f"lost {lost} (see its report)"))
        if status.student_untrained:
            never = ", ".join(status.student_untrained)
            table.add_row("  never outputs", escape(f"{never} (no training boxes)"))
        for pair in status.distillation:
            table.add_row(
                "  distilled",
                escape(f"{pair.student_run} from {pair.assistant} ({pair.status})"),
            )
        if status.report:
            table.add_row("report", escape(status.report))
    out.print(table)


def _runs_line(status: ProjectStatus) -> str:
    """The training runs by how they ended, and those under way."""
    runs, unknown = status.train_runs, status.runs_without_lock
    line = f"{runs['done']} done, {runs['failed']} failed"
    if runs["interrupted"]:
        line += f", {runs['interrupted']} interrupted (train --resume goes on)"
    if training := runs["running"] - unknown:
        line += f", {training} training now"
    if unknown:
        line += f", {unknown} running (no lock: started by an earlier version)"
    return line


def _label_rows(table: Table, status: ProjectStatus, label: LabelStatus) -> None:
    table.add_row("labels", f"{label.teacher} ({label.fingerprint})")
    table.add_row("  labelled frames", f"{status.labelled_frames} of {status.frames}")
    if label.credits:
        table.add_row("  spent", f"{label.calls} calls, {label.credits:.4f} credits")
    for name, count in status.per_class.items():
        table.add_row(f"  {escape(name)}", str(count))
    if label.unknown_labels:
        table.add_row("  [yellow]not in ontology[/]", escape(", ".join(label.unknown_labels)))


def print_label_report(report: LabelReport) -> None:
    estimate = report.estimate
    pending = (
        f"{_count(report.frames_pending, 'frame')} of {report.frames_total} to label with "
        f"{report.teacher} ({report.fingerprint}): {_count(report.calls_pending, 'call')}"
    )
    if estimate is not None:
        pending += f", about {estimate.credits:.4f} credits (${estimate.usd:.2f}; {estimate.basis})"
    if report.dry_run:
        out.print(f"Dry run, nothing spent. {pending}.")
        return
    if report.frames_pending == 0:
        out.print(f"Nothing to label: every frame is in the cache for {report.teacher}.")
        return
    out.print(pending + ".")
    for frame_id, reason in report.failures[:5]:
        err.print(f"[red]failed[/] frame {frame_id}: {escape(reason)}")
    if len(report.failures) > 5:
        err.print(f"[red]failed[/] … and {len(report.failures) - 5} more frames")
    done = f"Labelled {_count(report.frames_labelled, 'frame')} in {_count(report.calls, 'call')}"
    if report.credits:
        done += f" for {report.credits:.4f} credits"
    if report.failures:
        done += f"; [red]{len(report.failures)} failed[/] (run again to retry them)"
    out.print(done + ".")
    if report.dropped_detections:
        err.print(
            f"[yellow]warning:[/] dropped {_count(report.dropped_detections, 'detection')} "
            "with non-finite coordinates or scores from the teacher"
        )
    if report.stopped:
        out.print(f"[yellow]{escape(report.stopped)}[/]")


def print_dataset_report(report: DatasetReport) -> None:
    splits = [s for s in ("train", "val", "test") if report.images[s]]
    table = Table(title=f"dataset {report.version} ({report.format})", title_justify="left")
    table.add_column("class")
    for split in splits:
        table.add_column(split, justify="right")
    for name in report.class_names:
        table.add_row(escape(name), *(str(report.instances[s][name]) for s in splits))
    table.add_section()
    table.add_row("images", *(str(report.images[s]) for s in splits))
    table.add_row("  without objects", *(str(report.negatives[s]) for s in splits))
    out.print(table)
    out.print(f"Split: {escape(report.holdout.sentence())}.")
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    state = "already written" if report.reused else "written"
    out.print(f"Dataset {state}: {report.root}")
    if report.data_yaml is not None:
        out.print(f"  data.yaml: {report.data_yaml}")
    if report.gallery is not None:
        out.print(f"  review the labels before training: {report.gallery}")
    if report.unlabelled_frames:
        out.print(f"  {report.unlabelled_frames} frames are not labelled by {report.teacher} yet")
    ego = report.ego_mask
    if ego.polygon:
        dropped = _count(ego.labels_dropped, "label")
        out.print(f"  ego vehicle (hud.ego_mask) {escape(ego.note)}: {dropped} inside it left out")


def print_train_run(run: TrainRun) -> None:
    out.print(f"Trained run {run.id} on dataset {run.dataset}: weights {run.weights}")
    for key in ("metrics/mAP50(B)", "metrics/mAP50-95(B)"):
        if key in run.metrics:
            out.print(f"  {key.split('/')[1]} on {run.validated_on}: {run.metrics[key]:.3f}")
    if run.untrained:
        out.print(
            f"  never outputs (no training boxes, masked): {escape(', '.join(run.untrained))}"
        )


def print_eval_report(report: EvalReport) -> None:
    metrics = report.metrics
    teacher = metrics.vs_teacher
    out.print(
        f"student vs teacher: mAP50 {teacher.map50:.3f}, mAP50-95 {teacher.map50_95:.3f} on "
        f"{escape(metrics.scored_on())}"
    )
    human = metrics.vs_human
    if human is not None:
        out.print(
            f"student vs human labels: mAP50 {human.map50:.3f}, mAP50-95 {human.map50_95:.3f}"
        )
        for model in (human.models.get("starting weights"), human.models.get("teacher")):
            if model is not None:
                out.print(
                    f"{model.role} vs human labels: mAP50 {model.map50:.3f}, "
                    f"mAP50-95 {model.map50_95:.3f}"
                )
    reference = human or metrics.vs_start
    if reference is not None and "student" in reference.models:
        line = false_positive_line(reference.models["student"].false_positives)
        out.print(f"student false positives ({reference.basis}): {escape(line)}")
    if teacher.false_positives:
        line = false_positive_line(teacher.false_positives)
        where = escape(metrics.scored_on())
        out.print(f"student false positives (teacher labels on {where}): {escape(line)}")
    for line in metrics.regressions:
        err.print(f"[red]{escape(line)}[/]")
    for caveat in metrics.caveats:
        err.print(f"[yellow]caveat:[/] {escape(caveat)}")
    if metrics.speed is not None:
        for backend, timing in metrics.speed.backends().items():
            if timing.total_ms is not None and timing.fps is not None:
                out.print(
                    f"speed {backend} at {metrics.speed.input}: {timing.total_ms:.1f} ms/frame "
                    f"({timing.fps:.1f} fps)"
                )
    out.print(f"Report: {report.html}")


def false_positive_line(counts: dict[str, FalsePositiveCount]) -> str:
    """The classes with false positives, most first, with the count per image; a class
    the labels do not have is said so."""
    found = sorted(
        ((name, c) for name, c in counts.items() if c.false_positives),
        key=lambda i: -i[1].false_positives,
    )
    if not found:
        return "none"
    return ", ".join(
        f"{name} {c.false_positives} ({c.per_image:.3f}/image"
        + (", no such label)" if c.scored_as is None else ")")
        for name, c in found
    )


def print_stage(stage: str, result: object) -> None:
    """Announce a finished pipeline stage with its usual report."""
    out.rule(f"[bold]{stage}")
    printers: dict[str, Callable[[Any], None]] = {
        "ingest": print_ingest_report,
        "label": print_label_report,
        "dataset": print_dataset_report,
        "train": print_train_run,
        "assistant": print_train_run,
        "plain student": print_train_run,
        "eval": print_eval_report,
    }
    printers[stage](result)


def print_export_report(report: ExportReport) -> None:
    for file in report.files:
        out.print(f"{file.format}: {report.directory / file.file} ({file.mb} MB)")
    for parity in report.parity:
        style = "green" if parity.ok else "bold red"
        out.print(f"[{style}]{escape(parity.line())}[/]")
    for name in report.skipped_parity:
        out.print(f"parity: {name} not checked here (its runtime needs macOS/iOS or a device)")
    if report.precision is not None:
        style = "green" if report.precision.shipped else "bold red"
        out.print(f"[{style}]{escape(report.precision.line())}[/]")
    out.print(f"Model card: {report.card}")
    if report.precision is not None and not report.precision.shipped:
        err.print(
            "[bold red]error:[/] the int8 model lost too much accuracy and was not written; "
            "ship the fp32 or fp16 file, or raise --int8-tolerance knowingly"
        )
    elif not report.ok:
        err.print(
            "[bold red]error:[/] an exported model does not match the PyTorch student; "
            "do not ship it"
        )


def print_run_stats(stats: RunStats, output: object) -> None:
    table = Table(title="run", title_justify="left", show_header=True)
    table.add_column("stage")
    table.add_column("median ms", justify="right")
    for stage, ms in stats.median_ms().items():
        table.add_row(stage, f"{ms:.1f}")
    out.print(table)
    dropped = f", {stats.dropped} dropped to keep up" if stats.dropped else ""
    copies = f" ({stats.copies} copies of the student side by side)" if stats.copies > 1 else ""
    out.print(
        f"{stats.frames} frames in, {stats.processed} processed{dropped}: "
        f"{stats.fps:.1f} fps end to end{copies}; a lead vehicle in {stats.lead_frames}, a time to "
        f"collision in {stats.ttc_frames}, a collision warning in {stats.warnings}."
    )
    if stats.ego_dropped or stats.refused_leads:
        out.print(
            f"The car's own hood: {stats.ego_dropped} detections inside the ego mask "
            f"dropped; a vehicle refused as the lead for being implausibly close in "
            f"{_count(stats.refused_leads, 'frame')}."
        )
    if output is not None:
        out.print(f"HUD video: {output}")


def print_costs(report: CostReport) -> None:
    i = report.inputs
    table = Table(title=f"streaming {i.width}x{i.height} at {i.fps:g} fps", title_justify="left")
    for column in ("option", "$/minute", "$/hour", "how"):
        table.add_column(column, justify="right" if column.startswith("$") else "left")
    for row in report.streaming:
        table.add_row(
            row.option, f"{row.per_minute_usd:.4f}", f"{row.per_hour_usd:.2f}", escape(row.basis)
        )
    out.print(table)
    labels = Table(title="labelling a dataset once", title_justify="left")
    for column in ("option", "$ total", "how"):
        labels.add_column(column, justify="right" if column.startswith("$") else "left")
    for row in report.labelling:
        labels.add_row(row.option, f"{row.per_minute_usd:.2f}", escape(row.basis))
    out.print(labels)
