"""Server counters and latencies, rendered in Prometheus' text format."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class Metrics:
    def __init__(self, window: int = 2000) -> None:
        self._lock = threading.Lock()
        self.counters = {
            "frames_in": 0,
            "frames_answered": 0,
            "frames_dropped": 0,
            "http_requests": 0,
            "rejected": 0,
        }
        self.clients = 0
        self._latency: deque[float] = deque(maxlen=window)
        self._model: deque[float] = deque(maxlen=window)

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def answered(self, latency_ms: float, model_ms: float) -> None:
        """A frame answered ``latency_ms`` after it arrived; ``model_ms`` is its share of
        the model call it ran in."""
        with self._lock:
            self.counters["frames_answered"] += 1
            self._latency.append(latency_ms)
            self._model.append(model_ms)

    def latency_percentiles(self) -> dict[str, float]:
        with self._lock:
            values = np.array(self._latency)
        if not len(values):
            return {}
        return {f"p{q}": round(float(np.percentile(values, q)), 2) for q in (50, 95, 99)}

    def prometheus(self) -> str:
        lines = []
        for name, value in self.counters.items():
            lines += [
                f"# TYPE edgedistill_{name}_total counter",
                f"edgedistill_{name}_total {value}",
            ]
        lines += ["# TYPE edgedistill_clients gauge", f"edgedistill_clients {self.clients}"]
        lines.append("# TYPE edgedistill_latency_ms summary")
        for name, ms in self.latency_percentiles().items():
            quantile = int(name[1:]) / 100
            lines.append(f'edgedistill_latency_ms{{quantile="{quantile}"}} {ms}')
        with self._lock:
            model = list(self._model)
        if model:
            lines += [
                "# TYPE edgedistill_model_ms gauge",
                f"edgedistill_model_ms {np.mean(model):.2f}",
            ]
        return "\n".join(lines) + "\n"
