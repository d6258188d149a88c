"""SQLite: the in-process write gate every session of a SQLite engine goes through."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db.sqlite_driver import begin_immediate


class SqliteWriteGateSession(AsyncSession):
    """A session that queues for an in-process write gate before its first write (SQLite).

    SQLite admits one writer at a time. Without the gate, a writer that finds the database
    locked sleeps in SQLite's busy handler (1, 2, 5 … 100 ms naps) and wakes late; under load
    that costs throughput and makes seconds-long tails. With it, writers of this process wait
    on an asyncio lock and start the moment the previous one commits. The busy timeout still
    covers writers in other processes (a standalone monitor, the CLI).
    """

    _gate: asyncio.Lock
    _holding: bool = False

    async def _enter_gate(self) -> None:
        if not self._holding:
            # Check the connection out of the pool first. A gate holder still waiting for a
            # pooled connection, while every pooled connection belongs to a session that read
            # first and now queues at the gate, would deadlock until the pool timeout.
            await self.connection()
            await self._gate.acquire()
            self._holding = True

    async def write_lock(self) -> None:
        """Hold the gate, and SQLite's write lock from the next statement on, until the
        transaction ends: what a check-then-write needs before its reads. The lock rides on
        that statement's round trip (``BEGIN IMMEDIATE``, see db/sqlite_driver.py), so other
        processes' writers (the CLI, a standalone monitor) cannot slip in between."""
        await self._enter_gate()
        raw = await (await self.connection()).get_raw_connection()
        begin_immediate(raw.dbapi_connection)

    def _leave_gate(self) -> None:
        if self._holding:
            self._holding = False
            self._gate.release()

    def _has_changes(self) -> bool:
        return bool(self.new or self.dirty or self.deleted)

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(statement, "is_dml", False):
            await self._enter_gate()
        return await super().execute(statement, *args, **kwargs)

    async def flush(self, objects: Any = None) -> None:
        if self._has_changes():
            await self._enter_gate()
        await super().flush(objects)

    async def commit(self) -> None:
        if self._has_changes():
            await self._enter_gate()
        try:
            await super().commit()
        finally:
            self._leave_gate()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._leave_gate()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._leave_gate()
