"""Calls no worker carries any more (docs/calls.md §6): a killed worker's calls, and queued
outbound calls no worker claimed before their leases expired, end as ``error`` on the next
heartbeat of any worker, instead of showing as live for ever — and a queued call that waited
past its lease is never dialled late."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.call import factories as f
from tests.call.test_leases import Line as LeaseLine
from tests.support.api import Api
from tests.support.rows import get_row, purchased_number, workspace_id
from trunkline.call.control import OutboundPlan
from trunkline.call.leases import lease_service
from trunkline.call.rules import CallDirection, CallStatus, EndReason, EventKind, abandoned_end
from trunkline.call.service import call_service
from trunkline.db import session_scope
from trunkline.kit.clock import utcnow
from trunkline.models import Call, CallEvent, CallLease

GRACE_S = 30.0
TTL_S = 30.0


@pytest.mark.parametrize(
    ("status", "ends_as"),
    [
        (CallStatus.queued, CallStatus.failed),  # never dialled
        (CallStatus.ringing, CallStatus.failed),  # never answered
        (CallStatus.in_progress, CallStatus.completed),  # answered: it may only complete
    ],
)
def test_abandoned_end(status: CallStatus, ends_as: CallStatus) -> None:
    assert abandoned_end(status) is ends_as


@pytest.mark.parametrize(
    "status",
    [
        CallStatus.completed,
        CallStatus.busy,
        CallStatus.no_answer,
        CallStatus.failed,
        CallStatus.canceled,
        CallStatus.rejected,
    ],
)
def test_an_ended_call_has_no_abandoned_end(status: CallStatus) -> None:
    with pytest.raises(ValueError, match="already ended"):
        abandoned_end(status)


class Line(LeaseLine):
    """test_leases' line, with the calls this module needs and a heartbeat's reaping."""

    async def ringing(self, *, lease_ttl_s: float | None = TTL_S) -> uuid.UUID:
        """A ringing inbound call on ``f.WORKER``, its lease taken now (None: no lease)."""
        call_id = await self.call()
        if lease_ttl_s is not None:
            assert await self.acquire(call_id, total_limit=None, ttl_s=lease_ttl_s)
        return call_id

    async def queued(self, *, lease_ttl_s: float, at_offset_s: float = 0) -> uuid.UUID:
        """An outbound call the API queued where no worker runs (unclaimed)."""
        async with session_scope(self.sm) as session:
            call = await call_service.open_outbound(
                session,
                workspace_id=self.ws,
                from_number="+14155550100",
                to_number="+12025550199",
                phone_number_id=self.number_id,
                agent_id=None,
                via=None,
                worker_id=None,
            )
            call.dial_plan = OutboundPlan(
                call_id=call.id,
                workspace_id=self.ws,
                agent_id=uuid.uuid4(),
                via_kind="trunk",
                via_id=self.number_id,
                phone_number_id=self.number_id,
                from_number="+14155550100",
                to="+12025550199",
                request_uri="sip:+12025550199@127.0.0.1",
                from_uri="sip:+14155550100@127.0.0.1",
                to_uri="sip:+12025550199@127.0.0.1",
                p_asserted_identity="sip:+14155550100@127.0.0.1",
                ring_timeout_s=30.0,
            ).as_record()
        leased = await self.acquire(
            call.id,
            CallDirection.outbound,
            total_limit=None,
            ttl_s=lease_ttl_s,
            at_offset_s=at_offset_s,
        )
        assert leased
        return call.id

    async def reap(self, now: datetime) -> list[uuid.UUID]:
        async with session_scope(self.sm) as session:
            return await lease_service.end_abandoned(session, GRACE_S, now=now)


@pytest.fixture
async def line(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> Line:
    number = await purchased_number(sessionmaker, api.slug)
    return Line(sessionmaker, await workspace_id(sessionmaker, api.slug), number.id)


async def kinds(sm: async_sessionmaker[AsyncSession], call_id: uuid.UUID) -> list[str]:
    async with sm() as session:
        rows = await session.scalars(
            select(CallEvent.kind).where(CallEvent.call_id == call_id).order_by(CallEvent.at)
        )
        return list(rows)


async def lease_of(sm: async_sessionmaker[AsyncSession], call_id: uuid.UUID) -> CallLease | None:
    async with sm() as session:
        return await session.scalar(select(CallLease).where(CallLease.call_id == call_id))


class TestEndAbandoned:
    async def test_answered_call_of_a_dead_worker_completes_as_an_error(self, line: Line) -> None:
        call_id = await line.ringing()
        await f.answer(line.sm, call_id)
        # the worker died: nothing renewed the lease, which expired a whole grace ago
        later = utcnow() + timedelta(seconds=TTL_S + GRACE_S + 1)

        assert call_id in await line.reap(later)

        row = await get_row(line.sm, Call, call_id)
        assert (row.status, row.end_reason) == ("completed", EndReason.error.value)
        assert row.ended_at is not None
        assert await kinds(line.sm, call_id) == [
            "invite_received",
            "answered",
            EventKind.lease_expired.value,
            "ended",
        ]
        async with line.sm() as session:
            expired = await session.scalar(
                select(CallEvent.detail).where(
                    CallEvent.call_id == call_id, CallEvent.kind == EventKind.lease_expired
                )
            )
        assert expired == {"worker_id": f.WORKER, "status": "in_progress"}
        assert await lease_of(line.sm, call_id) is None  # its channel is free for good

    async def test_ringing_call_without_a_lease_fails(self, line: Line) -> None:
        call_id = await line.ringing(lease_ttl_s=None)

        assert call_id in await line.reap(utcnow() + timedelta(seconds=GRACE_S + 1))

        row = await get_row(line.sm, Call, call_id)
        assert (row.status, row.end_reason) == ("failed", "error")

    async def test_a_lease_expired_within_the_grace_is_left_for_its_worker(
        self, line: Line
    ) -> None:
        call_id = await line.ringing()
        # expired TTL + 1 s ago: a stalled worker's next heartbeat may still revive it
        later = utcnow() + timedelta(seconds=TTL_S + 1)

        assert call_id not in await line.reap(later)
        assert (await get_row(line.sm, Call, call_id)).status == "ringing"

    async def test_a_live_lease_keeps_its_call(self, line: Line) -> None:
        call_id = await line.ringing(lease_ttl_s=3600)

        assert call_id not in await line.reap(utcnow() + timedelta(seconds=GRACE_S + 60))
        assert await lease_of(line.sm, call_id) is not None

    async def test_a_new_call_still_taking_its_lease_is_left(self, line: Line) -> None:
        """Record first, lease next: a call younger than the grace is never judged."""
        call_id = await line.ringing(lease_ttl_s=None)

        assert call_id not in await line.reap(utcnow())
        assert (await get_row(line.sm, Call, call_id)).ended_at is None

    async def test_an_ended_call_is_not_ended_again(self, line: Line) -> None:
        call_id = await line.ringing()
        await f.end(line.sm, call_id, CallStatus.canceled, EndReason.caller_hangup)

        assert call_id not in await line.reap(utcnow() + timedelta(hours=1))
        row = await get_row(line.sm, Call, call_id)
        assert (row.status, row.end_reason) == ("canceled", "caller_hangup")


class TestQueuedOutbound:
    async def test_claimed_only_within_its_lease(self, line: Line) -> None:
        fresh = await line.queued(lease_ttl_s=TTL_S)
        stale = await line.queued(lease_ttl_s=TTL_S, at_offset_s=-(TTL_S + 1))

        async with session_scope(line.sm) as session:
            claimed = await call_service.claim_queued_outbound(session, "worker-claims", 1000)

        ids = {plan.call_id for plan in claimed}
        assert fresh in ids and stale not in ids
        assert (await get_row(line.sm, Call, stale)).worker_id is None

    async def test_one_no_worker_claimed_fails_instead_of_dialling_late(self, line: Line) -> None:
        stale = await line.queued(lease_ttl_s=TTL_S)
        later = utcnow() + timedelta(seconds=TTL_S + GRACE_S + 1)

        assert stale in await line.reap(later)

        row = await get_row(line.sm, Call, stale)
        assert (row.status, row.end_reason) == ("failed", "error")
        assert (await kinds(line.sm, stale))[-2:] == [EventKind.lease_expired.value, "ended"]


class TestStalledWorker:
    async def test_finds_its_ended_calls_among_those_to_hang_up(self, line: Line) -> None:
        """A worker that stalled past the grace finds its call ended on its next heartbeat,
        and hangs it up rather than carrying a call the record says has ended."""
        live, abandoned = await line.ringing(lease_ttl_s=3600), await line.ringing()
        await line.reap(utcnow() + timedelta(seconds=TTL_S + GRACE_S + 1))

        async with line.sm() as session:
            due = await call_service.hangups_requested(session, f.WORKER, [live, abandoned])
            others = await call_service.hangups_requested(session, "worker-2", [abandoned])

        assert (due, others) == ({abandoned}, set())
