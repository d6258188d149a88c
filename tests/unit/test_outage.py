"""Which driver failures are an outage (503, one log line) and which are bugs (500, traceback)."""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from trunkline.outage import OutageLog, describe, is_database_unavailable


def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    err = sqlite3.OperationalError(message)
    err.sqlite_errorcode = code
    err.sqlite_errorname = f"SQLITE_{code}"
    return err


def wrapped(orig: BaseException, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    cls = (
        sa_exc.OperationalError if isinstance(orig, sqlite3.OperationalError) else sa_exc.DBAPIError
    )
    return cls("SELECT 1", None, orig, connection_invalidated=invalidated)  # type: ignore[arg-type]


def caused_by(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (ConnectionResetError(104, "reset"), True),
        (TimeoutError(), True),
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (wrapped(Exception("gone"), invalidated=True), True),
        (wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("closed")), True),
        (wrapped(asyncpg.exceptions.CannotConnectNowError("starting up")), True),
        (wrapped(asyncpg.exceptions.AdminShutdownError("terminating")), True),
        (wrapped(asyncpg.exceptions.TooManyConnectionsError("too many")), True),
        (wrapped(sqlite_error(5, "database is locked")), True),
        (wrapped(sqlite_error(5 | (1 << 8), "locked (recovery)")), True),  # extended BUSY code
        (caused_by(RuntimeError("wrapper"), ConnectionRefusedError()), True),
        # Bugs keep their traceback:
        (wrapped(sqlite_error(1, "no such table: agent")), False),
        (wrapped(asyncpg.exceptions.UndefinedTableError("no table")), False),
        (wrapped(asyncpg.exceptions.UniqueViolationError("dup")), False),
        (sa_exc.IntegrityError("INSERT", None, Exception("dup")), False),  # type: ignore[arg-type]
        (ValueError("bad"), False),
        (RuntimeError("bug"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_is_database_unavailable(exc: BaseException, unavailable: bool) -> None:
    assert is_database_unavailable(exc) is unavailable


def test_describe_names_types_and_codes_never_the_text() -> None:
    exc = wrapped(asyncpg.exceptions.AdminShutdownError("INSERT secret-value"))

    text = describe(exc)

    assert "AdminShutdownError(57P01)" in text
    assert "secret-value" not in text and "INSERT" not in text


class TestOutageLog:
    def test_one_line_per_interval_counting_the_rest(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        logger = logging.getLogger("test.outage")
        outage = OutageLog(interval_s=3600, logger=logger)
        caplog.set_level(logging.WARNING, logger="test.outage")

        for _ in range(5):
            outage.report("GET /x", ConnectionRefusedError(111, "refused"))

        assert [r.getMessage() for r in caplog.records] == [
            "database unavailable in GET /x: ConnectionRefusedError(errno 111)"
        ]

    def test_reports_suppressed_count_on_the_next_line(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        logger = logging.getLogger("test.outage2")
        outage = OutageLog(interval_s=0, logger=logger)
        caplog.set_level(logging.WARNING, logger="test.outage2")
        outage.report("a", TimeoutError())
        outage._last = float("inf")  # the next report falls inside the interval
        outage.report("b", TimeoutError())
        outage._last = float("-inf")

        outage.report("c", TimeoutError())

        assert [r.getMessage() for r in caplog.records] == [
            "database unavailable in a: TimeoutError",
            "database unavailable in c: TimeoutError (1 more since the last line)",
        ]
