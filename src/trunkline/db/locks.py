"""Transaction-scoped locks for check-then-write work that no one unique constraint decides.

Both helpers queue the current transaction behind others that took the same keys, until it
ends (commit or rollback). PostgreSQL: ``pg_advisory_xact_lock`` on a 64-bit hash of each key.
SQLite admits one writer at a time, so every key is the same lock: the transaction takes the
database write lock before its reads (the process's write gate, then ``BEGIN IMMEDIATE`` with
the next statement; see db/write_gate.py and db/sqlite_driver.py).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db.statements import dialect_name
from trunkline.db.write_gate import SqliteWriteGateSession


def _advisory_key(key: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@functools.cache
def _advisory_locks_stmt(count: int) -> Any:
    """``SELECT pg_advisory_xact_lock(:k0), …`` for ``count`` keys, built once per count."""
    return select(
        *(func.pg_advisory_xact_lock(bindparam(f"k{i}", type_=BigInteger)) for i in range(count))
    )


async def lock_keys(session: AsyncSession, keys: Iterable[str]) -> None:
    """Hold ``keys`` (any strings naming what is checked, e.g. ``"<ws>:number:+1…"``) until the
    transaction ends.

    Keys are taken in one global order, so two transactions can never wait on each other in a
    cycle; PostgreSQL evaluates the select list left to right, in sorted key order, in one round
    trip.
    """
    if dialect_name(session) != "postgresql":
        await _sqlite_write_lock(session)
        return
    ordered = sorted({_advisory_key(k) for k in keys})
    if ordered:
        await session.execute(
            _advisory_locks_stmt(len(ordered)), {f"k{i}": key for i, key in enumerate(ordered)}
        )


async def lock_workspace(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Queue this transaction behind others that check-then-write across the whole workspace
    (a purchase limit counts rows; a holdings check without keys spans every table)."""
    await lock_keys(session, [f"{workspace_id}:workspace"])


async def _sqlite_write_lock(session: AsyncSession) -> None:
    if not isinstance(session, SqliteWriteGateSession):
        raise TypeError("SQLite sessions come from trunkline.db.create_sessionmaker")
    await session.write_lock()
