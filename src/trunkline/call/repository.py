"""Queries for calls, call events and call leases (the call domain owns these three tables)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.call.rules import CallDirection, CallStatus
from trunkline.db import insert_ignoring_conflicts, key_read, lock_keys
from trunkline.kit.pagination import PageParams, page_of
from trunkline.models import Call, CallEvent, CallLease


@dataclass(frozen=True)
class CallFilters:
    """List filters; ``None`` means "any"."""

    status: CallStatus | None = None
    direction: CallDirection | None = None
    agent_id: uuid.UUID | None = None
    numbers: tuple[str, ...] = ()  # forms of one number; a call matches on from or to


# -- calls ---------------------------------------------------------------------------------------


async def add(session: AsyncSession, call: Call, events: Sequence[CallEvent] = ()) -> None:
    session.add(call)
    session.add_all(events)
    await session.flush()


# The call worker's writes as Core statements on the tables, each built once (module
# constants; SQLAlchemy caches their compiled form): no ORM objects, identity map or unit of
# work per call. Measured on the call-record transactions of one inbound call (open + lease,
# answered, ended; SQLite, paired, loaded machine): 4.3-4.6 ms CPU per call through the ORM,
# 2.9-3.1 ms with these; the whole setup 10.2-15.2 -> 8.2-11.4 ms per call (bench/README.md,
# "2026-12-01 (third session)").
_CALL = cast(Table, Call.__table__)
_EVENT = cast(Table, CallEvent.__table__)
_LEASE = cast(Table, CallLease.__table__)
_INSERT_CALL = insert(_CALL)
_INSERT_EVENT = insert(_EVENT)
_CALL_STATE = key_read(
    select(_CALL.c.status, _CALL.c.media).where(_CALL.c.id == bindparam("call_id"))
)
# A status move is a compare-and-set on the status it was decided from: a call that moved
# meanwhile (another transaction ended it) is not moved again (rowcount 0).
_MOVE_CALL = update(_CALL).where(
    _CALL.c.id == bindparam("call_id"), _CALL.c.status == bindparam("from_status")
)


async def insert_call(
    session: AsyncSession, row: dict[str, Any], events: Sequence[dict[str, Any]] = ()
) -> None:
    """A call row and its first events: two Core INSERTs (the events in one batch)."""
    await session.execute(_INSERT_CALL, row)
    await insert_events(session, events)


async def insert_events(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    """Events in one executemany. (A prebuilt multi-row INSERT, which SQLite would run on the
    loop's thread, measured 0.5 ms of CPU *more* per call setup on both databases: SQLAlchemy
    derives the cache key of its 35 bind parameters on every execution.)"""
    if len(events) == 1:
        await session.execute(_INSERT_EVENT, events[0])
    elif events:
        await session.execute(_INSERT_EVENT, list(events))


async def call_state(
    session: AsyncSession, call_id: uuid.UUID
) -> tuple[str, dict[str, Any]] | None:
    """A call's ``(status, media)``, or None: what a status move is decided on (a key read)."""
    row = (await session.execute(_CALL_STATE, {"call_id": call_id})).first()
    return None if row is None else (row[0], row[1])


async def move_call(
    session: AsyncSession, call_id: uuid.UUID, from_status: str, values: dict[str, Any]
) -> bool:
    """Set ``values`` on the call if it is still in ``from_status``; False if it moved."""
    result = await session.execute(
        _MOVE_CALL, {"call_id": call_id, "from_status": from_status, **values}
    )
    return bool(getattr(result, "rowcount", 0))


async def get(session: AsyncSession, workspace_id: uuid.UUID, call_id: uuid.UUID) -> Call | None:
    return await session.scalar(
        select(Call).where(Call.id == call_id, Call.workspace_id == workspace_id)
    )


# A key read: each status write of a live call reads its row first (on SQLite this spares the
# worker round trip of that read: two of a call's setup and end transactions).
_CALL_BY_ID = key_read(select(Call).where(Call.id == bindparam("call_id")))


async def get_by_id(session: AsyncSession, call_id: uuid.UUID) -> Call | None:
    """Any workspace's call (the call worker's side; the API always scopes by workspace)."""
    return await session.scalar(_CALL_BY_ID, {"call_id": call_id})


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, filters: CallFilters, params: PageParams
) -> tuple[list[Call], int]:
    where: list[Any] = [Call.workspace_id == workspace_id]
    if filters.status is not None:
        where.append(Call.status == filters.status.value)
    if filters.direction is not None:
        where.append(Call.direction == filters.direction.value)
    if filters.agent_id is not None:
        where.append(Call.agent_id == filters.agent_id)
    if filters.numbers:
        where.append(
            or_(Call.from_number.in_(filters.numbers), Call.to_number.in_(filters.numbers))
        )
    # Newest first; kit.pagination.page_of picks the page's ids from the (workspace_id,
    # created_at, id) index and counts only when the page cannot tell the total.
    return await page_of(
        session,
        select(Call),
        select(func.count()).select_from(Call).where(*where),
        params,
        where=where,
        key=Call.id,
        order=(Call.created_at.desc(), Call.id.desc()),
    )


async def hangups_requested(
    session: AsyncSession, worker_id: str, call_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Of these calls of the worker, those the API asked to hang up, and those whose record
    has already ended (ended as abandoned while the worker stalled: it must not go on)."""
    if not call_ids:
        return set()
    rows = await session.scalars(
        select(Call.id).where(
            Call.id.in_(list(call_ids)),
            Call.worker_id == worker_id,
            or_(Call.hangup_requested_at.is_not(None), Call.ended_at.is_not(None)),
        )
    )
    return set(rows)


def _lease_live_after(cutoff: datetime) -> Any:
    """The call holds a lease that expires after ``cutoff`` (found by its unique call_id)."""
    return (
        select(CallLease.id)
        .where(CallLease.call_id == Call.id, CallLease.expires_at > cutoff)
        .exists()
    )


async def abandoned_calls(
    session: AsyncSession, cutoff: datetime, limit: int
) -> list[tuple[uuid.UUID, CallStatus, str | None]]:
    """``(id, status, worker_id)`` of live calls placed before ``cutoff`` whose lease expired
    before it, or that hold none: no worker carries them any more. Oldest first, through the
    live-calls index."""
    rows = await session.execute(abandoned_calls_stmt(cutoff, limit))
    return [(id_, CallStatus(status), worker) for id_, status, worker in rows]


def abandoned_calls_stmt(cutoff: datetime, limit: int) -> Select[uuid.UUID, str, str | None]:
    return (
        select(Call.id, Call.status, Call.worker_id)
        .where(Call.ended_at.is_(None), Call.created_at < cutoff, ~_lease_live_after(cutoff))
        .order_by(Call.created_at)
        .limit(limit)
    )


def queued_outbound_stmt(now: datetime, limit: int) -> Select[uuid.UUID]:
    """Unclaimed queued outbound calls within their leases, oldest first, locked for the
    claim (a concurrent claimer skips them); through the live-calls index. ``created_at <=
    now`` excludes nothing; it is the range on that index's column that keeps SQLite, once it
    has statistics, from walking the workspace index instead (seen in the full suite)."""
    return (
        select(Call.id)
        .where(
            Call.ended_at.is_(None),
            Call.created_at <= now,
            Call.status == CallStatus.queued,
            Call.direction == CallDirection.outbound,
            Call.worker_id.is_(None),
            _lease_live_after(now),
        )
        .order_by(Call.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def claim_queued_outbound(
    session: AsyncSession, worker_id: str, limit: int, now: datetime
) -> list[Call]:
    """Take queued outbound calls no worker carries yet (an API process without a call worker
    placed them): one UPDATE marks them this worker's; a call is claimed once (PostgreSQL
    re-checks ``worker_id IS NULL`` after a concurrent claim; SQLite serializes writers).
    Only calls whose lease is still live: one that waited past its lease is not counted
    against its line's limits any more, and is ended as abandoned instead of dialled late."""
    waiting = queued_outbound_stmt(now, limit)
    claimed = await session.execute(
        update(Call)
        .where(Call.id.in_(waiting.scalar_subquery()), Call.worker_id.is_(None))
        .values(worker_id=worker_id)
        .returning(Call.id)
        .execution_options(synchronize_session=False)
    )
    ids = [row[0] for row in claimed]
    if not ids:
        return []
    await session.execute(
        update(CallLease).where(CallLease.call_id.in_(ids)).values(worker_id=worker_id)
    )
    return list(await session.scalars(select(Call).where(Call.id.in_(ids))))


# -- events --------------------------------------------------------------------------------------


async def add_event(session: AsyncSession, event: CallEvent, *, flush: bool = True) -> None:
    session.add(event)
    if flush:
        await session.flush()


async def events_page(
    session: AsyncSession, call_id: uuid.UUID, params: PageParams
) -> tuple[list[CallEvent], int]:
    of_call = [CallEvent.call_id == call_id]
    return await page_of(
        session,
        select(CallEvent).order_by(CallEvent.at, CallEvent.id),
        select(func.count()).select_from(CallEvent).where(*of_call),
        params,
        where=of_call,
    )


# -- leases --------------------------------------------------------------------------------------


async def lock_line_leases(session: AsyncSession, *line_ids: uuid.UUID) -> None:
    """Hold the lines' lease locks until the transaction ends: count-then-insert needs them.
    Their own key namespace (``call_lease:``), so lease takers never queue behind a
    registration that locks the same number; under READ COMMITTED the count that follows sees
    every lease the previous holder committed (db/locks.py)."""
    await lock_keys(session, [f"call_lease:{line_id}" for line_id in line_ids])


_INBOUND = case((CallLease.direction == CallDirection.inbound.value, 1), else_=0)
_INBOUND_OF_ROW = case((_LEASE.c.direction == CallDirection.inbound.value, 1), else_=0)


async def count_live_leases(
    session: AsyncSession, line_id: uuid.UUID, now: datetime
) -> tuple[int, int]:
    """``(inbound, total)`` unexpired leases of the line (found through its index)."""
    row = (
        await session.execute(
            select(func.coalesce(func.sum(_INBOUND), 0), func.count()).where(
                CallLease.line_id == line_id, CallLease.expires_at > now
            )
        )
    ).one()
    return int(row[0]), int(row[1])


# On the table's columns, not the ORM entity's: a Core statement skips the ORM's compile and
# loading steps (this read alone: ~0.35 -> ~0.26 ms of CPU per transaction, one noisy run).
_LIVE_LEASES_OF = key_read(
    select(_LEASE.c.line_id, func.sum(_INBOUND_OF_ROW), func.count())
    .where(
        _LEASE.c.line_id.in_(bindparam("line_ids", expanding=True)),
        _LEASE.c.expires_at > bindparam("now"),
    )
    .group_by(_LEASE.c.line_id)
)


async def count_live_leases_of(
    session: AsyncSession, line_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, tuple[int, int]]:
    """``(inbound, total)`` unexpired leases of each line that has any (one grouped read,
    through the ``(line_id, expires_at)`` index: a key read)."""
    rows = await session.execute(_LIVE_LEASES_OF, {"line_ids": list(line_ids), "now": now})
    return {line: (int(inbound), int(total)) for line, inbound, total in rows}


async def insert_lease(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a lease; False when the call already holds one (its unique call_id)."""
    result = await session.execute(insert_ignoring_conflicts(session, CallLease), values)
    return bool(getattr(result, "rowcount", 0))


async def extend_leases(session: AsyncSession, worker_id: str, expires_at: datetime) -> int:
    result = await session.execute(
        update(CallLease).where(CallLease.worker_id == worker_id).values(expires_at=expires_at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


_DELETE_LEASE = delete(_LEASE).where(_LEASE.c.call_id == bindparam("lease_call_id"))


async def delete_lease(session: AsyncSession, call_id: uuid.UUID) -> int:
    result = await session.execute(_DELETE_LEASE, {"lease_call_id": call_id})
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_expired_leases(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(CallLease).where(CallLease.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
