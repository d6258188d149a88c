"""PostgreSQL through asyncpg: key reads outside a transaction, and a one-trip pre-ping.

SQLAlchemy's asyncpg adapter sends ``BEGIN`` before a transaction's first statement and
``COMMIT`` at its end, and the pool's pre-ping (``pool_pre_ping``) checks a connection with
``BEGIN; ; ROLLBACK``. A snapshot GET (two key reads) thus paid six round trips, four of them
bookkeeping. Measured in-process on a shared 2-core machine (``bench/README.md``, 2026-12-01
third session), each trip costs ~50-100 µs of the server's CPU.

**Key reads before the first other statement run outside a transaction.** A statement marked
``key_read`` (``db.key_read``: a handful of rows by an index key) that comes before any other
statement of its transaction runs in autocommit, so a request that only key-reads sends no
``BEGIN`` and no ``COMMIT``. Any other statement (a write, a lock, a page) starts the transaction
as before, and every later statement, key reads included, runs inside it. This changes nothing a
request can observe: PostgreSQL runs at READ COMMITTED (the engine never sets another level),
where every statement of a transaction takes its own snapshot anyway, and a plain SELECT takes no
lock a later statement relies on (transaction-scoped locks, ``db.locks``, are statements of their
own and start the transaction).

The choice is made per statement by a ``before_cursor_execute`` listener (``_choose_mode``), from
the adapter's open transaction: the mode is set before *every* statement, so no earlier
statement's mode can leak into a write.

**The pre-ping takes one trip.** A connection returned to the pool is left in autocommit (no
transaction can be open then: the pool rolled it back), so the next checkout's ping sends ``;``
alone; the first statement then picks its mode as above.

**The key-read lane's checkouts skip the pre-ping.** ``db.hot`` reads on a connection it checks
out with ``SKIP_PING`` set: a connection that died in the pool then fails the lane's first
statement, is discarded, and the read runs again through Core, whose checkout pings. A request
of the lane thus sends one trip fewer (a snapshot GET: two trips instead of three): 1.41 ->
1.25 ms of CPU per snapshot GET in-process (median of 8 alternated blocks of 200, lowest 0.93 ->
0.77; bench/README.md, 2026-12-01 fifth session).

It relies on one internal of SQLAlchemy's asyncpg adapter (SQLAlchemy is pinned in
pyproject.toml): ``_transaction``, the adapter's open asyncpg transaction or None. Its public
``autocommit`` property switches the mode.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from trunkline.db.sqlite_driver import KEY_READ


def _in_transaction(dbapi_conn: Any) -> bool:
    return getattr(dbapi_conn, "_transaction", None) is not None


def _choose_mode(
    conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """``before_cursor_execute``: autocommit for a key read that no other statement of its
    transaction precedes; a transaction for everything else."""
    dbapi_conn = conn.connection.dbapi_connection
    key_read = context is not None and bool(context.execution_options.get(KEY_READ))
    dbapi_conn.autocommit = key_read and not _in_transaction(dbapi_conn)


def _ping_in_one_trip(dbapi_conn: Any, _record: Any) -> None:
    """Pool ``checkin``: the connection is rolled back; its next pre-ping needs no BEGIN."""
    if dbapi_conn is not None and not _in_transaction(dbapi_conn):
        dbapi_conn.autocommit = True


SKIP_PING: ContextVar[bool] = ContextVar("trunkline_skip_ping", default=False)
"""Set while ``db.hot`` checks a connection out: the pool's pre-ping then sends nothing."""


def _ping_unless_skipped(engine: AsyncEngine) -> None:
    ping = engine.dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        return True if SKIP_PING.get() else ping(dbapi_connection)

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign]


def install(engine: AsyncEngine) -> None:
    """Install the three on an ``postgresql+asyncpg`` engine (``db.create_engine`` does)."""
    event.listen(engine.sync_engine, "before_cursor_execute", _choose_mode)
    event.listen(engine.sync_engine.pool, "checkin", _ping_in_one_trip)
    _ping_unless_skipped(engine)
