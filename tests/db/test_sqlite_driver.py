"""The one-trip SQLite cursor behaves like SQLAlchemy's aiosqlite cursor, in one worker trip;
the write lock of a check-then-write rides on its next statement; key reads and commits with
nothing to commit make no trip at all."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, key_read
from trunkline.kit.crypto import generate_key

metadata = MetaData()
item = Table(
    "item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
)


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}",
        encryption_keys=generate_key(),
        _env_file=None,
    )
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_engine_uses_the_one_trip_cursor(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert type(raw.dbapi_connection.cursor()).__name__ == "OneTripCursor"


async def test_a_select_is_one_worker_trip(
    sqlite_engine: AsyncEngine, worker_trips: list[Any]
) -> None:
    async with sqlite_engine.begin() as conn:
        await conn.execute(insert(item), [{"name": "a"}, {"name": "b"}])
        worker_trips.clear()
        rows = (await conn.execute(select(item.c.id, item.c.name).order_by(item.c.id))).all()
        assert len(worker_trips) == 1
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]


async def test_rows_keys_and_partial_fetches(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as conn:
        await conn.execute(insert(item), [{"name": n} for n in "abcde"])
        result = await conn.execute(select(item).order_by(item.c.id))
        assert list(result.keys()) == ["id", "name"]
        assert result.fetchone() == (1, "a")
        assert result.fetchmany(2) == [(2, "b"), (3, "c")]
        assert result.fetchall() == [(4, "d"), (5, "e")]
        assert (await conn.execute(select(item).where(item.c.name == "zz"))).first() is None


async def test_rowcount_lastrowid_and_executemany(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as conn:
        many = await conn.execute(insert(item), [{"name": f"n{i}"} for i in range(10)])
        assert many.rowcount == 10
        one = await conn.execute(insert(item).values(name="single"))
        assert one.inserted_primary_key == (11,)
        changed = await conn.execute(
            update(item).where(item.c.id <= 3).values(name=item.c.name + "!")
        )
        assert changed.rowcount == 3
        ignored = await conn.execute(text("INSERT OR IGNORE INTO item (name) VALUES ('n5')"))
        assert ignored.rowcount == 0


async def test_errors_are_sqlalchemys_and_the_connection_stays_usable(
    sqlite_engine: AsyncEngine,
) -> None:
    async with sqlite_engine.connect() as conn:
        await conn.execute(insert(item).values(name="dup"))
        with pytest.raises(IntegrityError):
            await conn.execute(insert(item).values(name="dup"))
        with pytest.raises(OperationalError):
            await conn.execute(text("SELECT nope FROM item"))
        assert (await conn.execute(select(item.c.name))).scalars().all() == ["dup"]
        await conn.rollback()
        assert (await conn.execute(select(item.c.name))).scalars().all() == []


async def test_write_lock_rides_on_the_next_statements_trip(
    sqlite_engine: AsyncEngine, tmp_path: Path, worker_trips: list[Any]
) -> None:
    """A check-then-write holds SQLite's write lock from its first read, at no extra trip."""
    other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
    session = create_sessionmaker(sqlite_engine)()
    try:
        await session.execute(select(item.c.id))  # check the connection out
        worker_trips.clear()
        await session.write_lock()
        assert worker_trips == []
        other.execute("INSERT INTO item (name) VALUES ('before')")  # nothing taken yet

        await session.execute(select(item.c.name))
        assert len(worker_trips) == 1
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO item (name) VALUES ('during')")
        await session.execute(insert(item).values(name="mine"))
        await session.commit()
    finally:
        await session.close()
    other.execute("INSERT INTO item (name) VALUES ('after')")
    names = [r[0] for r in other.execute("SELECT name FROM item ORDER BY id")]
    other.close()
    assert names == ["before", "mine", "after"]


async def test_write_lock_request_ends_with_the_transaction(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    """A lock asked for and not used does not leak into the connection's next transaction."""
    sessions = create_sessionmaker(sqlite_engine)
    async with sessions() as session:
        await session.write_lock()
        await session.rollback()
    other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
    try:
        async with sessions() as session:
            await session.execute(select(item.c.id))  # same pooled connection, a plain read
            other.execute("INSERT INTO item (name) VALUES ('free')")
        # With timeout=0 a write lock still held would have failed that insert at once.
        assert other.execute("SELECT count(*) FROM item WHERE name = 'free'").fetchone() == (1,)
    finally:
        other.close()


async def test_writes_under_the_write_lock_skip_the_worker(
    sqlite_engine: AsyncEngine, worker_trips: list[Any]
) -> None:
    """The first write of a transaction may wait for the lock: it goes to the worker. Later
    writes run on the loop's thread; reads and the commit stay on the worker."""
    async with create_sessionmaker(sqlite_engine)() as session:
        await session.execute(insert(item).values(name="first"))
        assert len(worker_trips) == 1
        await session.execute(insert(item).values(name="second"))
        await session.execute(update(item).where(item.c.name == "second").values(name="2nd"))
        assert len(worker_trips) == 1
        names = (await session.execute(select(item.c.name).order_by(item.c.id))).scalars().all()
        assert names == ["first", "2nd"] and len(worker_trips) == 2
        await session.commit()  # and no rollback trip when the pool takes the connection back
        assert len(worker_trips) == 3
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(select(item.c.name))).scalars().all() == ["first", "2nd"]


async def test_an_error_in_an_inline_write_rolls_back_like_any_other(
    sqlite_engine: AsyncEngine,
) -> None:
    async with create_sessionmaker(sqlite_engine)() as session:
        await session.execute(insert(item).values(name="kept until rollback"))
        with pytest.raises(IntegrityError):
            await session.execute(insert(item).values(name="kept until rollback"))
        await session.rollback()
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(select(item.c.name))).scalars().all() == []


async def test_key_reads_run_on_the_loop_thread(
    sqlite_engine: AsyncEngine, worker_trips: list[Any]
) -> None:
    """A statement marked ``key_read`` makes no worker trip; the mark is its own, not the
    connection's: the next unmarked read goes to the worker again."""
    async with sqlite_engine.begin() as conn:
        await conn.execute(insert(item), [{"name": "a"}, {"name": "b"}])
    async with create_sessionmaker(sqlite_engine)() as session:
        await session.execute(select(item.c.id))  # check the connection out
        worker_trips.clear()
        by_name = key_read(select(item.c.id, item.c.name).where(item.c.name == "b"))
        assert [tuple(r) for r in await session.execute(by_name)] == [(2, "b")]
        assert (await session.execute(key_read(select(item).where(item.c.id == 9)))).first() is None
        assert worker_trips == []
        assert (await session.execute(select(item.c.name))).scalars().all() == ["a", "b"]
        assert len(worker_trips) == 1


async def test_a_key_read_sees_its_own_transactions_writes(
    sqlite_engine: AsyncEngine, worker_trips: list[Any]
) -> None:
    async with create_sessionmaker(sqlite_engine)() as session:
        await session.execute(insert(item).values(name="mine"))
        worker_trips.clear()
        found = await session.execute(key_read(select(item.c.name).where(item.c.name == "mine")))
        assert found.scalars().all() == ["mine"] and worker_trips == []
        await session.rollback()
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(select(item.c.name))).scalars().all() == []


async def test_a_key_read_that_takes_the_write_lock_goes_to_the_worker(
    sqlite_engine: AsyncEngine, worker_trips: list[Any]
) -> None:
    """BEGIN IMMEDIATE may wait for another writer: never on the loop's thread."""
    async with create_sessionmaker(sqlite_engine)() as session:
        await session.execute(select(item.c.id))
        await session.write_lock()
        worker_trips.clear()
        await session.execute(key_read(select(item.c.id).where(item.c.name == "x")))
        assert len(worker_trips) == 1
        await session.commit()


async def test_a_write_marked_as_a_key_read_still_waits_for_the_lock_on_the_worker(
    sqlite_engine: AsyncEngine, tmp_path: Path, worker_trips: list[Any]
) -> None:
    """The mark means nothing on a write: a transaction's first write may wait for another
    connection's write lock, and that wait must never freeze the event loop."""
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with create_sessionmaker(sqlite_engine)() as session:
            await session.execute(select(item.c.id))  # check the connection out
            worker_trips.clear()
            write = asyncio.create_task(session.execute(key_read(insert(item).values(name="w"))))
            await asyncio.sleep(0.2)  # runs on time only if the write waits off the loop
            assert not write.done()
            other.execute("COMMIT")
            await write
            await session.commit()
            assert len(worker_trips) == 2  # the write, the commit
    finally:
        other.close()
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(select(item.c.name))).scalars().all() == ["w"]


async def test_an_error_in_a_key_read_is_sqlalchemys_and_the_connection_stays_usable(
    sqlite_engine: AsyncEngine,
) -> None:
    async with sqlite_engine.connect() as conn:
        with pytest.raises(OperationalError):
            await conn.execute(key_read(text("SELECT nope FROM item")))
        assert (await conn.execute(key_read(select(item.c.name)))).scalars().all() == []


async def test_a_read_only_transaction_commits_without_a_trip(
    sqlite_engine: AsyncEngine, worker_trips: list[Any]
) -> None:
    """A request that only read has nothing for SQLite to commit (no BEGIN was sent)."""
    async with create_sessionmaker(sqlite_engine)() as session:
        await session.execute(select(item.c.id))
        worker_trips.clear()
        await session.commit()
        assert worker_trips == []
