"""Config validation, the ontology and the shipped presets."""

from __future__ import annotations

import pytest

from edgedistill.config import (
    DatasetConfig,
    IngestConfig,
    LabelConfig,
    ProjectConfig,
    TrainConfig,
    parse_config,
)
from edgedistill.errors import ConfigError
from edgedistill.ontology import Ontology
from edgedistill.presets import available_presets, preset_text
from edgedistill.teachers import check_teacher_sections

# The 23 concepts of the user's Roboflow workflow, as prompts.
WORKFLOW_CONCEPTS = [
    "person",
    "car",
    "dog",
    "animal",
    "cyclist",
    "bicycle",
    "motorcycle",
    "scooter",
    "van",
    "semi truck",
    "truck",
    "electric scooter",
    "school bus",
    "ambulance lights",
    "bus",
    "police cruiser",
    "police motorcycle",
    "police SUV",
    "police car",
    "ambulance",
    "fire truck",
    "wheelchair",
    "cat",
]


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        config = parse_config(text, source="edgedistill.yaml")
        check_teacher_sections(config, "edgedistill.yaml")  # the backends' own settings
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", available_presets())
def test_presets_are_valid_and_use_the_default_stage_settings(name: str) -> None:
    config = parse_config(preset_text(name))
    assert config.ingest == IngestConfig()
    assert config.label == LabelConfig()
    assert config.dataset == DatasetConfig()
    assert config.train == TrainConfig()


def test_driving_preset_covers_the_workflow_concepts() -> None:
    ontology = parse_config(preset_text("driving")).ontology
    prompts = {p.lower() for p in ontology.prompts}
    assert {c.lower() for c in WORKFLOW_CONCEPTS} <= prompts
    assert ontology.class_for_prompt("police SUV").name == "police car"
    assert ontology.class_for_prompt("police cruiser").name == "police car"
    assert ontology.class_for_prompt("semi truck").name == "truck"
    assert ontology.is_more_specific("police car", "car")
    assert ontology.is_more_specific("school bus", "bus")
    assert ontology.is_more_specific("fire truck", "truck")
    assert ontology.is_more_specific("dog", "animal")
    assert not ontology.is_more_specific("car", "police car")
    assert len(ontology.classes) < len(WORKFLOW_CONCEPTS)


def test_unknown_key_names_the_key_and_what_is_allowed() -> None:
    message = config_error("ingest:\n  fsp: 2\n")
    assert message.startswith("edgedistill.yaml: unknown key 'ingest.fsp'")
    assert "fps, max_side, dedup, dedup_threshold, jpeg_quality" in message
    top = config_error("ingets: {}\n")
    assert "unknown key 'ingets'" in top and "ingest" in top and "ontology" in top


def test_unknown_key_inside_a_class_names_the_class() -> None:
    message = config_error("ontology:\n  classes:\n    - name: car\n      colour: red\n")
    assert "ontology.classes[0] (car).colour" in message
    assert "name, prompts, confidence, parent" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ingest:\n  fps: -1\n", "ingest.fps: input should be greater than or equal to 0"),
        ("ingest:\n  fps: fast\n", "ingest.fps: input should be a valid number"),
        ("ingest:\n  jpeg_quality: 101\n", "ingest.jpeg_quality: input should be less than"),
        ("ingest:\n  dedup: maybe\n", "ingest.dedup: input should be a valid boolean"),
        ("version: 2\n", "version: input should be 1"),
        (
            "ontology:\n  classes:\n    - name: car\n      confidence: 1.5\n",
            "ontology.classes[0] (car).confidence: input should be less than or equal to 1",
        ),
        ("ontology:\n  classes:\n    - prompts: [car]\n", "ontology.classes[0].name is required"),
    ],
)
def test_bad_values_name_the_key_and_the_rule(text: str, expected: str) -> None:
    assert expected in config_error(text)


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ("[{name: car}, {name: Car}]", "class 'Car' is listed twice"),
        (
            "[{name: car}, {name: police car, parent: cars}]",
            "class 'police car' has parent 'cars', which is not a class",
        ),
        (
            "[{name: a, parent: b}, {name: b, parent: a}]",
            "parents form a cycle: a -> b -> a",
        ),
        (
            "[{name: car, prompts: [car]}, {name: taxi, prompts: [taxi, Car]}]",
            "prompt 'Car' belongs to both 'car' and 'taxi'",
        ),
    ],
)
def test_ontology_consistency_errors(classes: str, expected: str) -> None:
    assert expected in config_error(f"ontology:\n  classes: {classes}\n")


def test_yaml_syntax_error_gives_the_line() -> None:
    message = config_error("ingest:\n  fps: 2\n   max_side: 3\n")
    assert "not valid YAML (line 3: mapping values are not allowed here)" in message


def test_top_level_must_be_a_mapping() -> None:
    assert "top level must be a mapping" in config_error("- a\n- b\n")


def test_an_empty_config_is_refused_and_a_minimal_one_means_defaults() -> None:
    with pytest.raises(ConfigError, match="the config is empty; recreate it from a preset"):
        parse_config("")
    assert parse_config("version: 1\n") == ProjectConfig()


def test_ontology_lookups() -> None:
    ontology = Ontology.model_validate(
        {
            "classes": [
                {"name": "person", "prompts": ["person", "pedestrian"]},
                {"name": "cyclist", "parent": "person"},
                {"name": "car"},
                {"name": "police car", "parent": "car", "confidence": 0.5},
            ],
            "class_mapping": {"cyclist": "rider", "police car": "car"},
        }
    )
    assert ontology.get("cyclist").prompts == ["cyclist"]  # the name is the default prompt
    assert ontology.match("Pedestrian").name == "person"
    assert ontology.match("RIDER").name == "cyclist"
    assert ontology.match("bus") is None
    assert ontology.ancestors("police car") == ["car"]
    assert ontology.student_names == ["person", "rider", "car"]  # police car merged into car
    assert ontology.get("police car").confidence == 0.5


def test_class_mapping_must_name_a_class() -> None:
    message = config_error("ontology:\n  classes: [{name: car}]\n  class_mapping: {bus: coach}\n")
    assert "class_mapping renames 'bus', which is not a class" in message


def test_teacher_sections_are_validated_by_their_backend() -> None:
    message = config_error("teachers:\n  roboflow-sam3:\n    concurency: 4\n")
    assert "unknown key 'teachers.roboflow-sam3.concurency'" in message
    assert "concurrency" in message
    bad = config_error("teachers:\n  roboflow-sam3:\n    concurrency: 20\n")
    assert "teachers.roboflow-sam3.concurrency: input should be less than or equal to 8" in bad
    unknown = config_error("teachers:\n  sam4: {}\n")
    assert "teachers.sam4: unknown teacher 'sam4'; available teachers:" in unknown


def test_each_backend_is_checked_with_its_own_settings_model() -> None:
    """The light settings module a config check reads holds the very model the backend
    validates its settings with; an unknown label.teacher is named as one."""
    from edgedistill.teachers import teacher_class
    from edgedistill.teachers.base import settings_class
    from edgedistill.teachers.registry import BACKENDS, SETTINGS

    assert set(SETTINGS) == set(BACKENDS)
    for name in BACKENDS:
        assert settings_class(name) is teacher_class(name).Settings
    message = config_error("label:\n  teacher: sam4\n")
    assert "label.teacher: unknown teacher 'sam4'; available teachers: annotations," in message


def test_label_settings_are_validated() -> None:
    assert "label.output_format: input should be 'rle' or 'polygons'" in config_error(
        "label:\n  output_format: masks\n"
    )


def test_dataset_shares_must_leave_room_for_train() -> None:
    message = config_error("dataset:\n  val: 0.5\n  test: 0.5\n")
    assert "dataset: val + test must leave a share for train" in message


def test_one_override_function_validates_flags_as_the_file_is() -> None:
    from edgedistill.config import ProjectConfig, override
    from edgedistill.errors import UsageError
    from edgedistill.teachers import build_teacher

    config = ProjectConfig()
    assert override(config, "train", {"epochs": 3, "imgsz": None}).train.epochs == 3
    assert override(config, "train", {"epochs": None}) is config  # nothing given
    with pytest.raises(UsageError, match="epochs: input should be greater than or equal to 1"):
        override(config, "train", {"epochs": 0})
    # A flag the teacher has no use for is refused, not silently dropped.
    with pytest.raises(ConfigError, match="unknown key 'teachers.roboflow-sam3.weights'"):
        build_teacher(config, "roboflow-sam3", {"weights": "yolo11n.pt"})


def test_stages_use_the_config_loaded_once(tmp_path) -> None:
    from edgedistill.project import init_project
    from edgedistill.status import project_status

    project = init_project(tmp_path / "p")
    project.config_path.write_text("not: [valid")  # nothing reads the file again
    assert project_status(project).ontology_classes == len(project.config.ontology.classes)
    moved = project.with_overrides("ingest", {"fps": 5.0})
    assert moved.config.ingest.fps == 5.0 and project.config.ingest.fps == 2.0
