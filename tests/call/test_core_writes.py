"""The call worker's writes as Core statements (call/repository.py): what the ORM used to
guarantee still holds — the row as the service returns it, SQL NULLs where nothing was set,
the media figures merged, and a status move that never overwrites a move made meanwhile."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.call import factories as f
from tests.support.api import Api
from tests.support.rows import get_row, workspace_id
from trunkline.call import repository as repo
from trunkline.call.rules import CallStatus, EndReason
from trunkline.call.service import call_service
from trunkline.db import session_scope
from trunkline.models import Call, CallEvent


@pytest.fixture
async def ws(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    return await workspace_id(sessionmaker, api.slug)


class TestOpenInbound:
    async def test_the_returned_call_is_the_stored_row(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws)

        row = await get_row(sessionmaker, Call, call.id)
        columns = [c.key for c in Call.__table__.columns]
        assert {k: getattr(row, k) for k in columns} == {k: getattr(call, k) for k in columns}
        assert (row.status, row.media["codec"], row.answered_at) == ("ringing", None, None)

    async def test_unset_json_columns_are_sql_null(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        # A JSON column given None stores JSON 'null'; the Core INSERT leaves dial_plan out.
        call = await f.inbound(sessionmaker, ws)

        async with sessionmaker() as session:
            is_null = await session.scalar(
                text("SELECT dial_plan IS NULL FROM call WHERE id = :id"),
                {"id": call.id.hex if session.get_bind().dialect.name == "sqlite" else call.id},
            )
        assert is_null

    async def test_events_keep_their_order(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws)

        async with sessionmaker() as session:
            rows = list(
                await session.execute(
                    select(CallEvent.kind, CallEvent.detail)
                    .where(CallEvent.call_id == call.id)
                    .order_by(CallEvent.at)
                )
            )
        assert [kind for kind, _ in rows] == ["invite_received", "routing_check", "routing_check"]
        assert [d.get("check") for _, d in rows[1:]] == [c["check"] for c in f.CHECKS]


class TestStatusMoves:
    async def test_the_end_merges_the_media_figures(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws)
        await f.answer(sessionmaker, call.id)
        await f.end(sessionmaker, call.id, media={"packets_in": 7, "packets_out": 9})

        row = await get_row(sessionmaker, Call, call.id)
        assert row.media == {"codec": "PCMU", "packets_in": 7, "packets_out": 9, "dtmf": 0}
        assert (row.status, row.end_reason) == ("completed", "caller_hangup")
        assert row.answered_at is not None and row.ended_at is not None

    async def test_a_move_decided_on_a_stale_status_writes_nothing(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        # Two transactions read "ringing"; the first ends the call, the second's UPDATE is
        # guarded by the status it read and must not revive or re-end it.
        call = await f.inbound(sessionmaker, ws)
        await f.end(sessionmaker, call.id, CallStatus.canceled, EndReason.caller_hangup)

        async with session_scope(sessionmaker) as session:
            moved = await repo.move_call(session, call.id, "ringing", {"status": "in_progress"})

        assert not moved
        assert (await get_row(sessionmaker, Call, call.id)).status == "canceled"

    async def test_an_end_frees_the_lease_once(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws)
        async with session_scope(sessionmaker) as session:
            await repo.insert_lease(
                session,
                {
                    "id": uuid.uuid4(),
                    "call_id": call.id,
                    "line_id": uuid.uuid4(),
                    "direction": "inbound",
                    "worker_id": f.WORKER,
                    "expires_at": call.created_at,
                },
            )
        await f.answer(sessionmaker, call.id)
        await f.end(sessionmaker, call.id)

        async with session_scope(sessionmaker) as session:
            assert await repo.delete_lease(session, call.id) == 0
            assert not await call_service.mark_ended(
                session, call.id, status=CallStatus.completed, end_reason=EndReason.error
            )
