"""Request limits before any work (docs/api-decisions.md §6): 413 over 1 MiB of body,
414 over 8 KiB of URL.

The oversized uploads are written on a raw socket so the test controls the framing (declared
Content-Length, chunked, or a Content-Length that under-declares) and can read the answer while
still sending, as a real client streaming a large file would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.api import Api, error_body
from trunkline.http_limits import MAX_BODY_BYTES, MAX_URL_BYTES, declared_length, url_length

TOO_LARGE = error_body(
    "payload_too_large",
    f"The request body is larger than {MAX_BODY_BYTES} bytes.",
    limit=MAX_BODY_BYTES,
)
URI_TOO_LONG = error_body(
    "uri_too_long", f"The request URL is longer than {MAX_URL_BYTES} bytes.", limit=MAX_URL_BYTES
)
HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"x" * 65536


def rss_kib() -> int:
    """Resident set size of this process, which also serves the app (tests/support/server.py)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def raw_upload(server: str, head: str, *, chunked: bool) -> tuple[int, dict[str, Any], int]:
    """Send ``head`` then up to 100 MB of body while reading the answer.

    Returns (status, JSON body, bytes of body written before the server answered and closed).
    """
    url = urlsplit(server)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    sent = 0

    async def pump() -> None:
        nonlocal sent
        writer.write(head.encode())
        while sent < HUNDRED_MB:
            data = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
            writer.write(data)
            await writer.drain()
            sent += len(CHUNK)
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    pumping = asyncio.create_task(pump())
    try:
        raw = await asyncio.wait_for(read_response(reader), timeout=30)
    finally:
        pumping.cancel()
        # The server closes mid-upload, so the writer may see a reset: that is the point.
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await pumping
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status, body = raw
    return status, json.loads(body), sent


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response framed by Content-Length, read without waiting for the close."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    body = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split(" ", 2)[1]), body


class TestBodyLimit:
    @pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
    async def test_100_mb_upload_without_token_is_refused_before_auth(
        self, server: str, chunked: bool
    ) -> None:
        framing = (
            "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {HUNDRED_MB}\r\n"
        )
        head = (
            "POST /api/v1/agents HTTP/1.1\r\nHost: test\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n"
        )
        before = rss_kib()
        started = time.perf_counter()

        status, body, sent = await raw_upload(server, head, chunked=chunked)

        elapsed_ms = (time.perf_counter() - started) * 1000
        growth_kib = rss_kib() - before
        print(
            f"100 MB {'chunked' if chunked else 'declared'} upload refused in "
            f"{elapsed_ms:.1f} ms, RSS growth {growth_kib} KiB, body bytes sent {sent}"
        )
        assert (status, body) == (413, TOO_LARGE)
        # Sanity bounds only (generous): the server stopped reading long before 100 MB.
        assert sent < HUNDRED_MB
        assert growth_kib < 50 * 1024

    async def test_body_at_the_limit_reaches_the_app(self, http: httpx.AsyncClient) -> None:
        r = await http.post(
            "/api/v1/agents",
            content=b'{"name": "Bot"}'.ljust(MAX_BODY_BYTES),
            headers={"Content-Type": "application/json"},
        )

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "MISSING_AUTH_TOKEN"

    async def test_one_byte_over_is_413_even_with_a_token(self, api: Api) -> None:
        r = await api.post(
            "/agents",
            content=b" " * (MAX_BODY_BYTES + 1),
            headers={"Content-Type": "application/json"},
        )

        assert r.status_code == 413
        assert r.json() == TOO_LARGE

    async def test_under_declared_length_cannot_smuggle_more(self, server: str) -> None:
        # RFC 9112 §6.2: Content-Length frames the body; the extra bytes are a next "request" the
        # server refuses as malformed, never body bytes counted against nothing.
        url = urlsplit(server)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(
            b"POST /api/v1/agents HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}" + b"x" * 4096
        )
        await writer.drain()
        status, _ = await asyncio.wait_for(read_response(reader), timeout=10)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

        assert status == 401

    async def test_small_body_keeps_working(self, api: Api) -> None:
        r = await api.post("/agents", {"name": "Small"})

        assert r.status_code == 201


class TestUrlLimit:
    async def test_200_kb_query_string_is_414(self, server: str) -> None:
        # Raw socket: httpx itself refuses URL components over 64 KiB.
        url = urlsplit(server)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(b"GET /api/v1/agents?q=" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        await writer.drain()
        status, body = await asyncio.wait_for(read_response(reader), timeout=10)
        writer.close()
        await writer.wait_closed()

        assert status == 414
        assert json.loads(body) == URI_TOO_LONG

    async def test_connection_stays_usable_after_414(self, server: str) -> None:
        async with httpx.AsyncClient(base_url=server) as client:
            r = await client.get("/healthz", params={"q": "a" * 10_000})
            again = await client.get("/healthz")

        assert r.status_code == 414
        assert again.status_code == 200

    async def test_url_at_the_limit_is_served(self, http: httpx.AsyncClient) -> None:
        path = "/api/v1/agents?q="
        r = await http.get(path + "a" * (MAX_URL_BYTES - len(path)))

        assert r.status_code == 401


class TestPureHelpers:
    @pytest.mark.parametrize(
        ("scope", "expected"),
        [
            ({"raw_path": b"/a", "query_string": b""}, 2),
            ({"raw_path": b"/a", "query_string": b"x=1"}, 6),
            ({"path": "/abc", "query_string": b""}, 4),
            ({"raw_path": b"/%2e%2e", "path": "/..", "query_string": b"q"}, 9),
        ],
    )
    def test_url_length(self, scope: dict[str, Any], expected: int) -> None:
        assert url_length(scope) == expected

    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ([], None),
            ([(b"content-length", b"12")], 12),
            ([(b"content-length", b"nope")], None),
            ([(b"transfer-encoding", b"chunked")], None),
        ],
    )
    def test_declared_length(
        self, headers: list[tuple[bytes, bytes]], expected: int | None
    ) -> None:
        assert declared_length({"headers": headers}) == expected
