"""``Idempotency-Key`` on every POST under /api/v1, as a pure-ASGI middleware.

A client that did not get an answer (timeout, server killed after the commit) retries with the
same key and gets the first answer — status and body, with ``Idempotent-Replayed: true`` —
instead of a second create or a 409 for its own first attempt. Keys are per workspace and kept
24 h (rules.KEY_TTL). The same key with another request is 422 ``idempotency_key_reused``; while
the first request is still being served, another with the key gets 409
``idempotency_key_in_progress`` (only one ever acts: the claim is a primary-key insert).

The claim commits before the request is served and the answer is stored before the client
gets it: a server that dies in between leaves the key "in progress" until it expires, which a
retry sees as 409, never as a second create. Server errors (5xx) are not stored: the key is
released so a retry can act.

The workspace comes from the bearer token; a request without a valid one passes through, and
the app answers it 401 as usual. Runs inside RequestLimits, so the body it reads is ≤ 1 MiB.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response

from trunkline.db import session_scope
from trunkline.envelope import error_response
from trunkline.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    ServiceUnavailable,
    TrunklineError,
)
from trunkline.idempotency import repository as repo
from trunkline.idempotency.rules import (
    KEY_TTL,
    Action,
    decide,
    request_hash,
    should_store,
    valid_key,
)
from trunkline.kit.clock import utcnow
from trunkline.outage import RETRY_AFTER_S, is_database_unavailable, outage_log
from trunkline.workspace.service import workspace_service

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")


@dataclass
class _Captured:
    status: int = 0
    content_type: str | None = None
    body: list[bytes] = field(default_factory=list)
    stored: bool = False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), messages


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        if (
            key is None
            or scope["method"] != "POST"
            or not str(scope.get("path", "")).startswith("/api/v1/")
        ):
            await self.app(scope, receive, send)
            return
        if not valid_key(key):
            await error_response(
                422,
                "validation_failed",
                "Validation failed: Idempotency-Key: 1 to 255 visible ASCII characters.",
                field="Idempotency-Key",
            )(scope, receive, send)
            return
        body, messages = await _read_body(receive)

        async def replay_receive() -> Message:
            return messages.pop(0) if messages else await receive()

        try:
            await self._handle(scope, replay_receive, send, key, body)
        except TrunklineError as exc:
            headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status in (409, 503) else None
            await error_response(exc.status, exc.code, exc.message, data=exc.data, headers=headers)(
                scope, receive, send
            )

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, key: str, body: bytes
    ) -> None:
        sessionmaker: async_sessionmaker[AsyncSession] = scope["app"].state.trunkline.sessionmaker
        token = _bearer(scope)
        workspace_id = await self._workspace(sessionmaker, token) if token else None
        if workspace_id is None:  # no valid token: the app answers 401
            await self.app(scope, receive, send)
            return
        digest = request_hash(
            "POST",
            str(scope.get("path", "")),
            bytes(scope.get("query_string", b"")).decode("latin-1"),
            body,
        )
        action, answer = await self._claim(sessionmaker, workspace_id, key, digest)
        if action is Action.replay:
            assert answer is not None
            await answer(scope, receive, send)
            return
        if action is Action.reused:
            raise IdempotencyKeyReused()
        if action is Action.in_progress:
            raise IdempotencyKeyInProgress()

        captured = _Captured()
        held: list[Message] = []

        async def storing_send(message: Message) -> None:
            # Hold the answer until it is stored: a client that got it and retries at once must
            # find it replayable, not "in progress". Answers here are small JSON documents.
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        captured.content_type = bytes(value).decode("latin-1")
                held.append(message)
                return
            if message["type"] == "http.response.body":
                captured.body.append(bytes(message.get("body", b"")))
                held.append(message)
                if message.get("more_body", False):
                    return
                await self._finish(sessionmaker, workspace_id, key, captured)
                captured.stored = True
                for pending in held:
                    await send(pending)
                held.clear()
                return
            await send(message)

        try:
            await self.app(scope, receive, storing_send)
        except BaseException:
            if not captured.stored:
                await self._finish(sessionmaker, workspace_id, key, None)
            raise
        if not captured.stored:  # the app ended without a complete answer
            await self._finish(sessionmaker, workspace_id, key, None)

    @staticmethod
    async def _workspace(
        sessionmaker: async_sessionmaker[AsyncSession], token: str
    ) -> uuid.UUID | None:
        try:
            async with session_scope(sessionmaker) as session:
                ctx = await workspace_service.authenticate(session, token)
        except TrunklineError:
            return None
        except Exception as exc:
            if is_database_unavailable(exc):
                outage_log.report("idempotency (auth)", exc)
                raise ServiceUnavailable("The database is unavailable; try again shortly.") from exc
            raise
        return ctx.workspace_id

    @staticmethod
    async def _claim(
        sessionmaker: async_sessionmaker[AsyncSession],
        workspace_id: uuid.UUID,
        key: str,
        digest: str,
    ) -> tuple[Action, Response | None]:
        for _ in range(2):  # a second round after losing an insert race reads the winner's row
            now = utcnow()
            try:
                async with session_scope(sessionmaker) as session:
                    found = await repo.get(session, workspace_id, key)
                    action = decide(found.key if found else None, digest, now)
                    if action is Action.replay:
                        assert found is not None and found.key.status_code is not None
                        return action, Response(
                            (found.body or "").encode(),
                            status_code=found.key.status_code,
                            media_type=found.content_type,
                            headers={REPLAYED[0].decode(): REPLAYED[1].decode()},
                        )
                    if action is not Action.act:
                        return action, None
                    # Expired keys of this workspace go (this one included) before the claim.
                    await repo.purge_expired(session, workspace_id, now - KEY_TTL)
                    await repo.claim(session, workspace_id, key, digest, now)
                return Action.act, None
            except sa_exc.IntegrityError:
                continue  # a concurrent request claimed the key first
            except Exception as exc:
                if is_database_unavailable(exc):
                    outage_log.report("idempotency (claim)", exc)
                    raise ServiceUnavailable(
                        "The database is unavailable; try again shortly."
                    ) from exc
                raise
        return Action.in_progress, None

    @staticmethod
    async def _finish(
        sessionmaker: async_sessionmaker[AsyncSession],
        workspace_id: uuid.UUID,
        key: str,
        captured: _Captured | None,
    ) -> None:
        """Store the answer, or release the key when there is none worth replaying."""
        try:
            async with session_scope(sessionmaker) as session:
                if captured is not None and captured.status and should_store(captured.status):
                    await repo.complete(
                        session,
                        workspace_id,
                        key,
                        captured.status,
                        captured.content_type,
                        b"".join(captured.body).decode("utf-8", "replace"),
                    )
                else:
                    await repo.release(session, workspace_id, key)
        except Exception as exc:
            # The answer was already sent; the key stays "in progress" until it expires, which a
            # retry sees as 409, never as a second create.
            if not is_database_unavailable(exc):
                log.exception("could not store the answer for an idempotency key")
            else:
                outage_log.report("idempotency (store)", exc)
