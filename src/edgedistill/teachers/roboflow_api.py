"""What both Roboflow backends share: the HTTP client, retries, billing and concurrency.

Pricing defaults (checked 2026-11-21):

- Serverless hosted API v2 bills compute time: ``max(x-processing-time, 100 ms) / 500 s``
  credits per request, or ``(100 ms + x-remote-processing-time) / 500 s`` when that
  header is present (docs.roboflow.com/deploy/serverless-hosted-api-v2/pricing).
- One credit is valued at $3 (docs.roboflow.com/billing/credits); plans differ, so
  ``credit_usd`` is a setting.
"""

from __future__ import annotations

import base64
import os
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx
from pydantic import Field

from edgedistill.teachers.base import (
    CostEstimate,
    FrameInput,
    Teacher,
    TeacherError,
    TeacherResult,
    TeacherSettings,
)

API_KEY_VARIABLE = "ROBOFLOW_API_KEY"
API_URL_VARIABLE = "ROBOFLOW_API_URL"
DEFAULT_API_URL = "https://serverless.roboflow.com"
MIN_BILLED_SECONDS = 0.1
SECONDS_PER_CREDIT = 500.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RoboflowSettings(TeacherSettings):
    concurrency: int = Field(default=8, ge=1, le=8)
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=5, ge=0)
    backoff: float = Field(default=0.5, gt=0, description="first retry delay in seconds")
    max_backoff: float = Field(default=30.0, gt=0)
    credit_usd: float = Field(default=3.0, ge=0)
    seconds_per_call: float = Field(
        default=0.5, gt=0, description="assumed processing time for estimates before any call"
    )


def api_url() -> str:
    """The server to call: ``$ROBOFLOW_API_URL``, else Roboflow's serverless API."""
    return os.environ.get(API_URL_VARIABLE, DEFAULT_API_URL).rstrip("/")


class RoboflowClient:
    """POSTs JSON with retries; the API key never appears in logs, errors or files."""

    def __init__(self, settings: RoboflowSettings) -> None:
        key = os.environ.get(API_KEY_VARIABLE, "").strip()
        if not key:
            raise TeacherError(
                f"set {API_KEY_VARIABLE} to your Roboflow API key (Roboflow app → Settings → "
                "API Keys); it is read from the environment only"
            )
        self.key = key
        self.url = api_url()
        self.settings = settings
        self._http = httpx.Client(
            timeout=settings.timeout,
            limits=httpx.Limits(max_connections=settings.concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        return text.replace(self.key, "***")

    def post(self, path: str, body: dict[str, Any], key_in_query: bool) -> tuple[Any, float]:
        """JSON answer and billed seconds; TeacherError stops the run, RetryableError one frame."""
        params = {"api_key": self.key} if key_in_query else None
        delay = self.settings.backoff
        for attempt in range(self.settings.max_retries + 1):
            started = time.monotonic()
            try:
                response = self._http.post(f"{self.url}{path}", params=params, json=body)
            except httpx.ConnectError as exc:
                if attempt == self.settings.max_retries:
                    raise TeacherError(
                        f"cannot reach {self.url} ({type(exc).__name__}); check "
                        f"{API_URL_VARIABLE} and the network"
                    ) from None
                problem, wait_for = type(exc).__name__, None
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__} talking to {self.url}"
                wait_for = None
            else:
                if response.status_code < 400:
                    data = self._json(response)
                    return data, _billed_seconds(response, data, started)
                self._raise_if_fatal(response)
                problem = f"HTTP {response.status_code}"
                wait_for = _retry_after(response)
            if attempt == self.settings.max_retries:
                raise RetryableError(f"{problem} after {attempt + 1} attempts")
            pause = wait_for if wait_for is not None else delay * (0.5 + random.random())
            time.sleep(min(pause, self.settings.max_backoff))
            delay = min(delay * 2, self.settings.max_backoff)
        raise AssertionError("unreachable")

    def _raise_if_fatal(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise TeacherError(
                f"Roboflow refused the API key (HTTP {status}); check {API_KEY_VARIABLE} "
                "and that the key belongs to a workspace with access"
            )
        if status == 402:
            raise TeacherError("Roboflow says the workspace is out of credits (HTTP 402)")
        if status not in RETRY_STATUSES:
            raise TeacherError(
                f"Roboflow rejected the request (HTTP {status}: "
                f"{self.redact(response.text[:200].strip())})"
            )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise RetryableError(f"answer from {self.url} is not JSON") from None


class RetryableError(Exception):
    """A request that kept failing with 429, 5xx or network errors: fails one frame only."""


class RoboflowTeacher(Teacher):
    """Base of the Roboflow backends: concurrent requests, cost per call, budget in USD."""

    Settings = RoboflowSettings

    def __init__(self, settings: RoboflowSettings) -> None:
        super().__init__(settings)
        self._client: RoboflowClient | None = None

    @property
    def client(self) -> RoboflowClient:
        """The HTTP client, made on first use: pricing a dry run needs no key."""
        if self._client is None:
            self._client = RoboflowClient(self.settings)
        return self._client

    def estimate(self, frames: int, calls: int, measured: float | None = None) -> CostEstimate:
        if measured is not None:
            per_call, basis = measured, "average of earlier calls in this project"
        else:
            seconds = max(self.settings.seconds_per_call, MIN_BILLED_SECONDS)
            per_call = seconds / SECONDS_PER_CREDIT
            basis = f"assumed {seconds:g} s of processing per call"
        credits = calls * per_call
        return CostEstimate(
            calls,
            credits,
            credits * self.settings.credit_usd,
            f"{basis}; 1 credit = {SECONDS_PER_CREDIT:g} s, "
            f"${self.settings.credit_usd:g} per credit",
        )

    @classmethod
    def credits_for_usd(cls, settings: TeacherSettings, usd: float) -> float | None:
        credit_usd = getattr(settings, "credit_usd", 0.0)
        return usd / credit_usd if credit_usd else None

    def predict(self, frames: Iterator[FrameInput]) -> Iterator[TeacherResult]:
        self.client  # noqa: B018  (no key: one sentence now, not from a worker thread)
        return concurrent_map(self._label_frame, frames, self.settings.concurrency)

    def _label_frame(self, frame: FrameInput) -> TeacherResult:
        raise NotImplementedError

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def encode_image(frame: FrameInput) -> str:
    """The stored JPEG, base64: sent as is, never re-encoded."""
    return base64.b64encode(frame.path.read_bytes()).decode("ascii")


def credits_for(seconds: float) -> float:
    return max(seconds, MIN_BILLED_SECONDS) / SECONDS_PER_CREDIT


def concurrent_map(
    work: Callable[[FrameInput], TeacherResult], frames: Iterator[FrameInput], concurrency: int
) -> Iterator[TeacherResult]:
    """Results in completion order, with at most ``concurrency`` frames in flight.

    Frames are pulled lazily, so a caller that stops yielding frames (a budget)
    stops new requests at once. A fatal error cancels what has not started.
    """
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="teacher") as pool:
        running: set[Future[TeacherResult]] = set()
        exhausted = False
        try:
            while True:
                while not exhausted and len(running) < concurrency:
                    frame = next(frames, None)
                    if frame is None:
                        exhausted = True
                    else:
                        running.add(pool.submit(work, frame))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in running:
                future.cancel()


def _billed_seconds(response: httpx.Response, data: Any, started: float) -> float:
    """Processing time as Roboflow bills it: its headers, else the answer's ``time``,
    else the wall time of the request (an upper bound)."""
    remote = response.headers.get("x-remote-processing-time")
    if remote is not None:
        return MIN_BILLED_SECONDS + (_float(remote, 0.0) or 0.0)
    seconds = _float(response.headers.get("x-processing-time", ""), None)
    if seconds is None and isinstance(data, dict) and isinstance(data.get("time"), int | float):
        seconds = float(data["time"])
    if seconds is None:
        seconds = time.monotonic() - started
    return max(seconds, MIN_BILLED_SECONDS)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    return _float(value, None) if value is not None else None


def _float(value: str, default: float | None) -> float | None:
    try:
        return float(value)
    except ValueError:
        return default
