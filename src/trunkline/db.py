"""Engine, sessions and the unit of work: one request (or CLI command, or job) = one transaction."""

from __future__ import annotations

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


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url_resolved
    kwargs: dict[str, Any] = {"echo": settings.db.echo}
    if is_sqlite(url):
        # Python's sqlite3 "legacy" transaction control issues BEGIN (deferred) just before the
        # first write, so reads never hold a snapshot that a later write must upgrade; writers
        # queue on the busy timeout instead of failing with SQLITE_BUSY.
        kwargs["connect_args"] = {"timeout": settings.db.busy_timeout_s}
        if ":memory:" not in url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_size"] = settings.db.pool_size
        kwargs["max_overflow"] = settings.db.pool_size
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _install_sqlite_pragmas(engine, settings.db.busy_timeout_s)
    return engine


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_s: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


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
