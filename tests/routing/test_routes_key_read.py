"""On SQLite, an INVITE dialled in E.164 reads its routes on the event loop's thread (a key
read, binding/routes.py): no round trip to the driver's worker thread per INVITE. A national
form's suffix search and an INVITE through a registration may scan, so they stay on the worker.
(The plans themselves are checked for every key read by tests/db/test_key_read_plans.py.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.binding.routes import call_sources
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.kit.crypto import generate_key
from trunkline.migrate import upgrade


@pytest.fixture
async def sqlite_sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}",
        encryption_keys=generate_key(),
        _env_file=None,
    )
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_an_e164_invite_reads_its_routes_without_a_worker_trip(
    sqlite_sessions: async_sessionmaker[AsyncSession], worker_trips: list[Any]
) -> None:
    async with session_scope(sqlite_sessions) as session:
        await session.connection()  # the pool's connect is a trip of its own
        worker_trips.clear()
        found = await call_sources(session, numbers=["+14155550100"], names=["127.0.0.1"])

    assert worker_trips == []
    assert (found.routes, found.names_are_gateways) == ([], False)


@pytest.mark.parametrize(
    "forms",
    [
        {"national_suffix": "4155550100"},  # LIKE '%…' over the gateway's numbers
        {"source_ids": [uuid.uuid4()]},  # the registration's OR over the trunk row
    ],
    ids=["national form", "via registration"],
)
async def test_reads_that_may_scan_stay_on_the_worker(
    sqlite_sessions: async_sessionmaker[AsyncSession],
    worker_trips: list[Any],
    forms: dict[str, Any],
) -> None:
    async with session_scope(sqlite_sessions) as session:
        await session.connection()
        worker_trips.clear()
        await call_sources(session, numbers=["+14155550100"], names=["127.0.0.1"], **forms)

    assert len(worker_trips) == 1
