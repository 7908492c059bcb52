"""The built-in teacher backends by name, the module that registers each and the light
module that holds its settings model: the one list a new backend is added to. Light on
purpose: ``edgedistill --help`` reads it."""

BACKENDS: dict[str, str] = {
    "annotations": "edgedistill.teachers.annotations",
    "roboflow-sam3": "edgedistill.teachers.roboflow_sam3",
    "roboflow-workflow": "edgedistill.teachers.roboflow_workflow",
    "sam3": "edgedistill.teachers.sam3",
    "ultralytics": "edgedistill.teachers.ultralytics_model",
}

SETTINGS: dict[str, str] = {
    "annotations": "edgedistill.teachers.annotations_settings:AnnotationsSettings",
    "roboflow-sam3": "edgedistill.teachers.roboflow_settings:RoboflowSam3Settings",
    "roboflow-workflow": "edgedistill.teachers.roboflow_settings:RoboflowWorkflowSettings",
    "sam3": "edgedistill.teachers.sam3_settings:Sam3Settings",
    "ultralytics": "edgedistill.teachers.ultralytics_settings:UltralyticsSettings",
}
"""Each backend's ``Settings`` model as ``module:class``, in a module that needs only
pydantic: checking a config's teacher sections loads no HTTP client, numpy or torch."""
