"""The ``edgedistill`` command line: one command per pipeline stage."""

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape
from typer.core import TyperCommand

from edgedistill import __version__, display
from edgedistill.devices import DEVICE_HELP, parse_device
from edgedistill.display import err, out
from edgedistill.errors import (
    EdgedistillError,
    Interrupted,
    ProjectNotFoundError,
    UsageError,
    environment_problem,
)
from edgedistill.logs import configure_logging
from edgedistill.presets import available_presets
from edgedistill.student import PHONE_INPUT
from edgedistill.teachers.registry import BACKENDS
from edgedistill.weights import resolve_weights

# Annotations are evaluated as the commands are defined, not postponed: Typer reads every
# command's signature on every run, and evaluating them from strings cost ~15 ms. Names
# imported only for type checking are quoted.
if TYPE_CHECKING:  # loading and checking the config is the commands' work, not --help's
    from edgedistill.config import ProjectConfig, RayConfig
    from edgedistill.project import Project

# Each command imports its stage when it runs: `edgedistill --help` and `status` stay quick.


app = typer.Typer(
    name="edgedistill",
    help="Distil an open-vocabulary teacher (SAM3) into a small, fast YOLO student.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

PHONE_SIZE = f"{PHONE_INPUT[0]},{PHONE_INPUT[1]}"

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project directory (default: the current one or its nearest parent).",
        show_default=False,
        file_okay=False,
        metavar="DIR",
    ),
]
ModelWorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Copies of an ONNX student run side by side, each on its share of the cores: "
        "more frames per second in all, each frame slower (default: 2 for run on a file at "
        "full speed, else 1).",
        metavar="N",
        show_default=False,
    ),
]
DeviceOption = Annotated[str | None, typer.Option(help=DEVICE_HELP, metavar="DEVICE")]


@dataclass
class _Globals:
    """Options given before the command: ``edgedistill -p DIR -q status``; set by the
    root callback, which runs first on every invocation."""

    project: Path | None = None
    quiet: bool = False


_given = _Globals()


def _version(value: bool) -> None:
    if value:
        out.print(f"edgedistill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    project_dir: ProjectOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print results and errors only.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also print Ultralytics' own output (model summaries, per-epoch lines, "
            "progress bars, its warnings) and Ray's warnings.",
        ),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Distil an open-vocabulary teacher (SAM3) into a small, fast YOLO student.

    Flow: init → ingest → label → dataset → train → eval → export → run | serve.
    """
    _given.project, _given.quiet = project_dir, quiet
    configure_logging(quiet, verbose)
    display.set_quiet(quiet)


def _project(directory: Path | None) -> "Project":
    """The project named after the command, else before it, else found from here; its
    config is loaded and checked once, here, and handed down."""
    from edgedistill.project import find_project
    from edgedistill.teachers import check_teacher_sections

    project = find_project(directory or _given.project)
    check_teacher_sections(project.config, str(project.config_path))
    return project


def _optional_project(directory: Path | None) -> "Project | None":
    try:
        return _project(directory)
    except ProjectNotFoundError:
        if (directory or _given.project) is not None:
            raise
        return None


TEACHER_PANEL = "Teacher settings (teachers.<name> in edgedistill.yaml)"
_TEACHER_SETTINGS = "edgedistill.teacher_settings"  # where ctx.meta keeps the flags given


class _TakesTeacherSettings(TyperCommand):
    """A command that also takes every teacher backend's settings as flags (``--imgsz``
    sets ``teachers.<teacher>.imgsz``), made from the backends' settings models
    (:mod:`edgedistill.flags`) only when the command runs or shows its help: the other
    commands never load those models. A setting the command declares itself (a parameter
    of the setting's name) wins."""

    prefix = ""
    """Put before each setting's flag name: ``teacher-`` makes ``--teacher-imgsz``."""
    _settings_added = False

    def get_params(self, ctx: Any) -> list[Any]:  # Typer's own copy of click.Context
        if not self._settings_added:
            taken = {param.name for param in self.params}
            added = [p for p in _teacher_setting_options(self.prefix) if p.name not in taken]
            self.params.extend(added)
            self._settings_added = True
        return super().get_params(ctx)


class _TakesTeacherFlagsNamedSo(_TakesTeacherSettings):
    """Teacher settings as ``--teacher-imgsz``, ``--teacher-device`` …: on a command that
    also trains the student, a bare ``--imgsz`` would read as the student's."""

    prefix = "teacher-"


def _teacher_setting_options(prefix: str) -> list[Any]:
    """A Typer option per teacher setting (``--<prefix><setting>``), built by Typer from a
    signature of the settings models' fields; each keeps its value in ``ctx.meta`` (see
    :func:`_teacher_settings_given`), not in the command's arguments."""
    import inspect

    from edgedistill.flags import settings_flags
    from edgedistill.teachers.base import settings_class
    from edgedistill.teachers.registry import SETTINGS

    flags = settings_flags({name: settings_class(name) for name in sorted(SETTINGS)})
    parameters = [
        inspect.Parameter(
            flag.field,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                (Literal[flag.choices] if flag.choices else flag.kind) | None,
                typer.Option(
                    flag.option(prefix),
                    help=escape(flag.help),
                    metavar=flag.metavar,
                    min=flag.minimum,
                    max=flag.maximum,
                    rich_help_panel=TEACHER_PANEL,
                ),
            ],
        )
        for flag in flags
    ]

    def settings(**_: object) -> None:
        """Only its signature is read."""

    settings.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    settings.__annotations__ = {p.name: p.annotation for p in parameters}
    builder = typer.Typer(add_completion=False)
    builder.command()(settings)
    options = typer.main.get_command(builder).params
    for option in options:
        option.expose_value = False
        option.callback = _keep_teacher_setting
    return options


def _keep_teacher_setting(ctx: Any, param: Any, value: object) -> None:
    if value is not None:
        ctx.meta.setdefault(_TEACHER_SETTINGS, {})[param.name] = value


def _teacher_settings_given(ctx: typer.Context) -> dict[str, object]:
    """The teacher settings given as flags to this command, by field name."""
    return dict(ctx.meta.get(_TEACHER_SETTINGS, {}))


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Directory to create the project in.", metavar="DIR")
    ],
    preset: Annotated[
        str,
        typer.Option(help=f"Config preset: {', '.join(available_presets())}.", metavar="NAME"),
    ] = "driving",
) -> None:
    """Create a project: a commented config file and an empty catalog."""
    from edgedistill.project import init_project

    project = init_project(directory, preset)
    out.print(f"Created project [bold]{escape(str(project.root))}[/] from preset '{preset}'.")
    out.print(f"  config:  {escape(str(project.config_path))}  (edit the ontology here)")
    out.print(f"  catalog: {escape(str(project.catalog_path))}")
    folder = escape(shlex.quote(str(directory)))
    out.print(f"Next: cd {folder} && edgedistill ingest VIDEO_OR_FOLDER")


@app.command(name="ingest")
def ingest_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Video files, image files, folders (searched recursively) or globs.",
            metavar="SOURCE",
        ),
    ],
    project_dir: ProjectOption = None,
    fps: Annotated[
        float | None,
        typer.Option(min=0, help="Frames sampled per second of video; 0 = all.", metavar="FPS"),
    ] = None,
    max_side: Annotated[
        int | None,
        typer.Option(min=0, help="Longest side of stored frames; 0 = original.", metavar="PX"),
    ] = None,
    dedup: Annotated[
        bool | None, typer.Option("--dedup/--no-dedup", help="Drop near-duplicate frames.")
    ] = None,
    dedup_threshold: Annotated[
        float | None,
        typer.Option(
            min=0, max=2, help="Near-duplicate threshold; higher drops more.", metavar="T"
        ),
    ] = None,
    jpeg_quality: Annotated[
        int | None,
        typer.Option(min=50, max=100, help="JPEG quality of stored frames.", metavar="Q"),
    ] = None,
) -> None:
    """Sample frames from videos and images into the project.

    Defaults come from the project config. Ingesting the same file again adds
    nothing; a file that fails is reported and the others still go in.
    """
    from edgedistill.display import IngestProgress, print_ingest_report
    from edgedistill.ingest import ingest

    overrides = {
        "fps": fps,
        "max_side": max_side,
        "dedup": dedup,
        "dedup_threshold": dedup_threshold,
        "jpeg_quality": jpeg_quality,
    }
    project = _project(project_dir).with_overrides("ingest", overrides)
    try:
        with IngestProgress() as progress:
            report = ingest(project, sources, on_progress=progress.update)
    except KeyboardInterrupt:
        raise Interrupted() from None
    print_ingest_report(report)
    if report.failures:
        raise typer.Exit(1)


@app.command(cls=_TakesTeacherSettings)
def label(
    ctx: typer.Context,
    address: Annotated[
        str | None,
        typer.Argument(
            help="With --ray: the cluster (host:6379, auto; default: label.ray.address, "
            "else RAY_ADDRESS, else a local cluster).",
            metavar="ADDRESS",
            show_default=False,
        ),
    ] = None,
    project_dir: ProjectOption = None,
    teacher: Annotated[
        str | None,
        typer.Option(
            help=f"Teacher: {', '.join(sorted(BACKENDS))} (default: label.teacher).",
            metavar="NAME",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(help="sam3: weights folder; ultralytics: .pt or model YAML.", metavar="PATH"),
    ] = None,
    annotations: Annotated[
        Path | None,
        typer.Option(
            help="annotations: YOLO data.yaml or labels folder, or COCO JSON.", metavar="PATH"
        ),
    ] = None,
    workspace: Annotated[
        str | None, typer.Option(help="roboflow-workflow: workspace.", metavar="NAME")
    ] = None,
    workflow_id: Annotated[
        str | None, typer.Option(help="roboflow-workflow: workflow id.", metavar="ID")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=8, help="Roboflow: requests in flight.", metavar="N")
    ] = None,
    device: DeviceOption = None,
    video: Annotated[
        str | None,
        typer.Option(
            help="sam3: per_frame, or propagate (track videos; default: label.video).",
            metavar="MODE",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the calls and their cost; spend nothing.")
    ] = False,
    max_usd: Annotated[
        float | None,
        typer.Option(min=0, help="Stop before spending more dollars than this.", metavar="USD"),
    ] = None,
    max_credits: Annotated[
        float | None,
        typer.Option(min=0, help="Stop before spending more credits than this.", metavar="N"),
    ] = None,
    ray: Annotated[
        bool,
        typer.Option("--ray", help="Run the teacher on a Ray cluster (label.ray in the config)."),
    ] = False,
) -> None:
    """Label every frame with the teacher; answers are cached and never paid twice.

    Thresholds, NMS and the ontology apply to the cache afterwards, offline.
    Killing it at any moment loses at most the calls in flight.
    """
    from edgedistill.display import LabelProgress, print_label_report, print_status
    from edgedistill.label import label_project
    from edgedistill.status import project_status
    from edgedistill.teachers import build_teacher, teacher_class, with_teacher_flags

    flags = {
        "weights": weights,
        "annotations": annotations,
        "workspace": workspace,
        "workflow_id": workflow_id,
        "concurrency": concurrency,
        "device": parse_device(device) if device else None,
        "video": video,
        **_teacher_settings_given(ctx),
    }
    project = _project(project_dir)
    on_ray = _on_ray(project.config, ray, address, device, dry_run)
    if (
        on_ray is not None
        and "device" in teacher_class(teacher or project.config.label.teacher).Settings.model_fields
    ):
        flags["device"] = "cpu"  # the driver's copy only names the teacher; actors label
    project = project.with_config(with_teacher_flags(project.config, teacher, flags))
    budget = _budget(project.config, teacher, max_usd, max_credits)
    model = build_teacher(project.config, teacher)
    try:
        with LabelProgress() as progress:
            if on_ray is not None:
                from edgedistill.label.ray_runner import label_on_ray

                report = label_on_ray(
                    project, model, on_ray, max_credits=budget, on_progress=progress.update
                )
            else:
                report = label_project(
                    project, model, dry_run=dry_run, max_credits=budget, on_progress=progress.update
                )
    except KeyboardInterrupt:
        raise Interrupted() from None
    finally:
        model.close()
    print_label_report(report)
    if not dry_run:
        print_status(project_status(project), labels_only=True)
    if report.failures:
        raise typer.Exit(1)


def _on_ray(
    config: "ProjectConfig", flag: bool, address: str | None, device: str | None, dry_run: bool
) -> "RayConfig | None":
    """The Ray settings when this run labels on Ray (``--ray`` or ``label.ray.enabled``)."""
    options = config.label.ray
    if address is not None and not flag:
        raise UsageError(f"unexpected argument {address!r}; a cluster address follows --ray")
    if not (flag or options.enabled) or dry_run:
        return None
    if device is not None:
        raise UsageError(
            "--device does not apply with --ray: each actor uses the GPU Ray gives it "
            "(label.ray.gpus_per_actor)"
        )
    from edgedistill.config import override
    from edgedistill.label.ray_runner import require_ray

    require_ray()
    return override(
        config, "label", {"ray": {**options.model_dump(), "address": address}}
    ).label.ray


def _budget(
    config: "ProjectConfig", teacher: str | None, max_usd: float | None, max_credits: float | None
) -> float | None:
    """The labelling cap in credits, priced without building the teacher."""
    from edgedistill.teachers import budget_credits

    credits, priced = budget_credits(config, teacher, None, max_usd, max_credits)
    if not priced:
        name = teacher or config.label.teacher
        err.print(f"[yellow]note:[/] --max-usd has no effect: {name} is free per call")
    return credits


@app.command()
def dataset(
    project_dir: ProjectOption = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="yolo, yolo-seg or coco (default: config).", metavar="FMT"),
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option(help="Labels of this teacher (default: the one used last).", metavar="NAME"),
    ] = None,
    val: Annotated[
        float | None, typer.Option(min=0, max=0.9, help="Share of sources.", metavar="SHARE")
    ] = None,
    test: Annotated[
        float | None, typer.Option(min=0, max=0.9, help="Share of sources.", metavar="SHARE")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the split.", metavar="N")] = None,
    negatives: Annotated[
        float | None,
        typer.Option(min=0, max=0.9, help="Most a split's frames may be empty.", metavar="SHARE"),
    ] = None,
    group_folders: Annotated[
        bool | None,
        typer.Option("--group-folders/--no-group-folders", help="Split image folders whole."),
    ] = None,
) -> None:
    """Write the labelled frames as a dataset, split by source, with a review gallery."""
    from edgedistill.dataset import build_dataset
    from edgedistill.display import print_dataset_report

    overrides = {
        "format": format,
        "val": val,
        "test": test,
        "seed": seed,
        "negatives": negatives,
        "group_folders": group_folders,
    }
    project = _project(project_dir).with_overrides("dataset", overrides)
    print_dataset_report(build_dataset(project, teacher=teacher))


@app.command()
def train(
    project_dir: ProjectOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Weights (yolo11n.pt, yolo26n.pt, -seg, your .pt) or a model YAML.",
            metavar="WEIGHTS",
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, metavar="N")] = None,
    imgsz: Annotated[
        int | None, typer.Option(min=32, help="Training image size.", metavar="PX")
    ] = None,
    batch: Annotated[int | None, typer.Option(min=1, metavar="N")] = None,
    patience: Annotated[
        int | None, typer.Option(min=0, help="Epochs without progress.", metavar="N")
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(help=f"{DEVICE_HELP}; several GPUs as 0,1.", metavar="DEVICE"),
    ] = None,
    dataset_version: Annotated[
        str | None,
        typer.Option("--dataset", help="Dataset version (default: the latest).", metavar="VERSION"),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Resume the last unfinished run.")
    ] = False,
    distill_from: Annotated[
        str | None,
        typer.Option(
            help="Distil from an assistant: a training run id of this project or a .pt.",
            metavar="RUN|PATH",
        ),
    ] = None,
    distill_weight: Annotated[
        float | None,
        typer.Option(min=0, help="Weight of the distillation loss (default 6).", metavar="W"),
    ] = None,
) -> None:
    """Train the YOLO student on the latest dataset with Ultralytics."""
    from edgedistill.display import TrainProgress, print_train_run
    from edgedistill.distill import find_assistant
    from edgedistill.keep_known import training_data
    from edgedistill.train import train_student

    overrides = {
        "model": model,
        "epochs": epochs,
        "imgsz": imgsz,
        "batch": batch,
        "patience": patience,
        "device": device,
        "distill_weight": distill_weight,
    }
    project = _project(project_dir).with_overrides("train", overrides)
    if distill_weight is not None and distill_from is None:
        raise UsageError("--distill-weight needs --distill-from")
    assistant = None
    if distill_from is not None:
        with project.open_catalog() as catalog:
            assistant = find_assistant(
                catalog,
                distill_from,
                project.config.train.distill_weight,
                [project.config.weights_dir],
            )
    data = None if resume else training_data(project, project.config.train, dataset_version)
    with TrainProgress() as progress:
        run = train_student(
            project,
            dataset=dataset_version,
            resume=resume,
            assistant=assistant,
            data=data,
            on_epoch=progress.update,
        )
    print_train_run(run)


@app.command(name="eval")
def eval_command(
    project_dir: ProjectOption = None,
    weights: Annotated[
        str | None,
        typer.Option(help="Student weights (default: the latest trained).", metavar="PATH"),
    ] = None,
    gt: Annotated[
        Path | None,
        typer.Option(help="Human labels: YOLO data.yaml or COCO JSON.", metavar="PATH"),
    ] = None,
    speed: Annotated[bool, typer.Option("--speed/--no-speed", help="Time it at 480p.")] = True,
    device: DeviceOption = None,
) -> None:
    """Student vs teacher (and human) labels, speed at 480p, and an HTML report."""
    from edgedistill.display import print_eval_report
    from edgedistill.evaluate import evaluate

    chosen_device = parse_device(device or "auto")
    project = _project(project_dir)
    found = _model_path(project, weights)
    report = evaluate(project, found, gt, speed, chosen_device)
    print_eval_report(report)


@app.command()
def export(
    project_dir: ProjectOption = None,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="onnx, coreml (8-bit weights), coreml-fp16, litert, executorch; repeatable.",
            metavar="FMT",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(help="Student weights (default: the latest trained).", metavar="PATH"),
    ] = None,
    imgsz: Annotated[str, typer.Option(help="Input HEIGHT,WIDTH.", metavar="H,W")] = PHONE_SIZE,
    conf: Annotated[
        float, typer.Option(min=0, max=1, help="Confidence threshold.", metavar="SCORE")
    ] = 0.25,
    iou: Annotated[
        float, typer.Option(min=0, max=1, help="NMS IoU threshold.", metavar="IOU")
    ] = 0.45,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="ONNX int8 calibrated on the project's frames, scored against fp32 and fp16; "
            "LiteRT int8, calibrated.",
        ),
    ] = False,
    int8_tolerance: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Largest mAP50-95 drop from fp32 for int8 to ship.", metavar="MAP"
        ),
    ] = 0.02,
    dynamic: Annotated[
        bool,
        typer.Option(
            "--dynamic",
            help="ONNX with a dynamic batch axis: serve then runs frames that wait together "
            "as one batch (serve.max_batch).",
        ),
    ] = False,
) -> None:
    """Export the student for the phone, check parity with PyTorch, write a model card."""
    from edgedistill.display import print_export_report
    from edgedistill.export import export_student

    size = _parse_size(imgsz)
    project = _project(project_dir)
    found = _model_path(project, weights)
    report = export_student(
        project,
        formats or ["onnx"],
        found,
        size,
        conf,
        iou,
        int8,
        int8_tolerance=int8_tolerance,
        dynamic=dynamic,
    )
    print_export_report(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command(name="export-app")
def export_app(
    project_dir: ProjectOption = None,
    weights: Annotated[
        str | None,
        typer.Option(help="Student weights (default: the project's latest).", metavar="PATH"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The app's model folder (default: app/public/model in the current folder).",
            metavar="DIR",
        ),
    ] = None,
    imgsz: Annotated[str, typer.Option(help="Input HEIGHT,WIDTH.", metavar="H,W")] = PHONE_SIZE,
    parity_frames: Annotated[
        Path | None,
        typer.Option(
            help="Folder of images for the parity check (default: the project's).",
            metavar="DIR",
        ),
    ] = None,
) -> None:
    """Export the student for the Expo app: ONNX and model.json (names, sizes, HUD settings)."""
    from edgedistill.app_model import APP_MODEL_DIR
    from edgedistill.export.app import export_app_model

    out_dir = out_dir or APP_MODEL_DIR
    size = _parse_size(imgsz)
    project = _optional_project(project_dir)
    weights_path = _model_path(project, weights)
    hud = project.hud_settings(weights_path) if project else _defaults().hud
    folder = parity_frames or (project.root / "frames" if project else None)
    frames = sorted(folder.rglob("*.jpg"))[:20] if folder and folder.is_dir() else []
    if parity_frames and not frames:
        raise EdgedistillError(f"{parity_frames}: no .jpg images for the parity check")
    info = export_app_model(weights_path, out_dir, hud, size, frames)
    out.print(
        f"Wrote model.onnx and model.json into {escape(str(out_dir.resolve()))}: "
        f"{len(info.names)} classes, output {info.output_format} {info.output_shape}, "
        f"version {info.version}; {info.parity}"
    )
    _say_where_the_app_looks(out_dir)


def _say_where_the_app_looks(written: Path) -> None:
    """How to give the app this student, unless it was written where the app loads it."""
    from edgedistill.app_model import checkout_app_models

    app_models = checkout_app_models()
    if app_models is None:
        out.print(
            "The app loads its student from public/model in its own folder (app/ in the "
            "edgedistill repository): pass that folder as --out, or copy both files there."
        )
    elif written.resolve() != app_models:
        out.print(
            f"The app loads its student from {escape(str(app_models))}: run export-app "
            f"with --out {escape(shlex.quote(str(app_models)))}, or copy both files there."
        )


def _defaults() -> "ProjectConfig":
    """The settings of a command run outside any project."""
    from edgedistill.config import ProjectConfig

    return ProjectConfig()


def _parse_size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--imgsz takes HEIGHT,WIDTH such as {PHONE_SIZE}, not '{text}'") from None
    if height % 32 or width % 32:
        raise UsageError("--imgsz sides must be multiples of 32 (the model's stride)")
    return height, width


def _model_path(project: "Project | None", given: str | None, to_run: bool = False) -> Path:
    """``given`` found by the weights rule, else the project's newest student: its weights,
    or (``to_run``: for ``run`` and ``serve``) its ONNX export when there is a fresh one."""
    from edgedistill.untrained import ensure_masked

    if given is not None:
        path = Path(resolve_weights(given, [project.config.weights_dir] if project else []))
    elif project is None:
        raise UsageError("name the student (a .pt or .onnx file), or run inside a project")
    else:
        path = project.latest_weights()
    run = project.run_of(path) if project else None
    if run is not None:  # a run trained before masking existed is masked before any use
        ensure_masked(run.directory)
    if project is not None and given is None and to_run:
        return project.latest_runnable()  # its ONNX export only if newer than the masking
    return path


@app.command(name="run")
def run_command(
    source: Annotated[
        str,
        typer.Argument(help="Video file, image folder, webcam index or URL.", metavar="SOURCE"),
    ],
    project_dir: ProjectOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            help=".pt or .onnx student (default: the project's latest, as ONNX once exported).",
            metavar="PATH",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the HUD video here (.mp4).", metavar="FILE")
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Show the HUD in a window.")] = False,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="Keep up with --fps by dropping frames.")
    ] = False,
    fps: Annotated[
        float | None, typer.Option(min=1, help="Target fps (default 15).", metavar="FPS")
    ] = None,
    model_workers: ModelWorkersOption = None,
    events: Annotated[
        Path | None,
        typer.Option(
            help="Write the driving log here: a JSON line per frame (detections, track ids, "
            "lead vehicle, distance, TTC, warning).",
            metavar="FILE.jsonl",
        ),
    ] = None,
) -> None:
    """Run the student on video with tracking and the driver HUD."""
    from edgedistill.display import print_run_stats
    from edgedistill.hud import run_hud

    if output is None and not show and events is None:
        raise UsageError("nothing to do: pass --output FILE.mp4, --show and/or --events FILE")
    if output is not None:
        _check_video_output(output)
    project = _optional_project(project_dir)
    from edgedistill.config import override

    found = _model_path(project, model, to_run=True)
    flags = {"target_fps": fps, "model_workers": model_workers}
    if project is not None:  # its hud.ego_mask: auto is the mask its dataset found
        settings = project.with_overrides("hud", flags).hud_settings(found)
    else:
        settings = override(_defaults(), "hud", flags).hud
    try:
        stats = run_hud(source, found, settings, output, show, realtime, events)
    except KeyboardInterrupt:
        raise Interrupted() from None
    print_run_stats(stats, output)


def _check_video_output(output: Path) -> None:
    """A video file name in a folder that exists or can be made."""
    from edgedistill.hud import VIDEO_SUFFIXES

    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise UsageError(
            f"--output {output}: name a video file ending in {', '.join(VIDEO_SUFFIXES)}"
        )
    if output.is_dir():
        raise UsageError(f"--output {output} is a folder; name a video file inside it")
    folder = output.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"--output {output}: {folder} is a file, not a folder")


@app.command()
def serve(
    project_dir: ProjectOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            help=".pt or .onnx student (default: the project's latest, as ONNX once exported).",
            metavar="PATH",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.", metavar="ADDRESS")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, metavar="PORT")] = 8000,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(
            help="HTTPS certificate: phones open the camera only over HTTPS.", metavar="FILE"
        ),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="HTTPS private key.", metavar="FILE")
    ] = None,
    max_batch: Annotated[
        int | None,
        typer.Option(
            help="Most frames run together when they wait for the model together (an ONNX "
            "export with --dynamic; 1: never). Default: serve.max_batch.",
            metavar="N",
        ),
    ] = None,
    model_workers: ModelWorkersOption = None,
) -> None:
    """Serve the student: WebSocket stream, Roboflow-compatible HTTP, browser HUD at /."""
    import uvicorn

    from edgedistill.config import override
    from edgedistill.serve import create_app
    from edgedistill.serve.app import api_keys
    from edgedistill.serve.transport import server_config

    project = _optional_project(project_dir)
    project_config = project.config if project else _defaults()
    flags = {"max_batch": max_batch, "model_workers": model_workers}
    settings = override(project_config, "serve", flags).serve
    found = _model_path(project, model, to_run=True)
    if not api_keys(settings):
        raise UsageError(
            "no API keys: set EDGEDISTILL_API_KEYS=key1,key2 (or serve.api_keys "
            "in edgedistill.yaml) so that only your clients can connect"
        )
    ego_mask = project.hud_settings(found).ego_polygon if project else None
    config = server_config(
        create_app(found, settings, ego_mask), settings, host, port, ssl_certfile, ssl_keyfile
    )
    scheme = "https" if ssl_certfile else "http"
    out.print(f"Serving {found.name} on {scheme}://{host}:{port}/ (browser HUD: /?key=YOUR_KEY)")
    uvicorn.Server(config).run()


@app.command()
def cost(
    fps: Annotated[
        float, typer.Option(min=0.1, help="Frames per second streamed.", metavar="FPS")
    ] = 15.0,
    width: Annotated[int, typer.Option(min=1, metavar="PX")] = PHONE_INPUT[1],
    height: Annotated[int, typer.Option(min=1, metavar="PX")] = PHONE_INPUT[0],
    credit_usd: Annotated[
        float, typer.Option(min=0, help="Price of a Roboflow credit.", metavar="USD")
    ] = 3.0,
    api_seconds: Annotated[
        float,
        typer.Option(min=0, help="Processing time billed per streamed frame.", metavar="S"),
    ] = 0.1,
    server_hourly_usd: Annotated[
        float, typer.Option(min=0, help="Your server's price.", metavar="USD")
    ] = 0.10,
    server_streams: Annotated[
        float | None,
        typer.Option(min=0.01, help="Streams it sustains (default: measured).", metavar="N"),
    ] = None,
    label_frames: Annotated[
        int, typer.Option(min=1, help="Frames to label.", metavar="N")
    ] = 10_000,
    gpu_hourly_usd: Annotated[
        float, typer.Option(min=0, help="A rented GPU's price.", metavar="USD")
    ] = 1.0,
    sam3_gpu_fps: Annotated[
        float, typer.Option(min=0.01, help="SAM3 frames/s there.", metavar="FPS")
    ] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cost per minute of streaming (API, own server, phone) and of labelling N frames."""
    from edgedistill.cost import CostInputs, estimate_costs
    from edgedistill.display import print_costs

    inputs = CostInputs(
        fps,
        width,
        height,
        credit_usd,
        api_seconds,
        server_hourly_usd,
        server_streams,
        label_frames,
        gpu_hourly_usd=gpu_hourly_usd,
        sam3_gpu_frames_per_s=sam3_gpu_fps,
    )
    report = estimate_costs(inputs)
    if as_json:
        print(report.to_json())
    else:
        print_costs(report)


@app.command(cls=_TakesTeacherFlagsNamedSo)
def pipeline(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="What to ingest (default: ingest.sources in the config).", metavar="SOURCE"
        ),
    ] = None,
    project_dir: ProjectOption = None,
    teacher: Annotated[
        str | None,
        typer.Option(
            help=f"Teacher: {', '.join(sorted(BACKENDS))} (default: label.teacher); its "
            "settings are the --teacher-* flags below.",
            metavar="NAME",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--teacher-weights",
            help="Teacher weights (sam3 folder, ultralytics .pt).",
            metavar="PATH",
            rich_help_panel=TEACHER_PANEL,
        ),
    ] = None,
    annotations: Annotated[
        Path | None,
        typer.Option(
            "--teacher-annotations",
            help="annotations teacher: data.yaml, labels or COCO JSON.",
            metavar="PATH",
            rich_help_panel=TEACHER_PANEL,
        ),
    ] = None,
    max_usd: Annotated[
        float | None,
        typer.Option(min=0, help="Stop labelling before spending more.", metavar="USD"),
    ] = None,
) -> None:
    """Run ingest → label → dataset → train → eval; finished stages are reused."""
    from edgedistill.display import PipelineProgress
    from edgedistill.pipeline import run_pipeline

    project = _project(project_dir)
    teacher_overrides = {
        "weights": weights,
        "annotations": annotations,
        **_teacher_settings_given(ctx),
    }
    from edgedistill.teachers import with_teacher_flags

    flagged = with_teacher_flags(project.config, teacher, teacher_overrides)
    budget = _budget(flagged, teacher, max_usd, None)
    try:
        with PipelineProgress() as progress:
            result = run_pipeline(
                project,
                sources or [],
                teacher,
                teacher_overrides,
                max_credits=budget,
                announce=progress.announce,
                on_epoch=progress.update,
            )
    except KeyboardInterrupt:
        raise Interrupted() from None
    if result.ingest.failures or result.label.failures:
        raise typer.Exit(1)


@app.command()
def status(
    project_dir: ProjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show what each stage has produced so far."""
    from edgedistill.display import print_status
    from edgedistill.status import project_status

    found = project_status(_project(project_dir))
    if as_json:
        print(found.to_json())
        return
    print_status(found)


@app.command()
def demo(
    video: Annotated[
        Path | None,
        typer.Option(help="Your own clip instead of the generated one.", metavar="FILE"),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo works.", metavar="DIR")
    ] = Path("demo"),
    epochs: Annotated[
        int, typer.Option(min=1, help="Fine-tuning epochs of the student.", metavar="N")
    ] = 3,
) -> None:
    """Run everything on a short clip with the best teacher and student found here."""
    from edgedistill.demo import run_demo

    run_demo(directory, video, epochs)


def _plain_metavars() -> None:
    """Help shows each option's metavar (``--epochs N``) and flags bare, as click does,
    instead of Typer's ``<int>``/``<bool>`` type labels and ``{ARG}`` usage braces."""
    from typer.core import TyperArgument, TyperOption

    def option_type(self: TyperOption, ctx: object) -> str | None:
        # Typer's own click copy has no ``.type``; an option's type is its annotation.
        return None if self.is_flag else self.metavar or self.bare_type().upper()

    def argument_usage(self: TyperArgument) -> str:
        name = self.metavar or self.name.upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    TyperArgument._usage_display_name = argument_usage  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors end in one sentence and a non-zero exit code:
    2 for usage and config mistakes, 1 for run-time failures, 130 for Ctrl-C."""
    configure_logging()
    _plain_metavars()
    try:
        app(args=argv, prog_name="edgedistill", standalone_mode=True)
    except EdgedistillError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return exc.exit_code
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    except Exception as exc:
        if (problem := environment_problem(exc)) is not None:
            err.print(f"[red]error:[/] {escape(problem)}")
            return 1
        if os.environ.get("EDGEDISTILL_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(a bug: set EDGEDISTILL_DEBUG=1 to see where, and please report it)"
        )
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
