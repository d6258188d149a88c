"""On PostgreSQL, key reads that come before any other statement of their transaction run
without BEGIN/COMMIT, and the pool's pre-ping takes one trip (db/pg_driver.py). Everything
else keeps its transaction: writes stay atomic, locks stay held until the end, and a key read
after a write sees it.

Runs on the PostgreSQL of TRUNKLINE_TEST_DATABASE_URL, and on a private PostgreSQL cluster
(tests/support/private_pg.py) when the suite runs on SQLite: a property of the PostgreSQL driver
is checked in both suites, never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import Integer, column, select, table, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.private_pg import PrivateCluster, require_postgres_binaries
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, key_read, lock_keys, session_scope
from trunkline.db.hot import HotRead, hot_connection
from trunkline.db.locks import _advisory_key
from trunkline.migrate import upgrade
from trunkline.phone_number import repository as numbers

SCRATCH = "pg_driver_scratch"
_BY_ID = key_read(select(text("id")).select_from(text(SCRATCH)).where(text("id = :id")))


def on(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"db": settings.db.model_copy(update={"url": url})})


@pytest.fixture(scope="module")
async def pg_url(settings: Settings, backend: str) -> AsyncIterator[str]:
    """The suite's PostgreSQL (its schema migrated by the session's engine fixture), or on a
    SQLite suite a private cluster migrated here."""
    if backend == "postgresql":
        yield settings.database_url_resolved
        return
    cluster = PrivateCluster(require_postgres_binaries())
    try:
        await cluster.init()
        await cluster.start()
        engine = create_engine(on(settings, cluster.url))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        yield cluster.url
    finally:
        await cluster.cleanup()


@pytest.fixture
async def pg(pg_url: str, engine: AsyncEngine, settings: Settings) -> AsyncIterator[AsyncEngine]:
    # its own pool: the counts below see only this test (``engine`` migrated the suite's schema)
    engine = create_engine(on(settings, pg_url))
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SCRATCH} (id integer)"))
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {SCRATCH}"))
        await engine.dispose()


@pytest.fixture
def begins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every asyncpg transaction started (a BEGIN round trip), the pre-ping's included."""
    started: list[str] = []
    original = asyncpg.transaction.Transaction.start

    async def counting(self: asyncpg.transaction.Transaction) -> None:
        started.append("BEGIN")
        await original(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counting)
    return started


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {SCRATCH}"))).scalar_one())


async def test_a_request_that_only_key_reads_sends_no_begin(
    pg: AsyncEngine, begins: list[str]
) -> None:
    sm = create_sessionmaker(pg)
    for _ in range(3):  # later checkouts pre-ping the pooled connection
        async with session_scope(sm) as session:
            assert await numbers.get_by_number(session, uuid.uuid4(), "+14155550100") is None
            assert await numbers.get(session, uuid.uuid4(), uuid.uuid4()) is None
    assert begins == []
    async with session_scope(sm) as session:  # an unmarked read keeps its transaction
        await session.execute(select(text("1")))
    assert begins == ["BEGIN"]


async def test_a_write_after_key_reads_is_still_atomic(pg: AsyncEngine) -> None:
    sm = create_sessionmaker(pg)
    with pytest.raises(RuntimeError):
        async with session_scope(sm) as session:
            await session.execute(_BY_ID, {"id": 1})
            await session.execute(text(f"INSERT INTO {SCRATCH} (id) VALUES (1)"))
            await session.execute(text(f"INSERT INTO {SCRATCH} (id) VALUES (2)"))
            raise RuntimeError("the request fails after its writes")
    assert await _count(pg) == 0


async def test_a_key_read_after_a_write_sees_it(pg: AsyncEngine) -> None:
    sm = create_sessionmaker(pg)
    async with session_scope(sm) as session:
        await session.execute(text(f"INSERT INTO {SCRATCH} (id) VALUES (7)"))
        found = (await session.execute(_BY_ID, {"id": 7})).scalar_one_or_none()
        assert found == 7  # inside the write's transaction, not a fresh autocommit one
        await session.rollback()
    assert await _count(pg) == 0


async def test_a_lock_after_a_key_read_is_held_until_the_transaction_ends(
    pg: AsyncEngine,
) -> None:
    sm = create_sessionmaker(pg)
    key = f"pg-driver-{uuid.uuid4()}"
    probe = text("SELECT pg_try_advisory_lock(:k)")

    async def free() -> bool:
        async with pg.connect() as other:
            got = bool((await other.execute(probe, {"k": _advisory_key(key)})).scalar_one())
            if got:
                await other.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(key)}
                )
            return got

    async with session_scope(sm) as session:
        await session.execute(_BY_ID, {"id": 1})
        await lock_keys(session, [key])
        await session.execute(_BY_ID, {"id": 1})
        assert not await free()
    assert await free()


async def test_an_autocommit_connection_stays_in_autocommit(pg: AsyncEngine) -> None:
    # VACUUM cannot run inside a transaction: the listener must not open one for it.
    async with pg.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"VACUUM {SCRATCH}"))
        assert (await conn.execute(_BY_ID, {"id": 1})).scalar_one_or_none() is None
        await conn.execute(text(f"VACUUM {SCRATCH}"))  # raises inside a transaction block
        raw = await conn.get_raw_connection()
        assert raw.dbapi_connection.autocommit


# The key-read lane's checkouts (db/hot.py) skip the pre-ping: a dead pooled connection then
# fails the lane's first statement, is discarded, and the read runs through Core instead.
_HOT = HotRead(select(column("id", Integer)).select_from(table(SCRATCH)).where(text("id = 1")))


async def test_the_lanes_checkout_sends_no_ping(
    pg: AsyncEngine, pg_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinged: list[object] = []
    original = PGDialect_asyncpg.do_ping

    def counting(self: PGDialect_asyncpg, dbapi_connection: object) -> bool:
        pinged.append(dbapi_connection)
        return original(self, dbapi_connection)

    # Counted below pg_driver's wrapper (installed by create_engine, after this).
    monkeypatch.setattr(PGDialect_asyncpg, "do_ping", counting)
    engine = create_engine(on(settings, pg_url))
    try:
        for _ in range(3):
            async with hot_connection(engine) as conn:
                assert await conn.fetch(_HOT, {}) == []
                assert conn.pooled is not None  # read on the driver, not through Core
        assert pinged == []
        async with engine.connect() as core:  # any other checkout still pings
            await core.execute(text("SELECT 1"))
        assert len(pinged) == 1
    finally:
        await engine.dispose()


async def test_a_connection_that_died_in_the_pool_costs_the_lane_nothing(
    pg: AsyncEngine, pg_url: str, settings: Settings
) -> None:
    async with pg.begin() as conn:
        await conn.execute(text(f"INSERT INTO {SCRATCH} (id) VALUES (1)"))
    engine = create_engine(on(settings, pg_url))  # its pool: the one connection below
    try:
        async with hot_connection(engine) as conn:
            assert [tuple(r) for r in await conn.fetch(_HOT, {})] == [(1,)]
            assert conn.pooled is not None  # read on the driver, not through Core
            pid = conn.pooled.driver_connection.get_server_pid()
        async with pg.connect() as admin:  # killed behind the pool's back
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        async with hot_connection(engine) as conn:
            assert conn.pooled.driver_connection.get_server_pid() == pid
            assert [tuple(r) for r in await conn.fetch(_HOT, {})] == [(1,)]
            assert conn.pooled is None  # discarded
        async with hot_connection(engine) as conn:
            assert [tuple(r) for r in await conn.fetch(_HOT, {})] == [(1,)]
            assert conn.pooled.driver_connection.get_server_pid() != pid
    finally:
        await engine.dispose()
