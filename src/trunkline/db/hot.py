"""Key reads on the driver's own connection: the hot GETs' statements without a session.

A read by key through an ORM session, or even a Core ``AsyncConnection``, runs SQLAlchemy's
execution machinery per statement: the greenlet switch into the sync core and back, the
execution context and compiled-cache lookup, result metadata and row processing, and the
session's set-up and commit. For a key read that is most of the request's CPU: one number read
by key inside the full app cost 2.1 ms through a session, 1.35 ms on a Core connection and
0.38 ms on the driver (SQLite; PostgreSQL 2.4 / 1.7 / 0.59 ms; ``python -m bench.floor``,
bench/README.md, 2026-12-01 fifth session).

``HotRead`` compiles a SELECT of columns once per dialect; ``hot_connection`` checks a pooled
connection out of the engine (its pre-ping included) and runs such reads on the driver's own
connection, converting parameters and columns with the processors SQLAlchemy itself uses for
them (the column types' ``bind_processor`` / ``result_processor``), so the rows are the values a
Core read returns (tests/db/test_hot_read.py holds them to it). Key reads only (``key_read``'s
promise: a handful of rows by an index key), never writes:

- SQLite: the statement runs on the event loop's thread, as marked key reads already do
  (``db/sqlite_driver.py``); Python's sqlite3 opens no transaction for a SELECT.
- PostgreSQL: asyncpg runs it outside a transaction (autocommit, as ``db/pg_driver.py`` runs key
  reads), prepared once per connection by asyncpg's statement cache.

Should the driver raise, the connection is discarded and that read and the later ones of the
``hot_connection`` block run the ordinary way, on a Core connection: a failure then surfaces as
it does everywhere else (SQLAlchemy's wrapped errors, which the envelope answers 503 for an
outage), and a transient one costs one retry.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import CompoundSelect, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from trunkline.db.pg_driver import SKIP_PING
from trunkline.db.statements import key_read

log = logging.getLogger(__name__)

_Processor = Callable[[Any], Any] | None


class _Compiled:
    """One statement compiled for one dialect: its SQL, parameter order and converters."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert not compiled.literal_execute_params, "expanding parameters are not supported"
        self.sql = compiled.string
        self.dialect = dialect
        self.names = tuple(compiled.positiontup or ())
        self.fixed = compiled.construct_params(_check=False)  # literal values, bound once
        self.bind: tuple[_Processor, ...] = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.names
        )
        self.columns = tuple(statement.selected_columns)
        self.row: Any = namedtuple("HotRow", [c.key for c in self.columns])  # type: ignore[misc]
        # Set by ``typed`` from the driver's column types before rows are first converted:
        # a processor may depend on them (asyncpg's numeric types do).
        self.result: tuple[_Processor, ...] | None = None

    def typed(self, coltypes: Sequence[Any]) -> None:
        dialect = self.dialect
        self.result = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, coltype)
            for c, coltype in zip(self.columns, coltypes, strict=True)
        )

    def parameters(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, process in zip(self.names, self.bind, strict=True):
            value = params[name] if name in params else self.fixed[name]
            out.append(value if process is None or value is None else process(value))
        return out

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make, procs = self.row._make, self.result
        assert procs is not None  # typed() ran
        return [
            make([v if p is None or v is None else p(v) for p, v in zip(procs, r, strict=True)])
            for r in raw
        ]


class HotRead:
    """A key read (a ``select`` of columns, no ORM entities), compiled once per dialect.

    The statement is marked ``key_read`` too: tests/db/test_key_read_plans.py then checks its
    plan with every other key read's (and the Core fallback runs it as one)."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any]) -> None:
        self.statement = key_read(statement)
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return found


class HotConnection:
    """A pooled connection lent to a few key reads (``hot_connection``)."""

    def __init__(self, engine: AsyncEngine, pooled: Any) -> None:
        self.engine = engine
        self.pooled: Any = pooled  # None once the driver failed: the reads go through Core
        self._sqlite = engine.dialect.name == "sqlite"

    async def fetch(self, read: HotRead, params: Mapping[str, Any]) -> list[Any]:
        """Every row of ``read`` (named tuples with the statement's column keys)."""
        compiled = read.compiled(self.engine.dialect)
        if self.pooled is not None:
            try:
                return compiled.rows(await self._driver_rows(compiled, params))
            except Exception as exc:
                # Type only: a driver's text may quote SQL (outage.py's rule for log lines).
                log.warning(
                    "hot read failed on the driver (%s): read through Core", type(exc).__name__
                )
                pooled, self.pooled = self.pooled, None
                # Discarded (closing it may await the driver); the pool opens a new one later.
                await greenlet_spawn(pooled.invalidate)
        async with self.engine.connect() as conn:
            result = await conn.execute(read.statement, dict(params))
            return [compiled.row._make(r) for r in result]

    async def _driver_rows(self, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        args = compiled.parameters(params)
        driver = self.pooled.driver_connection
        if self._sqlite:
            if compiled.result is None:
                compiled.typed([None] * len(compiled.columns))  # SQLite reports no types
            # aiosqlite's sqlite3 connection, on the loop's thread (db/sqlite_driver.py)
            return driver._conn.execute(compiled.sql, args).fetchall()
        if compiled.result is None:  # the column types asyncpg reports for the statement
            prepared = await driver.prepare(compiled.sql)
            compiled.typed([a.type.oid for a in prepared.get_attributes()])
        return await driver.fetch(compiled.sql, *args)


@asynccontextmanager
async def hot_connection(engine: AsyncEngine) -> AsyncIterator[HotConnection]:
    """A pooled connection for a request's key reads, back in the pool when the block ends.

    Checked out without the pool's pre-ping (``pg_driver.SKIP_PING``): a dead connection fails
    the first read instead, which then runs through Core (``HotConnection.fetch``)."""
    skipping = SKIP_PING.set(True)
    try:
        pooled = await engine.raw_connection()
    finally:
        SKIP_PING.reset(skipping)
    conn = HotConnection(engine, pooled)
    try:
        yield conn
    finally:
        if conn.pooled is not None:
            # Back to the pool (no transaction is open: nothing to roll back); in a greenlet,
            # as AsyncConnection.close does: a connection over the pool's size is closed.
            await greenlet_spawn(conn.pooled.close)
