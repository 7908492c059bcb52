"""``edgedistill cost``: the formulas with their inputs, and the JSON."""

from __future__ import annotations

import json

import pytest

from edgedistill.cost import CostInputs, estimate_costs


def test_streaming_costs_per_minute(tmp_path) -> None:
    report = estimate_costs(
        CostInputs(fps=15, server_hourly_usd=0.6, server_streams=3), bench_results=None
    )
    api, server, phone = report.streaming
    # 900 frames a minute, each billed the 100 ms minimum: 0.18 credits at $3.
    assert api.per_minute_usd == pytest.approx(0.54) and api.per_hour_usd == pytest.approx(32.4)
    assert "docs.roboflow.com" in api.basis and "2026-11-21" in api.basis
    assert server.per_hour_usd == pytest.approx(0.2) and "given" in server.basis
    assert phone.per_minute_usd == 0.0


def test_measured_streams_come_from_the_serve_benchmark(tmp_path) -> None:
    results = tmp_path / "serve.json"
    results.write_text(json.dumps({"max_streams": 4}))
    report = estimate_costs(CostInputs(server_hourly_usd=0.4), bench_results=results)
    assert report.streaming[1].per_hour_usd == pytest.approx(0.1)
    assert "measured by bench/serve.py" in report.streaming[1].basis


def test_labelling_a_dataset_once() -> None:
    report = estimate_costs(
        CostInputs(
            label_frames=1000,
            label_prompts=23,
            sam3_api_seconds_per_call=0.5,
            gpu_hourly_usd=1.2,
            sam3_gpu_frames_per_s=2.0,
        ),
        bench_results=None,
    )
    api, gpu = report.labelling
    assert api.per_minute_usd == pytest.approx(2000 * 0.5 / 500 * 3)  # two requests a frame
    assert gpu.per_minute_usd == pytest.approx(1000 / 2 / 3600 * 1.2)


def test_cost_command_json(cli) -> None:
    result = cli("cost", "--fps", "15", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["inputs"]["fps"] == 15 and len(data["streaming"]) == 3
