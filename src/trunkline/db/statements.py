"""Statement helpers for repositories: the key-read mark and the portable insert-or-ignore."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from sqlalchemy import Executable, Insert, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db.sqlite_driver import KEY_READ

_Stmt = TypeVar("_Stmt", bound=Executable)

# Every statement ever marked, in marking order: tests/db/test_key_read_plans.py checks each
# one's query plan, so the mark is never trusted on a comment's word. Mark statements once, at
# import (module constants), so the list is complete once the modules are imported.
KEY_READS: list[Executable] = []


def key_read(statement: _Stmt) -> _Stmt:
    """Mark a statement that reads a handful of rows through an index (a row by its key, a
    number's holdings): on SQLite it then runs on the event loop's thread, sparing a worker
    round trip (db/sqlite_driver.py); PostgreSQL ignores the mark. Never mark a read that may
    scan (a page, a count, a search): it would hold up every other request while it runs."""
    marked = statement.execution_options(**{KEY_READ: True})
    KEY_READS.append(marked)
    return marked


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` (or a model's table) for the session's
    dialect; execute it with the row as parameters: ``session.execute(stmt, values)``.

    Repositories use it where a unique constraint is the race backstop: a zero rowcount means
    another transaction holds the key, which the caller turns into the matching 409 by looking
    the holder up — never by parsing a driver's error text. The statement is built once per
    table and dialect (building it per call was measurable on hot paths).
    """
    return _insert_ignoring(dialect_name(session), getattr(table, "__table__", table))


@functools.cache
def _insert_ignoring(dialect: str, table: Any) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def insert_new(session: AsyncSession, row: Any) -> None:
    """Insert a new model instance with one Core ``INSERT``, without the ORM's unit of work.

    For creates that only insert one row and answer with it: ``session.add`` + ``flush`` costs
    ~100-140 µs more CPU per row (measured in-process on SQLite, bench/README.md, 2026-12-01
    third session) for bookkeeping such a request never uses. Column defaults set in Python
    (ids, timestamps, ``default=``) are filled in on ``row`` first, so it reads as a flushed row
    would; columns with neither a value nor a Python default are left to the database, as a
    flush leaves them. ``row`` stays outside the session (transient): later changes to it in the
    same request are not written. tests/db/test_insert_new.py checks that the row written and
    the instance agree.
    """
    mapper = sa_inspect(type(row))
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if getattr(column, "table", None) is not mapper.local_table:
            continue  # a SQL expression mapped as an attribute: nothing to insert
        if prop.key in row.__dict__:
            value = row.__dict__[prop.key]
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg
        elif column.default is not None and column.default.is_callable:
            value = column.default.arg(None)  # SQLAlchemy wraps it to take a context
        else:
            continue
        setattr(row, prop.key, value)
        values[column.key] = value
    await session.execute(_insert(mapper.local_table), values)


@functools.cache
def _insert(table: Any) -> Insert:
    return insert(table)


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: only ``trunkline.db`` asks (domain code never does)."""
    return str(session.get_bind().dialect.name)
