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
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import httpx

from edgedistill.teachers.base import (
    CostEstimate,
    FrameInput,
    Teacher,
    TeacherError,
    TeacherResult,
    TeacherSettings,
)
from edgedistill.teachers.gate import CallGate
from edgedistill.teachers.roboflow_settings import RoboflowSettings

API_KEY_VARIABLE = "ROBOFLOW_API_KEY"
API_URL_VARIABLE = "ROBOFLOW_API_URL"
DEFAULT_API_URL = "https://serverless.roboflow.com"
MIN_BILLED_SECONDS = 0.1
SECONDS_PER_CREDIT = 500.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


RoboflowSettingsT = TypeVar("RoboflowSettingsT", bound=RoboflowSettings)


@dataclass
class Spend:
    """What one frame's requests were billed: every attempt that reached the server counts."""

    calls: int = 0
    credits: float = 0.0

    def add(self, seconds: float) -> None:
        self.calls += 1
        self.credits += credits_for(seconds)


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
        self.gate = CallGate()
        """Shared with other workers when labelling on Ray; a no-op in one process."""
        self._http = httpx.Client(
            timeout=settings.timeout,
            limits=httpx.Limits(max_connections=settings.concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        """``text`` without the key, also in its URL-encoded forms (``+ / = &`` in keys)."""
        for form in sorted(_key_forms(self.key), key=len, reverse=True):
            text = text.replace(form, "***")
        return text

    def post(self, path: str, body: dict[str, Any], key_in_query: bool, spend: Spend) -> Any:
        """The JSON answer; each attempt that may be billed is added to ``spend``.

        TeacherError stops the run; RetryableError fails this frame only. A request
        that reached the server but got no answer (read timeout, dropped connection)
        may have been billed, so it is sent again at most ``max_resends`` times.
        """
        params = {"api_key": self.key} if key_in_query else None
        delay = self.settings.backoff
        resends = 0
        for attempt in range(self.settings.max_retries + 1):
            started = time.monotonic()
            try:
                response = self._send(path, params, body, delay)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == self.settings.max_retries:
                    raise TeacherError(
                        f"cannot reach {self.url} ({type(exc).__name__}); check "
                        f"{API_URL_VARIABLE} and the network"
                    ) from None
                problem, wait_for = type(exc).__name__, None
            except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
                spend.add(time.monotonic() - started)  # the server may have done the work
                problem, wait_for = f"{type(exc).__name__} talking to {self.url}", None
                if resends == self.settings.max_resends:
                    raise RetryableError(
                        f"{problem}, sent {resends + 1} times (each may be billed)"
                    ) from None
                resends += 1
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__} talking to {self.url}"
                wait_for = None
            else:
                if response.status_code < 400:
                    data = self._json(response)
                    spend.add(_billed_seconds(response, data, started))
                    return data
                self._raise_if_not_retryable(response)
                problem = f"HTTP {response.status_code}"
                wait_for = _retry_after(response)
            if attempt == self.settings.max_retries:
                raise RetryableError(f"{problem} after {attempt + 1} attempts")
            pause = wait_for if wait_for is not None else delay * (0.5 + random.random())
            time.sleep(min(pause, self.settings.max_backoff))
            delay = min(delay * 2, self.settings.max_backoff)
        raise AssertionError("unreachable")

    def _send(
        self, path: str, params: dict[str, str] | None, body: dict[str, Any], delay: float
    ) -> httpx.Response:
        """One attempt through the gate; a 429 pauses everyone sharing it before the slot
        is given back, so no other worker's attempt slips in."""
        with self.gate.slot():
            response = self._http.post(f"{self.url}{path}", params=params, json=body)
            if response.status_code == 429:
                wait_for = _retry_after(response)
                pause = delay if wait_for is None else wait_for
                self.gate.hold(min(pause, self.settings.max_backoff))
        return response

    def _raise_if_not_retryable(self, response: httpx.Response) -> None:
        """Key and billing problems stop the run; a rejected request fails its frame only."""
        status = response.status_code
        if status in (401, 403):
            raise TeacherError(
                f"Roboflow refused the API key (HTTP {status}); check {API_KEY_VARIABLE} "
                "and that the key belongs to a workspace with access"
            )
        if status == 402:
            raise TeacherError("Roboflow says the workspace is out of credits (HTTP 402)")
        if status in (404, 405):
            raise TeacherError(
                f"Roboflow has no such endpoint (HTTP {status} for {self.url}); check "
                f"{API_URL_VARIABLE}, the workspace and the workflow id"
            )
        if status not in RETRY_STATUSES:
            raise RetryableError(
                f"Roboflow rejected the request (HTTP {status}: "
                f"{self.redact(response.text[:200].strip())})"
            )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise RetryableError(f"answer from {self.url} is not JSON") from None


def api_url() -> str:
    """The server to call: ``$ROBOFLOW_API_URL``, else Roboflow's serverless API; checked
    up front: an http(s) URL with a host, no trailing slash."""
    text = os.environ.get(API_URL_VARIABLE, DEFAULT_API_URL).strip().rstrip("/")
    problem = None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        problem = "it does not parse"
    else:
        if parts.scheme not in ("http", "https"):
            problem = "it must start with https:// or http://"
        elif not parts.hostname:
            problem = "it has no host name"
        elif parts.query or parts.fragment:
            problem = "it must not have a query or fragment"
    if problem is not None:
        raise ApiUrlError(
            f"{API_URL_VARIABLE} is not a usable URL ({problem}): set it like "
            f"{DEFAULT_API_URL}, or unset it"
        )
    return text


class ApiUrlError(TeacherError):
    """``ROBOFLOW_API_URL`` is malformed: a configuration error."""

    exit_code = 2


class RetryableError(Exception):
    """This frame's request failed (retries exhausted, or Roboflow rejected it): that
    frame fails, the run goes on."""


def _key_forms(key: str) -> set[str]:
    return {key, quote(key, safe=""), quote(key), quote_plus(key)}


class RoboflowTeacher(Teacher[RoboflowSettingsT]):
    """Base of the Roboflow backends: concurrent requests, cost per call, budget in USD."""

    Settings = RoboflowSettings

    def __init__(self, settings: RoboflowSettingsT) -> None:
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


def concurrent_map(  # noqa: C901, PLR0912 — a bounded pool that drains on every exit
    work: Callable[[FrameInput], TeacherResult], frames: Iterator[FrameInput], concurrency: int
) -> Iterator[TeacherResult]:
    """Results in completion order, with at most ``concurrency`` frames in flight.

    Frames are pulled lazily, so a caller that stops yielding frames (a budget)
    stops new requests at once. A fatal error or Ctrl-C stops new requests, yields
    the results of those already in flight (they are paid for), then is raised; a
    second Ctrl-C while draining gives up on the answers still to come.
    """
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="teacher") as pool:
        running: set[Future[TeacherResult]] = set()
        failure: BaseException | None = None
        exhausted = False
        try:
            while True:
                while failure is None and not exhausted and len(running) < concurrency:
                    try:
                        frame = next(frames, None)
                    except (Exception, KeyboardInterrupt) as exc:  # from the frame source
                        failure, frame = exc, None
                    if frame is None:
                        exhausted = True
                    else:
                        running.add(pool.submit(work, frame))
                if not running:
                    break
                try:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt as interrupt:
                    if isinstance(failure, KeyboardInterrupt):
                        raise
                    failure = interrupt
                    continue
                for future in done:
                    try:
                        result = future.result()
                    except Exception as exc:
                        failure = failure or exc
                    else:
                        yield result
        finally:
            for future in running:
                future.cancel()
    if failure is not None:
        raise failure


def _billed_seconds(response: httpx.Response, data: Any, started: float) -> float:
    """Processing time as Roboflow bills it: its headers, else the answer's ``time``,
    else the wall time of the request (an upper bound)."""
    remote = _seconds(response.headers.get("x-remote-processing-time"))
    if remote is not None:
        return MIN_BILLED_SECONDS + remote
    seconds = _seconds(response.headers.get("x-processing-time"))
    if seconds is None and isinstance(data, dict):
        seconds = _seconds(data.get("time"))
    if seconds is None:
        seconds = time.monotonic() - started
    return max(seconds, MIN_BILLED_SECONDS)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date); None when absent or nonsense."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is None:
        try:
            seconds = max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError, IndexError):
            return None
    return seconds


def _seconds(value: Any) -> float | None:
    """A finite number of seconds ≥ 0 from a header or JSON value, else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
