"""The open-loop load generator against a server that closes every connection after answering
(what uvicorn does to a keep-alive connection left idle past its timeout): an idempotent request
on such a reused connection is sent again on a new one, anything else is an error."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from bench.loadgen import is_idempotent, open_loop

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


@pytest.fixture
async def closing_server() -> AsyncIterator[int]:
    """Answers one request per connection, then closes it without a ``Connection: close``."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(OK)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_a_get_on_a_closed_keep_alive_connection_is_resent(closing_server: int) -> None:
    get = b"GET /x HTTP/1.1\r\nhost: t\r\n\r\n"
    result = await open_loop("127.0.0.1", closing_server, itertools.repeat(get), 100, 0.2)
    assert result["socket_errors"] == 0
    assert result["requests"] == 20
    assert result["resent"] >= 1  # the 8 pre-opened connections are each used once, then stale


async def test_a_post_is_never_resent(closing_server: int) -> None:
    post = b"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n\r\n"
    result = await open_loop("127.0.0.1", closing_server, itertools.repeat(post), 100, 0.2)
    assert result["resent"] == 0
    assert result["socket_errors"] >= 1
    assert result["requests"] + result["socket_errors"] == 20


async def test_a_get_whose_answer_breaks_off_is_an_error_not_resent() -> None:
    """Only a connection closed before any answer is stale; one that broke mid-answer means
    the server failed the request."""

    async def half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(OK[:20])
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(half_answer, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        get = b"GET /x HTTP/1.1\r\nhost: t\r\n\r\n"
        result = await open_loop("127.0.0.1", port, itertools.repeat(get), 100, 0.1)
    assert result["resent"] == 0
    assert result["socket_errors"] == 10 and result["requests"] == 0


def test_idempotent_methods() -> None:
    assert is_idempotent(b"GET / HTTP/1.1\r\n")
    assert is_idempotent(b"DELETE /a HTTP/1.1\r\n")
    assert not is_idempotent(b"POST / HTTP/1.1\r\n")
    assert not is_idempotent(b"PATCH / HTTP/1.1\r\n")
