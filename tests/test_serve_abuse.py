"""Hostile clients against the server on loopback: each case of issue 16 gets a 4xx or a
close code, the server's memory stays flat, and honest clients are still served."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edgedistill.config import ServeConfig
from edgedistill.serve import create_app
from edgedistill.serve.fetch import FETCH_FAILED
from tests.test_serve import KEY, Server, frame, jpeg, roboflow_body

OTHER_KEY = "serve-other-key-9876543210"
TIGHT = {
    "api_keys": [KEY, OTHER_KEY],
    "header_timeout": 1.0,
    "body_timeout": 2.0,
    "first_frame_timeout": 1.0,
    "idle_timeout": 1.5,
    "max_connections": 32,
    "auth_failures_per_minute": 5,
    "url_timeout": 1.5,
}


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    from tests.test_export import confident_student

    return confident_student(tmp_path_factory.mktemp("student") / "student.pt")


@pytest.fixture
def server(student):
    with Server(student, ServeConfig(**TIGHT)) as running:
        yield running


def workflow(server: Server, body: object, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.http}/a/workflows/b", json=body, timeout=30, **kwargs)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def png_bomb(side: int) -> bytes:
    """A valid greyscale PNG of ``side``² black pixels, compressed to a few hundred KB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def close_code(url: str, messages: list[bytes | str] = (), timeout: float = 30) -> int:
    with connect(url) as ws:
        try:
            for message in messages:
                ws.send(message)
            while True:
                ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006


# 11. decompression bombs


def test_a_decompression_bomb_is_refused_from_its_header(server) -> None:
    bomb = png_bomb(12_000)  # 144 megapixels in about 140 KB
    assert len(bomb) < 400_000
    before = rss_mb()
    answer = workflow(server, roboflow_body(base64.b64encode(bomb).decode()))
    assert answer.status_code == 413 and "pixels" in answer.json()["message"]
    with connect(server.ws()) as ws:
        ws.send(frame(7, bomb))
        assert json.loads(ws.recv(timeout=30)) == {"frame_id": 7, "error": "image too large"}
    assert rss_mb() - before < 200


# 12. bodies are capped before parsing, keys checked before buffering


def raw_request(port: int, head: str, body: bytes = b"", wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_an_oversized_body_is_refused_before_it_is_read(server) -> None:
    head = (
        "POST /a/workflows/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 300000000\r\nConnection: close\r\n\r\n"
    )
    started = time.monotonic()
    answer = raw_request(server.port, head, b'{"api_key": "wrong", "inputs": ')
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5


def test_a_streamed_body_is_cut_at_the_cap(server) -> None:
    def chunks():
        yield b'{"api_key": "wrong", "inputs": {"image": {"type": "base64", "value": "'
        for _ in range(400):
            yield b"A" * 65536  # 26 MB in all, without a Content-Length

    before = rss_mb()
    answer = httpx.post(f"{server.http}/a/workflows/b", content=chunks(), timeout=30)
    assert answer.status_code == 413
    assert rss_mb() - before < 100


def test_a_wrong_key_in_the_query_is_refused_before_the_body(server) -> None:
    head = (
        "POST /a/workflows/b?api_key=wrong HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
        "Connection: close\r\n\r\n"
    )
    assert raw_request(server.port, head).startswith(b"HTTP/1.1 401")


def test_a_body_sent_too_slowly_gets_408(server) -> None:
    head = "POST /a/workflows/b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    answer = raw_request(server.port, head, b"{", wait=6)
    assert answer.startswith(b"HTTP/1.1 408")


# 13. slowloris


def test_half_open_connections_are_capped_and_timed_out(server) -> None:
    sockets = []
    for _ in range(80):  # more than max_connections
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        sockets.append(sock)
    try:
        assert httpx.get(f"{server.http}/health", timeout=5).status_code == 200
        time.sleep(1.6)  # past header_timeout
        closed = 0
        for sock in sockets:
            sock.settimeout(2)
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                pass  # still open
        assert closed == len(sockets)
        assert httpx.get(f"{server.http}/health", timeout=5).status_code == 200
    finally:
        for sock in sockets:
            sock.close()


# 14. image URLs never reach private addresses


class _Counting(SimpleHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        super().do_GET()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def image_server(tmp_path):
    (tmp_path / "frame.jpg").write_bytes(jpeg())
    _Counting.hits = 0
    handler = functools.partial(_Counting, directory=str(tmp_path))
    images = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    yield images.server_address[1]
    images.shutdown()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0.0.0.0", "localhost", "[::ffff:127.0.0.1]", "127.1", "0x7f.1"],
)
def test_image_urls_to_private_addresses_are_refused(student, image_server, host) -> None:
    settings = ServeConfig(**TIGHT, allow_url_images=True)
    with Server(student, settings) as server:
        url = f"http://{host}:{image_server}/frame.jpg"
        answer = workflow(server, roboflow_body(url, kind="url"))
        closed_port = workflow(server, roboflow_body(f"http://{host}:9/x.jpg", kind="url"))
        metadata = workflow(server, roboflow_body("http://169.254.169.254/", kind="url"))
    assert answer.status_code == closed_port.status_code == metadata.status_code == 400
    assert answer.json() == closed_port.json() == metadata.json() == {"message": FETCH_FAILED}
    assert _Counting.hits == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.jpg", "gopher://x"])
def test_other_url_schemes_are_400(student, url) -> None:
    with Server(student, ServeConfig(**TIGHT, allow_url_images=True)) as server:
        answer = workflow(server, roboflow_body(url, kind="url"))
    assert answer.status_code == 400


class _Hostile(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server hangs up
            self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if self.path == "/drip":
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.5)
        else:  # /huge: a gigabyte, without a Content-Length
            self.end_headers()
            block = b"\0" * 2**20
            for _ in range(1024):
                self.wfile.write(block)

    def log_message(self, *_: object) -> None:
        pass


def test_image_urls_are_streamed_with_a_cap_and_a_deadline(student) -> None:
    hostile = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    hostile.daemon_threads = True
    threading.Thread(target=hostile.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{hostile.server_address[1]}"
    settings = ServeConfig(**TIGHT, allow_url_images=True, allow_private_image_urls=True)
    try:
        with Server(student, settings) as server:
            before = rss_mb()
            huge = workflow(server, roboflow_body(f"{base}/huge", kind="url"))
            started = time.monotonic()
            drip = workflow(server, roboflow_body(f"{base}/drip", kind="url"))
            took = time.monotonic() - started
            grew = rss_mb() - before
    finally:
        hostile.shutdown()
    assert huge.status_code == 413 and grew < 150
    assert drip.status_code == 400 and took < 5


# 15. malformed requests are 4xx, malformed frames get close codes


@pytest.mark.parametrize(
    "body",
    [
        {"api_key": 12345, "inputs": {}},
        {"api_key": ["a"], "inputs": {}},
        {"api_key": "ключ-ключ-ключ-ключ", "inputs": {}},
        {"api_key": KEY, "inputs": [1, 2]},
        {"api_key": KEY, "inputs": {"image": {"type": "base64", "value": ""}}},
        {"api_key": KEY, "inputs": {"image": "x"}},
        [1, 2, 3],
        "a string",
    ],
)
def test_malformed_requests_are_4xx(server, body) -> None:
    answer = workflow(server, body)
    assert 400 <= answer.status_code < 500 and "message" in answer.json()


def test_deeply_nested_json_is_400(server) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    answer = httpx.post(f"{server.http}/a/workflows/b", content=nested, timeout=30)
    assert answer.status_code == 400


def test_malformed_websocket_messages_get_close_codes(server) -> None:
    assert close_code(server.ws(), [b"\x00\x01"]) == 1007
    assert close_code(server.ws(), ["a text message"]) == 1003
    assert close_code(server.ws("ключ"), []) == 1008
    with connect(server.ws()) as ws:
        ws.send(b"\x00\x00\x00\x05")  # an id and no image
        assert json.loads(ws.recv(timeout=30)) == {"frame_id": 5, "error": "undecodable image"}
        ws.send(frame(6, jpeg()))
        assert json.loads(ws.recv(timeout=30))["frame_id"] == 6


def test_a_client_leaving_mid_body_logs_nothing_alarming(server, caplog) -> None:
    head = "POST /a/workflows/b HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    with caplog.at_level(logging.WARNING):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(head.encode() + b'{"api_key": ')
        time.sleep(0.5)
        assert httpx.get(f"{server.http}/health", timeout=5).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# 16. idle WebSocket squatters


def test_idle_websockets_are_closed_and_keys_have_a_stream_limit(server) -> None:
    started = time.monotonic()
    assert close_code(server.ws()) == 1008  # no first frame within 1 s
    assert time.monotonic() - started < 5
    with connect(server.ws()) as one, connect(server.ws()) as two:
        assert close_code(server.ws()) == 1013  # a third stream for the same key
        with connect(server.ws(OTHER_KEY)) as other:
            other.send(frame(1, jpeg()))
            assert json.loads(other.recv(timeout=30))["frame_id"] == 1
        one.send(frame(2, jpeg()))
        assert json.loads(one.recv(timeout=30))["frame_id"] == 2
        time.sleep(1.8)  # idle past idle_timeout
        for ws in (one, two):
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.code == 1008


# 17. key guessing


def test_failed_keys_are_throttled_per_address(server) -> None:
    guesses = [roboflow_body("aGk=", key=f"guess-{i}") for i in range(7)]
    codes = [workflow(server, body).status_code for body in guesses]
    assert codes == [401] * 5 + [429] * 2
    assert workflow(server, roboflow_body("aGk=")).status_code == 429  # even the right key
    assert close_code(server.ws()) == 1008


def test_short_keys_are_warned_about_without_showing_them(student, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="edgedistill.serve"):
        create_app(student, ServeConfig(api_keys=["abc123"]))
    assert "shorter than 16 characters" in caplog.text and "abc123" not in caplog.text


def test_rate_window_counts_the_last_second_only() -> None:
    from edgedistill.serve.limits import RateWindow

    window = RateWindow(per_second=3)
    assert not any(window.hit(t) for t in (0.0, 0.1, 0.2))
    assert window.hit(0.3)  # a fourth within one second
    assert not window.hit(1.25)  # the first three have left the window
