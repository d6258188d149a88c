"""Live-call leases (docs/calls.md §6): counted under the number's lock, so concurrent takers
on separate transactions never exceed a limit, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.call import factories as f
from tests.support.api import Api
from tests.support.rows import purchased_number, workspace_id
from trunkline.call.leases import lease_service
from trunkline.call.rules import CallDirection, CallStatus, EndReason
from trunkline.config import Settings
from trunkline.db import create_engine, create_sessionmaker, session_scope
from trunkline.kit.clock import utcnow
from trunkline.models import CallLease

IN, OUT = CallDirection.inbound, CallDirection.outbound
TTL_S = 30.0


class Line:
    """A number of the test's workspace and a way to open calls on it."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], ws: uuid.UUID, number_id: uuid.UUID):
        self.sm, self.ws, self.number_id = sm, ws, number_id

    async def call(self) -> uuid.UUID:
        return (await f.inbound(self.sm, self.ws, phone_number_id=self.number_id, checks=[])).id

    async def acquire(
        self,
        call_id: uuid.UUID,
        direction: CallDirection = IN,
        *,
        inbound_limit: int | None = None,
        total_limit: int | None = 2,
        worker_id: str = f.WORKER,
        ttl_s: float = TTL_S,
        at_offset_s: float = 0,
    ) -> bool:
        """Take a lease in a transaction of its own (its own connection)."""
        async with session_scope(self.sm) as session:
            return await lease_service.acquire_lease(
                session,
                line_id=self.number_id,
                call_id=call_id,
                direction=direction,
                worker_id=worker_id,
                ttl_s=ttl_s,
                inbound_limit=inbound_limit,
                total_limit=total_limit,
                now=utcnow() + timedelta(seconds=at_offset_s),
            )

    async def leases(self) -> int:
        async with self.sm() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(CallLease)
                    .where(CallLease.line_id == self.number_id)
                )
                or 0
            )


@pytest.fixture
async def line(api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> Line:
    number = await purchased_number(sessionmaker, api.slug)
    return Line(sessionmaker, await workspace_id(sessionmaker, api.slug), number.id)


N = 12


@pytest.mark.slow
class TestConcurrentAcquire:
    async def test_limit_two_has_exactly_two_winners(self, line: Line, backend: str) -> None:
        calls = [await line.call() for _ in range(N)]

        won = await asyncio.gather(*(line.acquire(c, total_limit=2) for c in calls))

        assert Counter(won) == {True: 2, False: N - 2}, backend
        assert await line.leases() == 2

    async def test_inbound_limit_and_total_limit_together(self, line: Line) -> None:
        calls = [await line.call() for _ in range(N)]
        directions = [IN if i % 2 else OUT for i in range(N)]

        won = await asyncio.gather(
            *(
                line.acquire(c, d, inbound_limit=1, total_limit=3)
                for c, d in zip(calls, directions, strict=True)
            )
        )

        winners = Counter(d for d, w in zip(directions, won, strict=True) if w)
        assert sum(winners.values()) == 3
        assert winners[IN] <= 1

    async def test_two_numbers_do_not_share_a_limit(
        self, line: Line, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        other = Line(sessionmaker, line.ws, (await purchased_number(sessionmaker, api.slug)).id)
        calls = [(line, await line.call()) for _ in range(4)]
        calls += [(other, await other.call()) for _ in range(4)]

        won = await asyncio.gather(*(ln.acquire(c, total_limit=1) for ln, c in calls))

        assert (won[:4].count(True), won[4:].count(True)) == (1, 1)


class TestAcrossWorkers:
    """A second engine and sessionmaker is what a second worker process has: on SQLite it does
    not share the first one's in-process write gate, so only the database's own lock keeps the
    count and the insert together. The interleaving is forced, not left to the scheduler: the
    second worker tries while the first has counted and inserted but not committed."""

    async def test_a_taker_waits_for_the_holder_and_then_counts_its_lease(
        self, line: Line, settings: Settings
    ) -> None:
        first_call, second_call = await line.call(), await line.call()
        other_engine = create_engine(settings)
        other_worker = Line(create_sessionmaker(other_engine), line.ws, line.number_id)
        try:
            async with session_scope(line.sm) as holder:
                assert await lease_service.acquire_lease(
                    holder,
                    line_id=line.number_id,
                    call_id=first_call,
                    direction=IN,
                    worker_id=f.WORKER,
                    ttl_s=TTL_S,
                    inbound_limit=None,
                    total_limit=1,
                )
                taker = asyncio.create_task(
                    other_worker.acquire(second_call, total_limit=1, worker_id="worker-2")
                )
                await asyncio.sleep(0.3)
                assert not taker.done()  # queued on the number's lock, not counting yet
            assert await taker is False
        finally:
            await other_engine.dispose()

        assert await line.leases() == 1


class TestAcquire:
    async def test_no_limit(self, line: Line) -> None:
        results = [await line.acquire(await line.call(), total_limit=None) for _ in range(5)]

        assert results == [True] * 5

    async def test_same_call_twice_keeps_its_one_lease(self, line: Line) -> None:
        call = await line.call()

        assert await line.acquire(call, total_limit=1)
        assert await line.acquire(call, total_limit=None)
        assert await line.leases() == 1

    async def test_an_expired_lease_frees_its_slot(self, line: Line) -> None:
        first, second = await line.call(), await line.call()
        assert await line.acquire(first, total_limit=1, ttl_s=TTL_S)

        assert not await line.acquire(second, total_limit=1, at_offset_s=TTL_S - 1)
        assert await line.acquire(second, total_limit=1, at_offset_s=TTL_S + 1)

    async def test_heartbeat_keeps_the_lease(self, line: Line) -> None:
        first, second = await line.call(), await line.call()
        assert await line.acquire(first, total_limit=1, ttl_s=TTL_S)

        async with session_scope(line.sm) as session:
            extended = await lease_service.heartbeat(
                session, f.WORKER, TTL_S, now=utcnow() + timedelta(seconds=TTL_S - 1)
            )

        assert extended >= 1
        # Past the first expiry, before the extended one: still held.
        assert not await line.acquire(second, total_limit=1, at_offset_s=TTL_S + 1)
        assert await line.acquire(second, total_limit=1, at_offset_s=2 * TTL_S)

    async def test_heartbeat_extends_only_its_worker_s_leases(self, line: Line) -> None:
        mine, theirs, third = await line.call(), await line.call(), await line.call()
        await line.acquire(mine, total_limit=None, worker_id="w-mine")
        await line.acquire(theirs, total_limit=None, worker_id="w-theirs")

        async with session_scope(line.sm) as session:
            extended = await lease_service.heartbeat(
                session, "w-mine", TTL_S, now=utcnow() + timedelta(seconds=TTL_S - 1)
            )

        assert extended == 1
        # After the first TTL only the extended lease counts.
        assert await line.acquire(third, total_limit=2, at_offset_s=TTL_S + 1)

    async def test_release_frees_the_slot(self, line: Line) -> None:
        first, second = await line.call(), await line.call()
        await line.acquire(first, total_limit=1)

        async with session_scope(line.sm) as session:
            assert await lease_service.release_lease(session, first)
            assert not await lease_service.release_lease(session, first)

        assert await line.acquire(second, total_limit=1)

    async def test_ending_the_call_frees_the_slot(self, line: Line) -> None:
        first, second = await line.call(), await line.call()
        await line.acquire(first, total_limit=1)

        await f.end(line.sm, first, CallStatus.canceled, EndReason.caller_hangup)

        assert await line.leases() == 0
        assert await line.acquire(second, total_limit=1)

    async def test_sweep_deletes_expired_leases_only(self, line: Line) -> None:
        short, long = await line.call(), await line.call()
        await line.acquire(short, total_limit=None, ttl_s=5)
        await line.acquire(long, total_limit=None, ttl_s=60)

        async with session_scope(line.sm) as session:
            swept = await lease_service.sweep_expired_leases(
                session, now=utcnow() + timedelta(seconds=10)
            )

        assert swept >= 1  # other tests' expired leases may go too
        assert await line.leases() == 1


class TestStalledWorker:
    async def test_heartbeat_revives_an_expired_lease_it_still_has(self, line: Line) -> None:
        first, second = await line.call(), await line.call()
        await line.acquire(first, total_limit=1, ttl_s=TTL_S)
        later = utcnow() + timedelta(seconds=2 * TTL_S)

        async with session_scope(line.sm) as session:
            assert await lease_service.heartbeat(session, f.WORKER, TTL_S, now=later) >= 1

        assert not await line.acquire(second, total_limit=1, at_offset_s=2 * TTL_S + 1)


class TestLeaseCounts:
    async def test_counts_per_line_in_one_read(self, line: Line) -> None:
        """What routing reads for its limit check: (inbound, total) per line, live only."""
        assert await line.acquire(await line.call(), IN, total_limit=None)
        assert await line.acquire(await line.call(), OUT, total_limit=None)
        # an expired lease (a dead worker's) no longer counts
        assert await line.acquire(await line.call(), IN, total_limit=None, at_offset_s=-3600)
        idle = uuid.uuid4()
        async with session_scope(line.sm) as session:
            counts = await lease_service.lease_counts(session, [line.number_id, idle])
        assert counts == {line.number_id: (1, 2)}
