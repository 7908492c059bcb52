"""edgedistill: distil an open-vocabulary teacher into a small, fast YOLO student."""

import os

__version__ = "0.1.0"

# Ultralytics pip-installs missing extras at run time unless told not to; it reads
# this once, when first imported, so it is set before any stage can import it.
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
