"""Fetching an image URL for a client without becoming a proxy into the private network.

The host is resolved once; every address it resolves to must be public (no
loopback, private, link-local, multicast, reserved or unspecified address, in
any spelling: ``2130706433``, ``0.0.0.0``, ``localhost``, ``[::ffff:127.0.0.1]``).
The connection then goes to that checked address (Host header and TLS server
name stay the URL's), so DNS cannot answer differently a moment later. No
redirects; the body is streamed up to a byte cap; one deadline covers
everything. Every failure reads the same to the client, so the answer says
nothing about which ports or hosts exist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

FETCH_FAILED = "could not fetch the image URL"


class FetchError(Exception):
    """The URL gave no usable image; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int = 400, message: str = FETCH_FAILED) -> None:
        super().__init__(message)
        self.status = status


async def fetch_image(url: str, max_bytes: int, timeout: float, allow_private: bool) -> bytes:
    """The bytes at ``url``; FetchError (400 uniform, 413 too large) for anything else."""
    try:
        async with asyncio.timeout(timeout):
            return await _fetch(url, max_bytes, allow_private)
    except (TimeoutError, httpx.HTTPError, OSError, ValueError, UnicodeError):
        raise FetchError() from None


async def _fetch(url: str, max_bytes: int, allow_private: bool) -> bytes:
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError(400, "image URLs must be http:// or https://")
    port = target.port or (443 if target.scheme == "https" else 80)
    address = await _public_address(target.host, port, allow_private)
    pinned = target.copy_with(host=address)
    headers = {"Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    async with (
        httpx.AsyncClient(follow_redirects=False, trust_env=False) as client,
        client.stream("GET", pinned, headers=headers, extensions=extensions) as response,
    ):
        if response.status_code != 200:
            raise FetchError()
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(413, "image too large")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > max_bytes:
                raise FetchError(413, "image too large")
    return bytes(data)


async def _public_address(host: str, port: int, allow_private: bool) -> str:
    """One address of ``host``, after checking that all of them are public."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    # An IP socket address starts with its host as a string (typeshed allows any family).
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise FetchError()
    if not allow_private and not all(is_public(a) for a in addresses):
        raise FetchError()
    return str(addresses[0])


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or address.teredo
        if isinstance(embedded, tuple):
            embedded = embedded[1]  # teredo: (server, client)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )
