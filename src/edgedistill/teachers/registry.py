"""The built-in teacher backends by name, and the module that registers each: the one
list a new backend is added to. Light on purpose: ``edgedistill --help`` reads it."""

BACKENDS: dict[str, str] = {
    "annotations": "edgedistill.teachers.annotations",
    "roboflow-sam3": "edgedistill.teachers.roboflow_sam3",
    "roboflow-workflow": "edgedistill.teachers.roboflow_workflow",
    "sam3": "edgedistill.teachers.sam3",
    "ultralytics": "edgedistill.teachers.ultralytics_model",
}
