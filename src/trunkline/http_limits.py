"""Request limits every request meets before any work (docs/api-decisions.md §6.9).

A pure-ASGI middleware (not ``BaseHTTPMiddleware``, which would buffer and spawn a task per
request): it refuses a URL (path + query) over 8 KiB with 414 and a body over 1 MiB with 413,
both in the error envelope, before routing, authentication or any database work.

The body is counted while it is read, so a lying ``Content-Length``, or none at all (chunked
transfer coding), cannot make the server hold more than the limit: the middleware reads the body
itself (up to the limit) before the app runs and hands the app the buffered messages. A declared
``Content-Length`` over the limit is refused without reading a byte of the body.

The HTTP server must let a long request line reach the app, or it resets the connection before
any 414 can be sent: h11 gives up on an incomplete event over 16 KiB by default, so serve with
``H11_MAX_INCOMPLETE_EVENT_SIZE`` (see ``uvicorn_limits``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from trunkline.envelope import error_payload

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
MAX_URL_BYTES = 8 * 1024
# Large enough for a request line well past MAX_URL_BYTES plus ordinary headers, so the app can
# answer 414 itself; small enough that one connection cannot make h11 buffer much (h11 answers
# its own 400 beyond this).
H11_MAX_INCOMPLETE_EVENT_SIZE = 512 * 1024


def uvicorn_limits(loop: str = "asyncio") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``/``uvicorn.run``: the event loop
    (``ServerSettings.loop``), the HTTP parser, and the limit the middleware relies on.

    httptools is not used although it costs less than h11: uvicorn answers a malformed
    pipelined request with its 400 *before* the response of the request ahead of it on the
    connection (tests/api/test_request_limits.py,
    ``test_under_declared_length_cannot_smuggle_more``).
    """
    return {
        "loop": loop,
        "http": "h11",
        "h11_max_incomplete_event_size": H11_MAX_INCOMPLETE_EVENT_SIZE,
    }


def _envelope(code: str, message: str, extra: dict[str, Any]) -> bytes:
    # The envelope's own body builder; serialized here because this layer runs outside FastAPI.
    body = error_payload(code, message, data=extra)
    return json.dumps(body, separators=(",", ":")).encode()


async def _send_error(
    send: Send, status: int, code: str, message: str, extra: dict[str, Any], *, close: bool
) -> None:
    body = _envelope(code, message, extra)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        # The unread rest of the body makes the connection unusable (RFC 9110 §15.5.14: the
        # server may close it to stop the client sending).
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def url_length(scope: Scope) -> int:
    """Bytes of the request target as sent: the raw path plus ``?query`` when present."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string") or b""
    return len(raw_path) + (len(query) + 1 if query else 0)


def declared_length(scope: Scope) -> int | None:
    """The ``Content-Length`` header as an int; None when absent or not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _may_have_body(scope: Scope) -> bool:
    # RFC 9112 §6.3: a request has a body only if it carries Content-Length or Transfer-Encoding.
    return any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])


class RequestLimits:
    """Refuse oversized URLs (414) and bodies (413) before the wrapped app sees the request."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES, max_url_bytes: int = MAX_URL_BYTES
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_url_bytes = max_url_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if url_length(scope) > self.max_url_bytes:
            await _send_error(
                send,
                414,
                "uri_too_long",
                f"The request URL is longer than {self.max_url_bytes} bytes.",
                {"limit": self.max_url_bytes},
                close=False,
            )
            return
        if not _may_have_body(scope):
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away while sending: let the app see the disconnect.
                buffered.append(message)
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._too_large(send)
                return
            buffered.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _send_error(
            send,
            413,
            "payload_too_large",
            f"The request body is larger than {self.max_body_bytes} bytes.",
            {"limit": self.max_body_bytes},
            close=True,
        )
