"""The call service as the call worker drives it: status moves through the transition table,
late events are ignored, a rejection is one transaction, an end happens once."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.call import factories as f
from tests.support.api import Api
from tests.support.rows import get_row, workspace_id
from trunkline.call.rules import CallDirection, CallStatus, EndReason, EventKind, RejectedBy
from trunkline.call.service import call_service
from trunkline.db import session_scope
from trunkline.errors import CallNotFound
from trunkline.models import Call, CallEvent


@pytest.fixture
async def ws(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    return await workspace_id(sessionmaker, api.slug)


async def kinds(sm: async_sessionmaker[AsyncSession], call_id: uuid.UUID) -> list[str]:
    async with sm() as session:
        rows = await session.scalars(
            select(CallEvent.kind).where(CallEvent.call_id == call_id).order_by(CallEvent.at)
        )
        return list(rows)


class TestOutboundLifecycle:
    async def test_queued_ringing_answered_completed(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        agent = await api.agent("Voice")
        call = await f.outbound(sessionmaker, ws, uuid.UUID(agent["agent_uuid"]))
        assert call.status == CallStatus.queued

        async with session_scope(sessionmaker) as session:
            assert await call_service.mark_ringing(
                session, call.id, sip_code=180, sip_reason="Ringing"
            )
        await f.answer(sessionmaker, call.id)
        await f.end(sessionmaker, call.id, end_reason=EndReason.agent_hangup)

        row = await get_row(sessionmaker, Call, call.id)
        assert (row.status, row.end_reason, row.sip_code) == ("completed", "agent_hangup", 200)
        assert row.created_at <= row.answered_at <= row.ended_at
        assert await kinds(sessionmaker, call.id) == ["queued", "ringing", "answered", "ended"]


class TestLateEvents:
    async def test_a_ringing_after_the_answer_is_ignored(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])
        await f.answer(sessionmaker, call.id)

        async with session_scope(sessionmaker) as session:
            assert not await call_service.mark_ringing(session, call.id)

        assert (await get_row(sessionmaker, Call, call.id)).status == "in_progress"

    async def test_an_answer_after_the_cancel_is_ignored(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        # RFC 3261 §9.1: a 200 may cross our CANCEL; the call stays canceled.
        call = await f.inbound(sessionmaker, ws, checks=[])
        await f.end(sessionmaker, call.id, CallStatus.canceled, EndReason.api_hangup)

        async with session_scope(sessionmaker) as session:
            assert not await call_service.mark_answered(session, call.id, codec="PCMA")
            assert not await call_service.mark_ended(
                session, call.id, status=CallStatus.completed, end_reason=EndReason.error
            )

        row = await get_row(sessionmaker, Call, call.id)
        assert (row.status, row.end_reason, row.answered_at) == ("canceled", "api_hangup", None)
        assert await kinds(sessionmaker, call.id) == ["invite_received", "ended"]

    async def test_ending_an_answered_call_as_busy_is_a_bug(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])
        await f.answer(sessionmaker, call.id)

        async with sessionmaker() as session:
            with pytest.raises(ValueError, match="cannot go from in_progress to busy"):
                await call_service.mark_ended(session, call.id, status=CallStatus.busy)

    async def test_a_live_status_is_not_an_end(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])

        async with sessionmaker() as session:
            with pytest.raises(ValueError, match="not a final status"):
                await call_service.mark_ended(session, call.id, status=CallStatus.ringing)

    async def test_unknown_call(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        async with sessionmaker() as session:
            with pytest.raises(CallNotFound):
                await call_service.mark_answered(session, uuid.uuid4())


class TestReject:
    async def test_agent_unreachable_after_the_call_was_opened(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.inbound(sessionmaker, ws, checks=[])

        await f.end(
            sessionmaker,
            call.id,
            CallStatus.rejected,
            EndReason.agent_unreachable,
            sip_code=480,
            sip_reason="Temporarily Unavailable",
            rejected_by=RejectedBy.agent_unreachable,
        )

        row = await get_row(sessionmaker, Call, call.id)
        assert (row.status, row.rejected_by, row.sip_code) == ("rejected", "agent_unreachable", 480)
        assert await kinds(sessionmaker, call.id) == ["invite_received", "rejected"]

    async def test_a_rejection_and_its_events_are_one_transaction(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        marker = f"+1415555{uuid.uuid4().int % 10_000:04d}"

        with pytest.raises(RuntimeError):
            async with session_scope(sessionmaker) as session:
                await call_service.reject(
                    session,
                    direction=CallDirection.inbound,
                    workspace_id=ws,
                    from_number="+12025550123",
                    to_number=marker,
                    rejected_by=RejectedBy.unknown_number,
                    sip_code=404,
                    reason="unknown_number",
                    checks=[{"check": "unknown_number", "passed": False, "detail": None}],
                )
                raise RuntimeError("the worker failed before committing")

        async with sessionmaker() as session:
            left = await session.scalar(
                select(func.count()).select_from(Call).where(Call.to_number == marker)
            )
        assert left == 0

    async def test_events_of_a_rejection(
        self, sessionmaker: async_sessionmaker[AsyncSession], ws: uuid.UUID
    ) -> None:
        call = await f.rejected(sessionmaker, ws, RejectedBy.codec_unsupported, sip_code=488)

        assert await kinds(sessionmaker, call.id) == [
            EventKind.invite_received,
            EventKind.routing_check,
            EventKind.rejected,
        ]
        row = await get_row(sessionmaker, Call, call.id)
        assert row.ended_at is not None and row.answered_at is None
