"""Read a YOLO label file back as ``sv.Detections`` in pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import supervision as sv


def read_yolo_labels(path: Path, width: int, height: int) -> sv.Detections:
    """Boxes of a YOLO detect or segment label file (segments give their extent)."""
    boxes, classes = [], []
    if path.is_file():
        for line in path.read_text().splitlines():
            values = [float(v) for v in line.split()]
            if len(values) < 5:
                continue
            classes.append(int(values[0]))
            coords = values[1:]
            if len(coords) == 4:
                cx, cy, w, h = coords
                boxes.append(
                    [
                        (cx - w / 2) * width,
                        (cy - h / 2) * height,
                        (cx + w / 2) * width,
                        (cy + h / 2) * height,
                    ]
                )
            else:
                xs, ys = np.array(coords[0::2]) * width, np.array(coords[1::2]) * height
                boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
    rles = np.empty(len(boxes), dtype=object)
    return sv.Detections(
        xyxy=np.array(boxes, dtype=np.float32).reshape(-1, 4),
        confidence=np.ones(len(boxes), dtype=np.float32),
        class_id=np.array(classes, dtype=int),
        data={"rle": rles},
    )
