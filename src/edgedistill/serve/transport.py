"""Connection-level limits and the uvicorn set-up that applies them.

uvicorn bounds requests (``limit_concurrency``) but not sockets: a connection
that never finishes its request headers (slowloris) stays open for ever and
enough of them exhaust file descriptors. :func:`guarded_protocol` adds what is
missing to uvicorn's h11 protocol: a deadline for each request's headers, and a
cap on open connections that, when reached, first evicts the oldest connection
still waiting for headers. Deployments on the internet should still run behind
a reverse proxy (nginx, Caddy) that terminates TLS and limits clients per
address; the README shows how.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from edgedistill.config import ServeConfig
from edgedistill.errors import EdgedistillError

WS_OVERHEAD = 1024
"""Bytes a WebSocket message may carry beyond the frame (its 4-byte id, framing)."""


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a cap on open connections; the
    limits and the queue of connections still waiting for headers belong to a subclass
    made by :func:`guarded_protocol` for one server."""

    max_connections: ClassVar[int]
    header_timeout: ClassVar[float]
    waiting: ClassVar[OrderedDict[GuardedH11Protocol, None]]
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # Forget the evicted one now: uvicorn counts it until its close is processed.
            oldest = next(iter(self.waiting), None)
            if oldest is None:
                self.connections.discard(self)
                transport.abort()  # every connection is busy with a request: refuse
                return
            self.connections.discard(oldest)
            oldest.transport.abort()
            oldest._done_waiting()
        self._start_waiting()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting_for_headers():
            self._done_waiting()
        elif self._timer is None:  # the next request on a kept-alive connection
            self._start_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._done_waiting()
        super().connection_lost(exc)

    def _start_waiting(self) -> None:
        self.waiting[self] = None
        self._timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _waiting_for_headers(self) -> bool:
        upgraded = self.transport.get_protocol() is not self  # now a WebSocket
        return not upgraded and (self.cycle is None or self.cycle.response_complete)

    def _headers_too_slow(self) -> None:
        self._timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.abort()
        self._done_waiting()

    def _done_waiting(self) -> None:
        self.waiting.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def guarded_protocol(max_connections: int, header_timeout: float) -> type[GuardedH11Protocol]:
    """The guarded protocol class for one server: its limits and its own waiting queue."""
    limits = {
        "max_connections": max_connections,
        "header_timeout": header_timeout,
        "waiting": OrderedDict(),
    }
    return type("GuardedH11Protocol", (GuardedH11Protocol,), limits)


def server_config(
    app: Any,
    settings: ServeConfig,
    host: str,
    port: int,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    log_level: str = "warning",
) -> uvicorn.Config:
    """The uvicorn configuration ``edgedistill serve`` runs with (tests and benchmarks too)."""
    if ssl_certfile is not None or ssl_keyfile is not None:
        check_tls(ssl_certfile, ssl_keyfile)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=guarded_protocol(settings.max_connections, settings.header_timeout),
        ws_max_size=settings.max_frame_bytes + WS_OVERHEAD,
        limit_concurrency=settings.max_connections + 1,
        timeout_keep_alive=5,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )


def check_tls(certfile: Path | None, keyfile: Path | None) -> None:
    """Load the certificate and key once up front, so that a bad file is one sentence."""
    if certfile is None:
        raise EdgedistillError("--ssl-keyfile needs --ssl-certfile as well")
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
    except OSError as exc:  # ssl.SSLError is one too
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise EdgedistillError(
            f"cannot use the TLS certificate {certfile} and key {keyfile or '(in the same file)'} "
            f"({reason}); pass a PEM certificate and its private key"
        ) from None
