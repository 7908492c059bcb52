"""Request-level limits: API keys, failed-key throttling, connections per key, body size.

Keys are compared as UTF-8 bytes in constant time, so a key of any type or
alphabet is simply wrong, never an error. Failed attempts are counted per client
address; an address over the limit is refused before its key is looked at.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import TypeGuard
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("edgedistill.serve")

MIN_KEY_LENGTH = 16


class Keys:
    """The accepted API keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode() for key in keys]
        short = sum(len(key) < MIN_KEY_LENGTH for key in keys)
        if short:
            log.warning(
                "%d API key(s) shorter than %d characters: they can be guessed; use long "
                "random keys (python -c 'import secrets; print(secrets.token_urlsafe(24))')",
                short,
                MIN_KEY_LENGTH,
            )

    def accepts(self, key: object) -> TypeGuard[str]:
        if not isinstance(key, str) or not key:
            return False
        given = key.encode("utf-8", "replace")
        return any(hmac.compare_digest(given, k) for k in self._keys)


class AuthThrottle:
    """At most ``limit`` failed keys per client address per minute; the rest are refused."""

    WINDOW = 60.0

    def __init__(self, limit: int, max_addresses: int = 10_000) -> None:
        self.limit = limit
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def blocked(self, address: str) -> bool:
        times = self._failures.get(address)
        if times is None:
            return False
        now = time.monotonic()
        while times and now - times[0] > self.WINDOW:
            times.popleft()
        return len(times) >= self.limit

    def failed(self, address: str) -> None:
        times = self._failures.pop(address, deque())
        times.append(time.monotonic())
        self._failures[address] = times  # most recent last
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)


class KeyConnections:
    """Open WebSocket streams per API key, at most ``limit`` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def try_open(self, key: str) -> bool:
        if self._open.get(key, 0) >= self.limit:
            return False
        self._open[key] = self._open.get(key, 0) + 1
        return True

    def close(self, key: str) -> None:
        self._open[key] -= 1
        if not self._open[key]:
            del self._open[key]


class RateWindow:
    """Events over the last second: ``hit()`` records one and says whether there were
    more than ``per_second`` (a burst of twice the frame rate is what a client may send)."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._times: deque[float] = deque()

    def hit(self, now: float | None = None) -> bool:
        now = time.perf_counter() if now is None else now
        self._times.append(now)
        while now - self._times[0] > 1.0:
            self._times.popleft()
        return len(self._times) > self.per_second


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class BodyLimit:
    """ASGI middleware: request bodies are capped and timed before anything parses them.

    ``Content-Length`` over the cap is refused at once (413), a streamed body as
    soon as it passes the cap, a body that takes longer than ``timeout`` seconds
    gets 408. A key in the query string is checked before the body is read.
    A client that disconnects mid-body is simply forgotten.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout: float, keys: Keys, throttle: AuthThrottle
    ) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout
        self.keys, self.throttle = keys, throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        address = client_address(scope)
        refusal = self._refuse_early(scope, address)
        if refusal is not None:
            return await _reply(send, *refusal)
        body = bytearray()
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    if len(body) > self.max_bytes:
                        return await _reply(send, 413, "request body too large")
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            log.info("%s: request body too slow", address)
            return await _reply(send, 408, "request body too slow")
        await self.app(scope, _replay(bytes(body)), send)

    def _refuse_early(self, scope: Scope, address: str) -> tuple[int, str] | None:
        if self.throttle.blocked(address):
            return 429, "too many failed API keys from this address; wait a minute"
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return 413, "request body too large"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "api_key" in query and not self.keys.accepts(query["api_key"][0]):
            self.throttle.failed(address)
            return 401, "invalid or missing api_key"
        return None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # like a client that keeps the connection open
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _reply(send: Send, status: int, message: str) -> None:
    """Answer and close the connection: the rest of a refused body is not worth reading."""
    data = json.dumps({"message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
