"""A call's record as the worker writes it: the agent stream's events wait for a batch (at most
``EVENT_BATCH_S``) or for the call's end, which writes them in its own transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.call import factories as f
from tests.support.api import Api
from tests.support.rows import workspace_id
from trunkline.call.rules import CallStatus, EndReason
from trunkline.callworker.bridge import EVENT_BATCH_S, CallRecord
from trunkline.models import CallEvent


async def kinds(sm: async_sessionmaker[AsyncSession], call_id: uuid.UUID) -> list[str]:
    async with sm() as session:
        rows = await session.scalars(
            select(CallEvent.kind).where(CallEvent.call_id == call_id).order_by(CallEvent.at)
        )
        return list(rows)


class Spawner:
    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def __call__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.tasks.append(asyncio.ensure_future(coro))


async def test_stream_events_are_written_in_a_batch_then_with_the_end(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    call = await f.inbound(sessionmaker, await workspace_id(sessionmaker, api.slug), checks=[])
    spawn = Spawner()
    record = CallRecord(sessionmaker, spawn, call.id)

    record.on_stream_event("agent_connected", {"stream_sid": "MZ1"})
    record.on_stream_event("dtmf", {"digit": "5"})
    record.on_stream_event("not_a_timeline_kind", {})
    assert await kinds(sessionmaker, call.id) == ["invite_received"]  # waiting for the batch
    assert len(spawn.tasks) == 1  # one writer per batch, not one per event

    await asyncio.wait_for(asyncio.gather(*spawn.tasks), EVENT_BATCH_S + 5)
    assert await kinds(sessionmaker, call.id) == ["invite_received", "agent_connected", "dtmf"]

    await f.answer(sessionmaker, call.id)
    record.on_stream_event("mark", {"name": "m1"})
    await record.end(CallStatus.completed, EndReason.caller_hangup)
    expected = ["invite_received", "agent_connected", "dtmf", "answered", "mark", "ended"]
    assert await kinds(sessionmaker, call.id) == expected

    record.on_stream_event("mark", {"name": "late"})  # after the end: written on its own
    await asyncio.wait_for(asyncio.gather(*spawn.tasks), 5)
    assert await kinds(sessionmaker, call.id) == [*expected, "mark"]
