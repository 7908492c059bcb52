"""Dataset stage: labelled frames as YOLO detect/segment or COCO, split by source."""

from edgedistill.dataset.build import DatasetReport, build_dataset

__all__ = ["DatasetReport", "build_dataset"]
