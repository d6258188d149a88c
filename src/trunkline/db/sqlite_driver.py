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
first statement of a transaction (it may wait for the lock), every read not marked as a key
read (below), ``executemany`` and the commit (where SQLite checkpoints the WAL) stay on the
worker. The sqlite3 connection is opened with ``check_same_thread=False`` for that; the
adapter's execute mutex keeps the two threads from ever using it at once.

Key reads run on the event loop's thread too. A statement executed with the execution option
``key_read=True`` (``KEY_READ``) promises to find a handful of rows through an index: a token, a
number by its key, an E.164 number's holdings. Such a read takes tens of microseconds and does not
wait for the writer (WAL readers never do; only rare moments such as WAL recovery after a crash make
a reader retry on the busy timeout), while a worker round trip costs a thread wake-up, an event-loop
wake-up and, when the loop is busy, up to a GIL switch interval (5 ms) before the worker may run.
Reads that may scan (pages, counts, searches) stay on the worker, so they never hold up the loop. A
key read that opens a write transaction (``begin_immediate``) goes to the worker like any first
statement: it may wait for the lock. The mark means nothing on a write (a write that is its
transaction's first statement may wait for the lock too). The mark is read per statement by a
``before_cursor_execute`` listener (``mark_key_reads``) that ``trunkline.db.engine`` installs.

A commit or rollback with no transaction open (a request that only read) costs no round trip:
there is nothing for SQLite to do.

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

KEY_READ = "key_read"
"""Execution option: this statement reads a few rows by an index key (module docstring)."""


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
        "key_read",
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
        self.key_read = False  # set per statement by mark_key_reads

    async def _run(self, operation: str, parameters: Any, many: bool) -> None:
        begin = self._adapt_connection.take_begin_immediate()
        key_read, self.key_read = self.key_read, False
        conn = self._connection._conn
        write = _is_write(operation)
        run = _statement_call(conn, operation, parameters, many, begin)
        async with self._adapt_connection._execute_mutex:
            if not (many or begin) and (conn.in_transaction if write else key_read):
                # A key read, or a write in a transaction that already holds SQLite's write
                # lock (it wrote, or began IMMEDIATE): neither waits on a lock in practice, and
                # either costs less here than a round trip to the worker (module docstring).
                # The mutex keeps the worker idle meanwhile.
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

    def _in_transaction(self) -> bool:
        raw = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        self._begin_immediate = False
        if self._in_transaction():  # a read-only transaction has nothing to commit
            super().commit()

    def rollback(self) -> None:
        self._begin_immediate = False
        # Nothing to undo without a transaction: spare the worker round trip. The pool's reset
        # of every connection it gets back (after each commit) is such a rollback.
        if self._in_transaction():
            super().rollback()


def begin_immediate(dbapi_connection: Any) -> None:
    """Make the next statement on this connection start with ``BEGIN IMMEDIATE`` (unless a
    transaction is already open), taking SQLite's write lock before that statement runs."""
    if not isinstance(dbapi_connection, _Connection):
        raise TypeError("not a connection of the one-trip SQLite driver")
    dbapi_connection._begin_immediate = True


def mark_key_reads(
    _conn: Any, cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """``before_cursor_execute`` listener: carry a statement's ``KEY_READ`` option to its
    cursor, which then runs it on the loop's thread (module docstring)."""
    if context is not None and context.execution_options.get(KEY_READ):
        cursor.key_read = True


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def one_trip_dbapi() -> Any:
    """The DBAPI module for ``sqlite+aiosqlite`` engines (see the module docstring)."""
    return _Dbapi(aiosqlite, sqlite3)
