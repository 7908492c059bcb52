"""edgedistill: distil an open-vocabulary teacher into a small, fast YOLO student."""

__version__ = "0.1.0"
