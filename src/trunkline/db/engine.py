"""Engine, sessions and the unit of work: one request (or CLI command, or job) = one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from trunkline.config import Settings
from trunkline.db import json_columns, pg_driver
from trunkline.db.sqlite_driver import mark_key_reads, one_trip_dbapi
from trunkline.db.write_gate import SqliteWriteGateSession
from trunkline.kit.private_files import make_private_sqlite

PG_POOL_SIZE = 10
# Each SQLite connection keeps its own page cache (2 MB), and SQLite takes one writer at a time,
# so more connections buy memory, not throughput: 5 (+5 overflow) instead of 10 (+10) took the
# server's RSS with 100,000 numbers after `make bench` from 157.1 MB (peak 165.9) to 141.7 MB
# (peak 144.5) (bench/README.md, 2026-12-01 fifth session). A smaller cache per connection
# saved as much but cost the routing read ~10 % CPU (its b-tree interior pages no longer fit).
SQLITE_POOL_SIZE = 5


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url_resolved
    # hide_parameters: a driver error's text (logged or re-raised) never carries row values.
    kwargs: dict[str, Any] = {"echo": settings.db.echo, "hide_parameters": True}
    kwargs["json_deserializer"] = json_columns.loads  # json.loads, faster (db/json_columns.py)
    if is_sqlite(url):
        # Python's sqlite3 "legacy" transaction control issues BEGIN (deferred) just before the
        # first write, so reads never hold a snapshot that a later write must upgrade; writers
        # queue on the busy timeout instead of failing with SQLITE_BUSY.
        # check_same_thread=False: see db/sqlite_driver.py (writes inside a write transaction).
        kwargs["connect_args"] = {
            "timeout": settings.db.busy_timeout_s,
            "check_same_thread": False,
        }
        if url.startswith("sqlite+aiosqlite"):
            kwargs["module"] = one_trip_dbapi()  # one worker-thread trip per statement
        if ":memory:" in url:
            return _with_sqlite_pragmas(create_async_engine(url, **kwargs), settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        make_private_sqlite(url)  # the file and its WAL/SHM 0600 (kit/private_files.py)
    else:
        kwargs["pool_pre_ping"] = True
        # A server that accepts TCP but never answers must not hold a request for asyncpg's
        # default 60 s.
        kwargs["connect_args"] = {"timeout": settings.db.connect_timeout_s}
    pool_size = settings.db.pool_size or (SQLITE_POOL_SIZE if is_sqlite(url) else PG_POOL_SIZE)
    kwargs["pool_size"] = pool_size
    kwargs["max_overflow"] = pool_size
    kwargs["pool_timeout"] = settings.db.pool_timeout_s
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        return _with_sqlite_pragmas(engine, settings)
    if engine.dialect.driver == "asyncpg":
        pg_driver.install(engine)  # key reads without BEGIN/COMMIT, one-trip pre-ping
    return engine


def _with_sqlite_pragmas(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    busy_timeout_s = settings.db.busy_timeout_s
    if engine.dialect.driver == "aiosqlite":
        # Statements marked KEY_READ run on the loop's thread (db/sqlite_driver.py).
        event.listen(engine.sync_engine, "before_cursor_execute", mark_key_reads)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    if engine.dialect.name != "sqlite":
        return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    gate = asyncio.Lock()
    gated = type("GatedSession", (SqliteWriteGateSession,), {"_gate": gate})
    return async_sessionmaker(engine, class_=gated, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on any exception. Services never commit themselves."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
