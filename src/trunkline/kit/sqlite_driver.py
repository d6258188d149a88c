"""SQLite through aiosqlite with one worker-thread round trip per statement.

aiosqlite runs every call on its connection's worker thread and hands the result back through
the event loop. SQLAlchemy's adapter makes four such calls per SELECT (open a cursor, execute,
fetch all, close) and three per write. Each costs a thread wake-up and an event-loop iteration,
which is far more than the statement itself on a local SQLite file, and under load a writer
holds SQLite's single write lock across all of them.

``OneTripCursor`` does the whole statement, including fetching its rows, in one call on the
worker thread. Everything else (connections, transactions, errors, the pool) is SQLAlchemy's
aiosqlite dialect unchanged: the engine gets this adapter as its DBAPI module
(``create_async_engine(..., module=one_trip_dbapi())``).

A transaction that must hold SQLite's write lock before it reads (check-then-write) asks for
it with ``begin_immediate``: the next statement's trip starts with ``BEGIN IMMEDIATE``, so taking
the lock costs no round trip of its own.

Once a transaction holds the write lock, its further INSERT/UPDATE/DELETE statements run on the
event loop's thread: no lock can make them wait any more (WAL readers never block a writer, and
with ``synchronous=NORMAL`` nothing is synced before the commit), and a statement that writes a
row takes tens of microseconds where a round trip to the worker takes hundreds under load. The
first statement of a transaction (it may wait for the lock), every read, ``executemany`` and
the commit (where SQLite checkpoints the WAL) stay on the worker. The sqlite3 connection is
opened with ``check_same_thread=False`` for that; the adapter's execute mutex keeps the two
threads from ever using it at once.

It relies on two internals of aiosqlite (pinned in pyproject.toml): ``Connection._execute``,
which queues a function for the worker thread and awaits its result, and ``Connection._conn``,
the ``sqlite3`` connection that function may use there.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows


def _statement_call(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool, begin_immediate: bool
) -> Callable[[], _Outcome]:
    """The statement as one call: on the worker thread, or inline under the write lock."""

    def run() -> _Outcome:
        cursor = conn.cursor()
        try:
            if begin_immediate and not conn.in_transaction:
                # Legacy transaction control then sees a transaction and issues no BEGIN of
                # its own; commit() and rollback() end this one.
                cursor.execute("BEGIN IMMEDIATE")
            if many:
                cursor.executemany(operation, parameters)
            else:
                cursor.execute(operation, () if parameters is None else parameters)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    return run


_WRITES = ("INSERT", "UPDATE", "DELETE")


def _is_write(operation: str) -> bool:
    return operation.lstrip()[:6].upper() in _WRITES


class OneTripCursor:
    """A DBAPI cursor over an aiosqlite connection: one worker round trip per execute."""

    server_side = False
    __slots__ = (
        "_adapt_connection",
        "_connection",
        "_rows",
        "arraysize",
        "description",
        "lastrowid",
        "rowcount",
    )

    def __init__(self, adapt_connection: _Connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection: aiosqlite.Connection = adapt_connection._connection  # type: ignore[assignment]
        self._rows: collections.deque[Any] = collections.deque()
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def _run(self, operation: str, parameters: Any, many: bool) -> None:
        begin = self._adapt_connection.take_begin_immediate()
        conn = self._connection._conn
        run = _statement_call(conn, operation, parameters, many, begin)
        async with self._adapt_connection._execute_mutex:
            if not (many or begin) and conn.in_transaction and _is_write(operation):
                # This transaction already holds SQLite's write lock (it wrote, or began
                # IMMEDIATE): the write can no longer wait on a lock and costs less here than
                # a round trip to the worker (module docstring). The mutex keeps the worker idle.
                outcome = run()
            else:
                outcome = await self._connection._execute(run)  # type: ignore[no-untyped-call]
        self.description, self.rowcount, self.lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        try:
            await_(self._run(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        try:
            await_(self._run(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor closed on the worker thread."""

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """Not used by SQLite."""

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __enter__(self) -> OneTripCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_begin_immediate",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin_immediate = False

    def take_begin_immediate(self) -> bool:
        """Whether the next statement must first BEGIN IMMEDIATE (asked once, then cleared)."""
        wanted, self._begin_immediate = self._begin_immediate, False
        return wanted

    def commit(self) -> None:
        self._begin_immediate = False
        super().commit()

    def rollback(self) -> None:
        self._begin_immediate = False
        raw = self._connection._connection
        if raw is not None and not raw.in_transaction:
            # Nothing to undo: spare the worker round trip. The pool's reset of every connection
            # it gets back (after each commit) is such a rollback.
            return
        super().rollback()


def begin_immediate(dbapi_connection: Any) -> None:
    """Make the next statement on this connection start with ``BEGIN IMMEDIATE`` (unless a
    transaction is already open), taking SQLite's write lock before that statement runs."""
    if not isinstance(dbapi_connection, _Connection):
        raise TypeError("not a connection of the one-trip SQLite driver")
    dbapi_connection._begin_immediate = True


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def one_trip_dbapi() -> Any:
    """The DBAPI module for ``sqlite+aiosqlite`` engines (see the module docstring)."""
    return _Dbapi(aiosqlite, sqlite3)
