"""A project directory, its validated config, and where every artifact lives.

::

    my-project/
      edgedistill.yaml        the validated config (ontology, stage settings)
      catalog.db              SQLite catalog (WAL): sources, frames, labels, datasets, runs
      frames/ab/ab….jpg       frames as JPEG, named by the SHA-256 of their bytes
      datasets/<fmt>-<ver>/   datasets written by `edgedistill dataset`
      runs/train/<id>/        training runs (Ultralytics' weights and run.json)
      reports/<stamp>-<id>/   evaluations (metrics.json, report.md, report.html)
      exports/<id>/           exported students and their model cards

Stages ask the project for these paths and for the newest dataset, weights and
reports; none of them spells a folder name or queries for them itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from edgedistill.catalog import Catalog
from edgedistill.config import HudConfig, ProjectConfig, load_config, override, parse_config
from edgedistill.errors import EdgedistillError, ProjectNotFoundError
from edgedistill.presets import preset_text

if TYPE_CHECKING:  # the metrics models load with the first report read, not with every command
    from edgedistill.metrics import EvalMetrics

CONFIG_NAME = "edgedistill.yaml"
CATALOG_NAME = "catalog.db"
FRAMES_DIR = "frames"
DATASETS_DIR = "datasets"
RUNS_DIR = Path("runs") / "train"
REPORTS_DIR = "reports"
EXPORTS_DIR = "exports"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HoldOutSummary:
    """What a dataset's val and test splits hold out, as its ``dataset.json`` says."""

    by: Literal["sources", "time segments", "nothing"]
    sentence: str


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset the catalog knows: its version, format, folder and teacher."""

    version: str
    format: str
    root: Path
    fingerprint: str

    @property
    def data_yaml(self) -> Path:
        return self.root / "data.yaml"

    def scored_split(self) -> Literal["test", "val"] | None:
        """The held-out split a student is scored on, test else val; None when the dataset
        holds neither (nothing was held out, and ``val`` in data.yaml is the training set)."""
        return next((s for s in ("test", "val") if (self.root / "images" / s).is_dir()), None)

    def holdout(self) -> HoldOutSummary:
        """How val and test were held out; datasets written before time segments existed
        were split by source."""
        saved = json.loads((self.root / "dataset.json").read_text(encoding="utf-8"))
        if "holdout" in saved:
            return HoldOutSummary(saved["holdout"]["by"], saved["holdout"]["sentence"])
        if self.scored_split() is None:
            return HoldOutSummary("nothing", "nothing held out")
        return HoldOutSummary("sources", "held out: whole sources")

    def ego_mask(self) -> list[tuple[float, float]]:
        """The ego-vehicle mask the dataset applied to its labels ([] for none)."""
        saved = self.root / "dataset.json"
        mask = json.loads(saved.read_text()).get("ego_mask") if saved.is_file() else None
        return [(float(x), float(y)) for x, y in (mask or {}).get("polygon", [])]


@dataclass(frozen=True)
class FinishedRun:
    """A training run that finished, with its weights still on disk."""

    id: str
    dataset: str
    model: str
    directory: Path
    weights: Path
    distilled_from: str | None = None
    """The assistant (a run id or weights path) of a student trained with distillation."""
    distill_weight: float | None = None


_RUN_COLUMNS = "id, dataset, model, directory, weights, distilled_from, distill_weight"


def _finished_run(row: Sequence[Any]) -> FinishedRun:
    """A ``train_runs`` row of :data:`_RUN_COLUMNS`."""
    return FinishedRun(row[0], row[1], row[2], Path(row[3]), Path(row[4]), row[5], row[6])


@dataclass(frozen=True)
class Project:
    """One project: its root folder and its config, loaded and validated once."""

    root: Path
    config: ProjectConfig

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def frames_dir(self) -> Path:
        return self.root / FRAMES_DIR

    @property
    def datasets_dir(self) -> Path:
        return self.root / DATASETS_DIR

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    @property
    def reports_dir(self) -> Path:
        return self.root / REPORTS_DIR

    @property
    def exports_dir(self) -> Path:
        return self.root / EXPORTS_DIR

    def with_overrides(self, section: str, values: dict[str, Any]) -> Project:
        """This project with command-line values applied to a config section
        (see :func:`~edgedistill.config.override`)."""
        return self.with_config(override(self.config, section, values))

    def with_config(self, config: ProjectConfig) -> Project:
        """This project with ``config`` (made from its own by overrides) handed down."""
        return replace(self, config=config)

    def open_catalog(self) -> Catalog:
        return Catalog(self.catalog_path)

    def dataset(self, version: str | None = None) -> DatasetRecord:
        """The dataset ``version``, else the newest; one sentence when there is none."""
        query = "SELECT version, format, path, fingerprint FROM datasets"
        with self.open_catalog() as catalog:
            row = catalog.execute(
                query + (" WHERE version = ?" if version else " ORDER BY created_at DESC LIMIT 1"),
                (version,) if version else (),
            ).fetchone()
        if row is None:
            if version:
                raise EdgedistillError(
                    f"no dataset {version} in this project; see `edgedistill status`"
                )
            raise EdgedistillError(
                "no dataset in this project yet; run `edgedistill dataset` first"
            )
        return DatasetRecord(row[0], row[1], Path(row[2]), row[3])

    def finished_runs(
        self, dataset: str | None = None, settings: str | None = None
    ) -> list[FinishedRun]:
        """Finished training runs whose weights exist, newest first; optionally only those
        on ``dataset`` with exactly these ``settings`` (JSON)."""
        query = f"SELECT {_RUN_COLUMNS} FROM train_runs WHERE status = 'done'"
        params: list[str] = []
        for column, value in (("dataset", dataset), ("settings", settings)):
            if value is not None:
                query += f" AND {column} = ?"
                params.append(value)
        with self.open_catalog() as catalog:
            rows = catalog.execute(query + " ORDER BY finished_at DESC", tuple(params)).fetchall()
        return [_finished_run(row) for row in rows if row[4] and Path(row[4]).is_file()]

    def latest_weights(self) -> Path:
        """Best weights of the most recent finished run."""
        runs = self.finished_runs()
        if not runs:
            raise EdgedistillError(
                "no trained student in this project; run `edgedistill train` first"
            )
        return runs[0].weights

    def latest_runnable(self) -> Path:
        """The newest student as ``run`` and ``serve`` load it: its ONNX export (``edgedistill
        export onnx``) when one is as new as the weights, else the weights themselves."""
        runs = self.finished_runs()
        if not runs:
            return self.latest_weights()  # says what to do
        weights = runs[0].weights
        onnx = self.exports_dir / runs[0].id / f"{weights.stem}.onnx"
        if onnx.is_file() and onnx.stat().st_mtime >= weights.stat().st_mtime:
            return onnx
        log.info(
            "running %s with PyTorch; `edgedistill export onnx` makes the faster, lighter "
            "ONNX Runtime student that run and serve then pick",
            weights,
        )
        return weights

    def hud_settings(self, model: Path | None = None) -> HudConfig:
        """The config's ``hud`` with ``ego_mask: auto`` replaced by the mask that
        ``edgedistill dataset`` found in the labelled frames of ``model``'s dataset (the
        newest dataset for a model trained elsewhere); no mask when none was found."""
        hud = self.config.hud
        if hud.ego_mask != "auto":
            return hud
        run = self.run_of(model) if model is not None else None
        try:
            record = self.dataset(run.dataset if run else None)
        except EdgedistillError:  # no dataset yet: nothing was found
            return hud.model_copy(update={"ego_mask": []})
        return hud.model_copy(update={"ego_mask": record.ego_mask()})

    def run_of(self, weights: Path) -> FinishedRun | None:
        """The run that trained ``weights``, or whose export they are
        (``exports/<run id>/``); None for weights from elsewhere."""
        exported = weights.parent.name if weights.parent.parent == self.exports_dir else None
        with self.open_catalog() as catalog:
            row = catalog.execute(
                f"SELECT {_RUN_COLUMNS} FROM train_runs WHERE weights = ? OR id = ?",
                (str(weights), exported),
            ).fetchone()
        return _finished_run(row) if row else None

    def reports_of(self, weights: Path) -> Iterator[tuple[Path, EvalMetrics]]:
        """``(folder, metrics)`` of each evaluation of these weights, newest first; reports
        written by an older version that no longer reads are passed over."""
        from edgedistill.metrics import EvalMetrics

        for path in sorted(self.reports_dir.glob("*/metrics.json"), reverse=True):
            try:
                metrics = EvalMetrics.read(path)
            except ValidationError:
                continue
            if metrics.weights == str(weights):
                yield path.parent, metrics

    def newest_report(self) -> Path | None:
        """The newest ``report.html``, of any student."""
        reports = sorted(self.reports_dir.glob("*/report.html"))
        return reports[-1] if reports else None


def init_project(root: Path, preset: str = "driving") -> Project:
    """Create a project at ``root`` (made if missing) from a preset config."""
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise EdgedistillError(f"{root} is already an edgedistill project")
    if root.exists() and not root.is_dir():
        raise EdgedistillError(f"{root} exists and is not a directory")
    text = preset_text(preset)
    project = Project(root, parse_config(text, source=f"preset '{preset}'"))
    try:
        project.frames_dir.mkdir(parents=True, exist_ok=True)
        project.config_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EdgedistillError(f"cannot create a project at {root} ({exc.strerror})") from None
    project.open_catalog().close()
    return project


def open_project(root: Path) -> Project:
    """The project at ``root``, its config loaded and validated."""
    return Project(root, load_config(root / CONFIG_NAME))


def find_project(path: Path | None = None) -> Project:
    """The project at ``path``; without one, the current directory or its nearest parent."""
    if path is not None:
        root = path.resolve()
        if not (root / CONFIG_NAME).is_file():
            raise ProjectNotFoundError(
                f"{path} is not an edgedistill project (no {CONFIG_NAME}); "
                f"create one with: edgedistill init {path}"
            )
        return open_project(root)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return open_project(candidate)
    raise ProjectNotFoundError(
        f"no edgedistill project in {here} or its parents; "
        "pass -p/--project DIR or create one with: edgedistill init DIR"
    )
