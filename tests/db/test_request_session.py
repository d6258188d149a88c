"""``deps.get_session``, the request's session: commit on success, roll back on an error, and a
cancelled request (the client went away mid-statement) still rolls back and returns its
connection, though the session's own shielded ``async with`` exit is not used."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from trunkline.db import session_scope
from trunkline.deps import AppState, SessionDep
from trunkline.kit.clock import utcnow
from trunkline.models import Workspace


def _app(sessionmaker: async_sessionmaker[AsyncSession], started: asyncio.Event) -> FastAPI:
    app = FastAPI()
    state: Any = AppState(
        settings=None,  # type: ignore[arg-type]
        engine=None,  # type: ignore[arg-type]
        sessionmaker=sessionmaker,
        secret_box=None,  # type: ignore[arg-type]
        monitor=None,  # type: ignore[arg-type]
    )
    app.state.trunkline = state

    async def write(session: AsyncSession, slug: str) -> None:
        values = {"id": uuid.uuid4(), "slug": slug, "created_at": utcnow()}
        await session.execute(insert(Workspace), values)

    @app.post("/write/{slug}")
    async def write_ok(slug: str, session: SessionDep) -> dict[str, str]:
        await write(session, slug)
        return {"slug": slug}

    @app.post("/fail/{slug}")
    async def write_fail(slug: str, session: SessionDep) -> dict[str, str]:
        await write(session, slug)
        raise RuntimeError("boom")

    @app.post("/hold/{slug}")
    async def write_hold(slug: str, session: SessionDep) -> dict[str, str]:
        await write(session, slug)
        started.set()
        await asyncio.Event().wait()  # until the request is cancelled
        raise AssertionError("not reached")

    return app


@pytest.fixture
async def client(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.Event]]:
    started = asyncio.Event()
    transport = httpx.ASGITransport(app=_app(sessionmaker, started), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http, started


async def _exists(sessionmaker: async_sessionmaker[AsyncSession], slug: str) -> bool:
    async with session_scope(sessionmaker) as session:
        found = await session.execute(select(Workspace.id).where(Workspace.slug == slug))
        return found.first() is not None


async def test_a_request_that_succeeds_commits(
    client: tuple[httpx.AsyncClient, asyncio.Event],
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    slug = f"ok-{uuid.uuid4().hex[:12]}"

    assert (await client[0].post(f"/write/{slug}")).status_code == 200

    assert await _exists(sessionmaker, slug)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_request_that_fails_rolls_back(
    client: tuple[httpx.AsyncClient, asyncio.Event],
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    slug = f"fail-{uuid.uuid4().hex[:12]}"

    assert (await client[0].post(f"/fail/{slug}")).status_code == 500

    assert not await _exists(sessionmaker, slug)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_cancelled_request_rolls_back_and_returns_its_connection(
    client: tuple[httpx.AsyncClient, asyncio.Event],
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    http, started = client
    slug = f"gone-{uuid.uuid4().hex[:12]}"
    request = asyncio.create_task(http.post(f"/hold/{slug}"))
    await asyncio.wait_for(started.wait(), 10)

    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request

    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert not await _exists(sessionmaker, slug)
    # The write it held (SQLite: the in-process write gate, and the file's write lock) is free:
    # the next writer goes ahead at once.
    after = f"after-{uuid.uuid4().hex[:12]}"
    assert (await asyncio.wait_for(http.post(f"/write/{after}"), 10)).status_code == 200
    assert await _exists(sessionmaker, after)
