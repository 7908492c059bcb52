"""The project config (``edgedistill.yaml``): schema, loading and readable errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from edgedistill.devices import parse_device
from edgedistill.errors import ConfigError, UsageError
from edgedistill.ontology import Ontology


class IngestConfig(BaseModel):
    """How sources become frames."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(default_factory=list, description="what `pipeline` ingests")
    fps: float = Field(default=2.0, ge=0.0, description="frames sampled per second; 0 = all")
    max_side: int = Field(default=640, ge=0, description="longest side in pixels; 0 = keep")
    dedup: bool = True
    dedup_threshold: float = Field(default=0.05, ge=0.0, le=2.0)
    jpeg_quality: int = Field(default=95, ge=50, le=100)


NmsMode = Literal["none", "per_class", "across_classes"]
"""none: keep every detection; per_class: suppress duplicates within a class;
across_classes: also where detections of different classes overlap."""


class RayConfig(BaseModel):
    """Labelling on a Ray cluster (``edgedistill label --ray``); speed knobs only, so the
    cache and its answers are the same as without Ray."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, description="label on Ray without --ray")
    address: str | None = Field(
        default=None,
        description="cluster to join (host:6379, ray://host:10001, auto); none: RAY_ADDRESS, "
        "else a local cluster",
    )
    min_actors: int = Field(default=1, ge=1)
    max_actors: int | None = Field(
        default=None, ge=1, description="none: one per GPU, else one per CPU of the cluster"
    )
    gpus_per_actor: float | None = Field(
        default=None, ge=0.0, description="none: 1 for model teachers when the cluster has GPUs"
    )
    cpus_per_actor: float = Field(default=1.0, ge=0.0)
    batch_size: int = Field(default=8, ge=1, description="frames per actor call")
    frames: Literal["auto", "shared", "object_store"] = Field(
        default="auto",
        description="how frames reach actors: shared (same file system), object_store, or "
        "auto (shared when the cluster is this machine)",
    )
    window: int = Field(
        default=20_000, ge=1, description="pending frames per Ray Dataset: bounds driver memory"
    )


class LabelConfig(BaseModel):
    """Which teacher labels, and how its cached raw output becomes labels.

    Everything but ``teacher`` is applied to the cache offline: changing it never
    calls the teacher again. The parameters follow Roboflow's SAM3 block (v3).
    """

    model_config = ConfigDict(extra="forbid")

    teacher: str = "roboflow-sam3"
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    nms: NmsMode = "across_classes"
    nms_iou: float = Field(default=0.5, ge=0.0, le=1.0)
    parent_iou: float = Field(default=0.6, ge=0.0, le=1.0)
    min_box_area: float = Field(default=16.0, ge=0.0)
    output_format: Literal["rle", "polygons"] = "rle"
    video: Literal["per_frame", "propagate"] = Field(
        default="per_frame",
        description="videos: label each frame alone, or track objects through them (sam3)",
    )
    ray: RayConfig = Field(default_factory=RayConfig)
    precision_target: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="per-class thresholds: the lowest score whose labels reach this "
        "precision against the reference teacher's labels of the same frames",
    )
    reference: str | None = Field(
        default=None,
        description="the teacher whose labels count as truth for precision_target "
        "(e.g. annotations of a reviewed sample)",
    )

    @field_validator("nms", mode="before")
    @classmethod
    def _nms_from_bool(cls, value: object) -> object:
        """Configs written before the three-way choice said ``nms: true/false``."""
        if isinstance(value, bool):
            return "across_classes" if value else "per_class"
        return value


class DatasetConfig(BaseModel):
    """How labelled frames become a training dataset."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["yolo", "yolo-seg", "coco"] = "yolo"
    val: float = Field(default=0.15, ge=0.0, lt=1.0)
    test: float = Field(default=0.15, ge=0.0, lt=1.0)
    seed: int = 0
    negatives: float = Field(default=0.1, ge=0.0, lt=1.0)
    group_folders: bool = False
    min_instances: int = Field(default=20, ge=0)
    uncertain_band: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="leave out frames where the teacher scored an object this close under "
        "its threshold; 0 keeps every frame",
    )
    gallery_max: int = Field(default=300, ge=0)
    guard_s: float = Field(
        default=0.5,
        ge=0.0,
        le=10.0,
        description="where a video is split by time (too few sources), seconds of frames "
        "dropped around each boundary between two splits",
    )

    @model_validator(mode="after")
    def _leave_frames_to_train(self) -> DatasetConfig:
        if self.val + self.test >= 1.0:
            raise ValueError("val + test must leave a share for train (their sum is >= 1)")
        return self


class TrainConfig(BaseModel):
    """The student and how Ultralytics trains it."""

    model_config = ConfigDict(extra="forbid")

    model: str = "yolo11n.pt"
    epochs: int = Field(default=50, ge=1)
    imgsz: int = Field(default=640, ge=32)
    batch: int = Field(default=16, ge=1)
    patience: int = Field(default=20, ge=0)
    device: str = "auto"
    workers: int = Field(default=2, ge=0)
    seed: int = 0
    assistant: str | None = Field(
        default=None,
        description="a larger YOLO of the student's family (yolo26s.pt) that `pipeline` "
        "trains on the teacher's labels first, then distils into the student",
    )
    distill_weight: float = Field(default=6.0, gt=0, description="weight of the distillation loss")
    keep_known: bool = Field(
        default=False,
        description="add the starting weights' confident detections where the teacher is silent",
    )
    keep_conf: float = Field(default=0.5, ge=0.0, le=1.0, description="for keep_known")
    freeze: int = Field(
        default=10,
        ge=0,
        description="layers of the starting weights kept fixed (not for a model YAML)",
    )
    cls_pw: float = Field(
        default=0.0, ge=0.0, le=1.0, description="class-balanced loss: inverse-frequency power"
    )

    @field_validator("device")
    @classmethod
    def _one_device_syntax(cls, value: str) -> str:
        try:
            return parse_device(value, several=True)
        except UsageError as exc:
            raise ValueError(str(exc)) from None


class EvalConfig(BaseModel):
    """How `eval` (and the eval step of `pipeline`) judges a student."""

    model_config = ConfigDict(extra="forbid")

    gt: Path | None = Field(default=None, description="human labels: YOLO data.yaml or COCO JSON")
    regression_tolerance: float = Field(
        default=0.2, ge=0.0, le=1.0, description="share of a class's AP50 the student may lose"
    )
    regression_min_ap: float = Field(
        default=0.1, ge=0.0, le=1.0, description="AP50 from which the starting weights detect"
    )


class HudConfig(BaseModel):
    """The driver HUD (`edgedistill run`): what counts as ahead, and how far it is."""

    model_config = ConfigDict(extra="forbid")

    target_fps: float = Field(default=15.0, gt=0)
    width: int = Field(default=640, ge=160, description="frames are resized to this width")
    conf: float = Field(default=0.25, ge=0.0, le=1.0)
    model_workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="copies of an ONNX student run side by side on as many frames, each on "
        "its share of the cores: more frames per second, each frame later; by default 2 for "
        "a file or folder read as fast as it goes, 1 for a camera, a stream or --realtime",
    )
    horizontal_fov_deg: float = Field(default=64.0, gt=10, lt=170)
    vehicle_widths_m: dict[str, float] = Field(
        default_factory=lambda: {
            "car": 1.8,
            "police car": 1.9,
            "van": 2.0,
            "ambulance": 2.1,
            "truck": 2.5,
            "fire truck": 2.5,
            "bus": 2.55,
            "school bus": 2.4,
            "motorcycle": 0.8,
            "police motorcycle": 0.8,
            "bicycle": 0.6,
            "cyclist": 0.6,
            "scooter": 0.6,
        }
    )
    ttc_warning_s: float = Field(default=2.0, gt=0)
    ttc_window_s: float = Field(default=1.0, gt=0)
    ego_zone: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.42, 0.55), (0.58, 0.55), (0.85, 1.0), (0.15, 1.0)],
        description="the lane ahead as a polygon of (x, y) shares of the frame",
    )
    ego_mask: list[tuple[float, float]] | Literal["auto"] = Field(
        default="auto",
        description="the car's own hood or dashboard as a polygon of (x, y) shares of the "
        "frame: a box at least half inside is never an object (dropped from the dataset's "
        "labels and from the HUD before tracking); auto: found in the labelled frames by "
        "`edgedistill dataset`; []: none",
    )
    min_lead_distance_m: float = Field(
        default=3.0,
        ge=0.0,
        description="a box in the lane estimated closer than this is refused as the lead unless "
        "its track was seen farther first: the car's own hood is that close from its first "
        "frame, a real vehicle closing in is not (the camera sits about 2 m behind the front "
        "bumper)",
    )

    @field_validator("ego_mask")
    @classmethod
    def _mask_is_a_polygon(
        cls, mask: list[tuple[float, float]] | str
    ) -> list[tuple[float, float]] | str:
        if isinstance(mask, list) and mask:
            if len(mask) < 3:
                raise ValueError("a polygon needs 3 or more (x, y) points, or [] for none")
            if not all(0.0 <= v <= 1.0 for point in mask for v in point):
                raise ValueError("points are shares of the frame, between 0 and 1")
        return mask

    @property
    def ego_polygon(self) -> list[tuple[float, float]]:
        """The ego mask to apply: none while it is still ``auto`` (nothing found yet)."""
        return [] if self.ego_mask == "auto" else list(self.ego_mask)


class ServeConfig(BaseModel):
    """The streaming server (`edgedistill serve`) and its limits."""

    model_config = ConfigDict(extra="forbid")

    api_keys: list[str] = Field(
        default_factory=list, description="accepted keys; EDGEDISTILL_API_KEYS adds more"
    )
    max_frame_bytes: int = Field(default=2_000_000, ge=1_000)
    max_image_pixels: int = Field(
        default=5_000_000, ge=1, description="larger images are refused (413) before decoding"
    )
    max_fps_per_client: float = Field(default=15.0, gt=0)
    max_clients: int = Field(default=8, ge=1)
    max_clients_per_key: int = Field(default=2, ge=1, description="WebSocket streams per key")
    max_connections: int = Field(
        default=256, ge=8, description="open sockets; the oldest without headers goes first"
    )
    header_timeout: float = Field(default=10.0, gt=0, description="seconds to send headers")
    body_timeout: float = Field(default=30.0, gt=0, description="seconds to send a body")
    first_frame_timeout: float = Field(default=10.0, gt=0, description="WebSocket, seconds")
    idle_timeout: float = Field(default=30.0, gt=0, description="WebSocket, seconds")
    auth_failures_per_minute: int = Field(
        default=20, ge=1, description="failed keys per client address before it is refused"
    )
    decode_threads: int = Field(default=2, ge=1)
    max_batch: int = Field(
        default=2,
        ge=1,
        le=64,
        description="frames that wait for the model together run as one batch of up to this "
        "many (an ONNX export with a dynamic batch: edgedistill export --dynamic); ONNX "
        "Runtime keeps memory for the largest batch, about 60 MB a frame at 480x640",
    )
    model_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="copies of an ONNX student run side by side, each on its share of the "
        "cores: more frames per second in all, each frame slower",
    )
    allow_url_images: bool = False
    allow_private_image_urls: bool = Field(
        default=False, description="let image URLs reach loopback and private addresses"
    )
    url_timeout: float = Field(default=10.0, gt=0, description="seconds for a whole image URL")
    conf: float = Field(default=0.25, ge=0.0, le=1.0)
    tracking: bool = True


class ProjectConfig(BaseModel):
    """Everything a project decides, in one validated file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    name: str | None = None
    weights_dir: Path | None = Field(
        default=None, description="folder searched for model files by name"
    )
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    hud: HudConfig = Field(default_factory=HudConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    teachers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ontology: Ontology = Field(default_factory=Ontology)

    def teacher_settings(self, name: str) -> dict[str, Any]:
        """The config's ``teachers.<name>`` section (may be empty)."""
        return dict(self.teachers.get(name) or {})


def load_config(path: Path) -> ProjectConfig:
    """Read and validate a config file; any problem raises one-sentence ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    config = parse_config(text, source=str(path))
    if config.weights_dir is not None and not config.weights_dir.expanduser().is_absolute():
        config = config.model_copy(update={"weights_dir": path.parent / config.weights_dir})
    gt = config.eval.gt
    if gt is not None and not gt.expanduser().is_absolute():
        config.eval.gt = path.parent / gt
    return config


def parse_config(text: str, source: str = "config") -> ProjectConfig:
    """Validate config text; ``source`` names it in error messages."""
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({_yaml_problem(exc)})") from None
    if data is None:
        raise ConfigError(
            f"{source}: the config is empty; recreate it from a preset with "
            "`edgedistill init DIR --preset driving` (or blank) and edit that"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, not a list or value")
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc, data)}") from None
    return config


def override(config: ProjectConfig, section: str, values: dict[str, Any]) -> ProjectConfig:
    """The config with command-line ``values`` (``None``: not given) applied to ``section``
    (``train``, ``label``, … or ``teachers.<name>``), validated as the file is.

    The one way settings change after loading; a bad value is a one-sentence UsageError.
    Backend settings (``teachers.<name>``) are validated when the teacher is built.
    """
    given = {key: value for key, value in values.items() if value is not None}
    if not given:
        return config
    if section.startswith("teachers."):
        name = section.removeprefix("teachers.")
        teachers = {**config.teachers, name: {**config.teacher_settings(name), **given}}
        return config.model_copy(update={"teachers": teachers})
    current = getattr(config, section)
    try:
        updated = type(current).model_validate({**current.model_dump(), **given})
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, given)) from None
    return config.model_copy(update={section: updated})


def describe_validation_error(
    exc: ValidationError,
    data: Any,
    model: type[BaseModel] = ProjectConfig,
    prefix: tuple[str, ...] = (),
) -> str:
    """The first problem of a pydantic error, as one sentence naming the key."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    key = _dotted(prefix + loc, data, skip=len(prefix))
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(model, loc[:-1]))
        return f"unknown key '{key}'; allowed keys here are: {allowed}"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if error["type"] == "missing":
        return f"{key} is required"
    got = error.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
    return f"{key}: {message}{shown}"


def _dotted(loc: tuple[Any, ...], data: Any, skip: int = 0) -> str:
    """``ontology.classes[3] (police car).confidence`` from a pydantic location.

    The first ``skip`` parts of ``loc`` lead to ``data`` rather than into it.
    """
    parts: list[str] = [("." if i else "") + str(item) for i, item in enumerate(loc[:skip])]
    node = data
    for item in loc[skip:]:
        if isinstance(item, int):
            label = f"[{item}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                label += f" ({node['name']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model``."""
    for item in loc:
        if isinstance(item, int):
            continue
        annotation = model.model_fields[item].annotation
        inner = getattr(annotation, "__args__", (annotation,))
        model = next(t for t in inner if isinstance(t, type) and issubclass(t, BaseModel))
    return list(model.model_fields)


def _load_yaml(text: str) -> Any:
    """The YAML document read by libyaml when PyYAML has it (ten times faster: every
    command reads the config); a document it refuses is read again by the pure-Python
    parser, whose message names the offending character."""
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem
