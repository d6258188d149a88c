"""Live-call leases (docs/calls.md §6): one row per live call, so a number's channel limits
hold across every call worker on one database, and a crashed worker's calls expire instead of
leaking (no counter that can drift).

A worker takes a lease before it accepts or places a call, extends all of its leases on each
heartbeat, and frees one when its call ends (``call_service.mark_ended`` does that in the same
transaction as the end).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.call import repository as repo
from trunkline.call.rules import CallDirection, EndReason, EventKind, abandoned_end, within_limits
from trunkline.call.service import call_service
from trunkline.kit.clock import utcnow

_TICK = timedelta(microseconds=1)


class LeaseService:
    async def acquire_lease(
        self,
        session: AsyncSession,
        *,
        line_id: uuid.UUID,
        call_id: uuid.UUID,
        direction: CallDirection,
        worker_id: str,
        ttl_s: float,
        inbound_limit: int | None,
        total_limit: int | None,
        now: datetime | None = None,
        counted: tuple[int, int] | None = None,
    ) -> bool:
        """Take one of the line's channels for ``call_id``, or False when its limits are
        reached. Counted under the line's lock, so concurrent takers (on any worker of this
        database) never exceed a limit; expired leases (a crashed worker's) do not count. A
        call that already holds its lease keeps it (True). The line is the number's inventory
        row, or the connection / connector that holds a number outside the inventory.

        ``counted``: the line's live ``(inbound, total)`` that ``locked_lease_counts`` read in
        this very transaction (the lock still held), so neither lock nor count is repeated."""
        now = now or utcnow()
        if counted is None:
            await repo.lock_line_leases(session, line_id)
            counted = await repo.count_live_leases(session, line_id, now)
        live_inbound, live_total = counted
        if not within_limits(
            direction,
            live_inbound=live_inbound,
            live_total=live_total,
            inbound_limit=inbound_limit,
            total_limit=total_limit,
        ):
            return False
        await repo.insert_lease(
            session,
            {
                "id": uuid.uuid4(),
                "call_id": call_id,
                "line_id": line_id,
                "direction": direction.value,
                "worker_id": worker_id,
                "expires_at": now + timedelta(seconds=ttl_s),
            },
        )
        return True

    async def lease_counts(
        self, session: AsyncSession, line_ids: Sequence[uuid.UUID], now: datetime | None = None
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Live calls per line, ``(inbound, all directions)``: what routing's limit check reads
        (the authoritative count is ``acquire_lease``'s, under the line's lock)."""
        return await repo.count_live_leases_of(session, line_ids, now or utcnow())

    async def locked_lease_counts(
        self, session: AsyncSession, line_ids: Sequence[uuid.UUID], now: datetime | None = None
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """``lease_counts`` under the lines' locks, held until the transaction ends: the call
        worker decides and takes its lease in one transaction, so this count is the
        authoritative one (pass it to ``acquire_lease`` as ``counted``)."""
        await repo.lock_line_leases(session, *line_ids)
        return await repo.count_live_leases_of(session, line_ids, now or utcnow())

    async def heartbeat(
        self, session: AsyncSession, worker_id: str, ttl_s: float, now: datetime | None = None
    ) -> int:
        """Extend every lease of the worker to ``now + ttl_s`` in one UPDATE; how many.

        A lease that expired while its worker stalled (a long pause, a lost database link) is
        extended too: its call is still up on this worker, so it counts again. The number may
        then run over its limit for a while, which is better than a live call nobody counts."""
        return await repo.extend_leases(
            session, worker_id, (now or utcnow()) + timedelta(seconds=ttl_s)
        )

    async def release_lease(self, session: AsyncSession, call_id: uuid.UUID) -> bool:
        """Free the call's channel (also done by ``mark_ended``); False when it held none."""
        return await repo.delete_lease(session, call_id) > 0

    async def sweep_expired_leases(self, session: AsyncSession, now: datetime | None = None) -> int:
        """Delete leases that expired before ``now`` (they already stopped counting); how many.

        Pass a ``now`` some heartbeats in the past to leave a stalled worker's leases for its
        heartbeat to revive; once deleted, they are gone."""
        return await repo.delete_expired_leases(session, now or utcnow())

    async def end_abandoned(
        self, session: AsyncSession, grace_s: float, now: datetime | None = None, limit: int = 100
    ) -> list[uuid.UUID]:
        """End the live calls no worker carries any more: their lease expired ``grace_s`` ago
        without a heartbeat renewing it (a worker killed, or a queued outbound call no worker
        claimed in time), or they hold none. Each ends as an ``error`` (``rules.abandoned_end``
        picks the status) after a ``lease_expired`` event naming the worker, and its lease row
        goes with the end. Run on every worker's heartbeat, so the calls API never shows a call
        as live for ever; a worker that was only stalled finds its calls ended on its next
        heartbeat and hangs them up. Returns the calls it ended."""
        now = now or utcnow()
        cutoff = now - timedelta(seconds=grace_s)
        ended = []
        for call_id, status, worker_id in await repo.abandoned_calls(session, cutoff, limit):
            final = abandoned_end(status)
            ended_at = now + _TICK  # the timeline reads: lease expired, then ended
            if not await call_service.mark_ended(
                session, call_id, status=final, end_reason=EndReason.error, at=ended_at
            ):
                continue  # it ended meanwhile, on its own
            detail = {"worker_id": worker_id, "status": status.value}
            await call_service.record_event(
                session, call_id, EventKind.lease_expired, detail, at=now
            )
            ended.append(call_id)
        return ended


lease_service = LeaseService()
