"""``edgedistill cost``: what streaming and labelling cost, side by side, with sources.

Every figure is a formula over stated inputs; defaults say where they come from.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgedistill.student import PHONE_INPUT
from edgedistill.teachers.roboflow_api import MIN_BILLED_SECONDS, SECONDS_PER_CREDIT

ROBOFLOW_PRICING = (
    "Roboflow bills max(processing time, 100 ms) per request, 500 s per credit "
    "(docs.roboflow.com/deploy/serverless-hosted-api-v2/pricing) and values a credit at $3 "
    "(docs.roboflow.com/billing/credits); both read 2026-11-21"
)
SERVE_BENCH = Path("bench") / "results" / "serve.json"


@dataclass
class CostInputs:
    fps: float = 15.0
    width: int = PHONE_INPUT[1]
    height: int = PHONE_INPUT[0]
    credit_usd: float = 3.0
    api_seconds_per_frame: float = MIN_BILLED_SECONDS
    server_hourly_usd: float = 0.10
    server_streams: float | None = None
    label_frames: int = 10_000
    label_prompts: int = 23
    sam3_api_seconds_per_call: float = 0.5
    gpu_hourly_usd: float = 1.0
    sam3_gpu_frames_per_s: float = 2.0


@dataclass
class CostRow:
    option: str
    per_minute_usd: float
    per_hour_usd: float
    basis: str


@dataclass
class CostReport:
    inputs: CostInputs
    streaming: list[CostRow] = field(default_factory=list)
    labelling: list[CostRow] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def estimate_costs(inputs: CostInputs, bench_results: Path | None = SERVE_BENCH) -> CostReport:
    report = CostReport(inputs)
    frames_per_minute = inputs.fps * 60
    credits = max(inputs.api_seconds_per_frame, MIN_BILLED_SECONDS) / SECONDS_PER_CREDIT
    api_minute = frames_per_minute * credits * inputs.credit_usd
    report.streaming.append(
        CostRow(
            "Roboflow serverless API, one request per frame",
            api_minute,
            api_minute * 60,
            f"{frames_per_minute:.0f} frames/min × {credits:.5f} credits "
            f"({max(inputs.api_seconds_per_frame, MIN_BILLED_SECONDS):g} s billed) × "
            f"${inputs.credit_usd:g}; {ROBOFLOW_PRICING}",
        )
    )
    streams, source = _streams(inputs, bench_results)
    server_minute = inputs.server_hourly_usd / 60 / streams
    report.streaming.append(
        CostRow(
            f"self-hosted server (`edgedistill serve`), {streams:g} streams at {inputs.fps:g} fps",
            server_minute,
            server_minute * 60,
            f"${inputs.server_hourly_usd:g}/h (assumed price of a 2-vCPU VM; pass yours) ÷ "
            f"{streams:g} streams ({source})",
        )
    )
    report.streaming.append(
        CostRow(
            "on the phone (exported student)",
            0.0,
            0.0,
            "no per-minute cost; a one-time `edgedistill export` and the phone's battery",
        )
    )
    calls = math.ceil(inputs.label_prompts / 16) * inputs.label_frames
    api_credits = (
        calls * max(inputs.sam3_api_seconds_per_call, MIN_BILLED_SECONDS) / SECONDS_PER_CREDIT
    )
    api_total = api_credits * inputs.credit_usd
    report.labelling.append(
        CostRow(
            f"label {inputs.label_frames} frames with Roboflow's hosted SAM3",
            api_total,
            api_total,
            f"{calls} requests (≤ 16 prompts each) × "
            f"{inputs.sam3_api_seconds_per_call:g} s assumed "
            f"= {api_credits:.2f} credits × ${inputs.credit_usd:g}",
        )
    )
    hours = inputs.label_frames / inputs.sam3_gpu_frames_per_s / 3600
    gpu_total = hours * inputs.gpu_hourly_usd
    report.labelling.append(
        CostRow(
            f"label {inputs.label_frames} frames with SAM3 on a rented GPU",
            gpu_total,
            gpu_total,
            f"{hours:.2f} h at {inputs.sam3_gpu_frames_per_s:g} frames/s (assumed) × "
            f"${inputs.gpu_hourly_usd:g}/h (assumed; pass yours)",
        )
    )
    return report


def _streams(inputs: CostInputs, bench_results: Path | None) -> tuple[float, str]:
    if inputs.server_streams is not None:
        return inputs.server_streams, "given"
    if bench_results is not None and bench_results.is_file():
        measured = json.loads(bench_results.read_text())
        if measured.get("max_streams"):
            return float(measured["max_streams"]), f"measured by bench/serve.py ({bench_results})"
    return 1.0, "assumed; run bench/serve.py to measure this machine"
