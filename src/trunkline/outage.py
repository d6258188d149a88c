"""Telling "the database is away" from a bug, and saying so in one log line, not a traceback.

A database that is down, restarting, refusing connections or too slow to hand out a pooled
connection is a dependency outage: the API answers 503 ``service_unavailable`` with
``Retry-After`` and background loops back off. Anything else the driver raises (a constraint
nobody mapped, a syntax error, a missing table) is a bug and keeps its traceback.

Log lines carry only exception type names and driver codes (SQLSTATE, SQLite result codes),
never the exception text: that text may quote SQL and, without ``hide_parameters``, its values.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc

log = logging.getLogger("trunkline.outage")

# What clients are told to wait before retrying (RFC 9110 §10.2.3), in seconds.
RETRY_AFTER_S = 1

# PostgreSQL SQLSTATE classes/codes that mean "not now" rather than "wrong": 08 connection
# exception, 53 insufficient resources (too many connections), 57P01-57P03 shutdown/startup.
_PG_UNAVAILABLE_PREFIXES = ("08", "53", "57P01", "57P02", "57P03")
# SQLite primary result codes: BUSY, LOCKED, IOERR, CANTOPEN (file gone or unreadable).
_SQLITE_UNAVAILABLE = {5, 6, 10, 14}
_ASYNCPG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


# Exception types the API routes through is_database_unavailable (envelope.py): what SQLAlchemy
# wraps driver errors in, what asyncpg raises unwrapped, and raw socket failures to the server.
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    ConnectionError,
    TimeoutError,
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the driver error it wraps (``orig``) and its causes, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _one_is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection within pool_timeout
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, _ASYNCPG_UNAVAILABLE):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        return sqlstate.startswith(_PG_UNAVAILABLE_PREFIXES)
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_UNAVAILABLE
    # Refused, reset or timed-out sockets to the database server (asyncpg raises these raw).
    return isinstance(exc, ConnectionError | TimeoutError)


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) means the database is away, not that code is wrong."""
    return any(_one_is_unavailable(e) for e in _chain(exc))


def describe(exc: BaseException) -> str:
    """A safe one-line description: type names and driver codes only, no message text."""
    parts = []
    for e in _chain(exc):
        name = type(e).__name__
        sqlstate = getattr(e, "sqlstate", None)
        sqlite_code = getattr(e, "sqlite_errorname", None)
        errno = getattr(e, "errno", None) if isinstance(e, OSError) else None
        code = sqlstate or sqlite_code or (f"errno {errno}" if errno else None)
        parts.append(f"{name}({code})" if code else name)
    return " <- ".join(dict.fromkeys(parts))


class OutageLog:
    """One warning line per failure, at most one per ``interval_s``; the rest are counted and
    reported on the next line, so an outage under load cannot flood the log."""

    def __init__(self, interval_s: float = 1.0, logger: logging.Logger = log) -> None:
        self.interval_s = interval_s
        self.logger = logger
        self._last = float("-inf")
        self._suppressed = 0

    def report(self, where: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self._suppressed += 1
            return
        suppressed, self._suppressed, self._last = self._suppressed, 0, now
        more = f" ({suppressed} more since the last line)" if suppressed else ""
        self.logger.warning("database unavailable in %s: %s%s", where, describe(exc), more)


outage_log = OutageLog()
