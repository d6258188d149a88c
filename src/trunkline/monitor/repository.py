"""Monitor queries: claim due targets under a lease, write results, record status changes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams, page_of
from trunkline.kit.sip_status import SipStatus
from trunkline.models import SipStatusEvent
from trunkline.monitor.targets import Kind


async def claim_due(
    session: AsyncSession,
    kind: Kind,
    *,
    owner: str,
    now: datetime,
    lease_s: float,
    interval_s: float,
    limit: int,
) -> list[Any]:
    """Claim up to ``limit`` due rows for ``owner`` and return them.

    One UPDATE both leases the rows and pushes ``next_check_at`` a whole interval ahead, and
    its outer WHERE re-checks ``next_check_at <= now``: on PostgreSQL a row claimed by another
    instance in the meantime is re-evaluated and skipped (and SKIP LOCKED avoids waiting on it);
    SQLite serializes writers. Either way a target is checked once per interval.
    """
    model = kind.model
    due = (
        select(model.id)
        .where(
            kind.monitored,
            model.next_check_at <= now,
            model.status != SipStatus.disabled,
            or_(model.lease_until.is_(None), model.lease_until < now),
        )
        .order_by(model.next_check_at)
        .limit(limit)
    )
    # PostgreSQL renders FOR UPDATE SKIP LOCKED; SQLite's compiler renders nothing (it has no
    # row locks and serializes writers anyway).
    due = due.with_for_update(skip_locked=True)
    claimed = await session.execute(
        update(model)
        .where(model.id.in_(due.scalar_subquery()), model.next_check_at <= now)
        .values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_s),
            next_check_at=now + timedelta(seconds=interval_s),
        )
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    ids = [row[0] for row in claimed]
    if not ids:
        return []
    rows = await session.execute(select(model).where(model.id.in_(ids)))
    return list(rows.scalars())


async def write_results(session: AsyncSession, kind: Kind, results: list[dict[str, Any]]) -> None:
    """Store each checked row's status and schedule in one executemany, releasing the lease.

    Each result carries ``v_id``, ``v_owner`` and ``v_<column>`` values. Rows deleted (or
    re-leased by another instance after our lease ran out) while being checked match nothing.
    """
    if not results:
        return
    table = kind.model.__table__
    stmt = (
        update(table)
        .where(table.c.id == bindparam("v_id"), table.c.lease_owner == bindparam("v_owner"))
        .values(
            status=bindparam("v_status"),
            status_detail=bindparam("v_status_detail"),
            last_checked_at=bindparam("v_last_checked_at"),
            check_misses=bindparam("v_check_misses"),
            next_check_at=bindparam("v_next_check_at"),
            lease_owner=None,
            lease_until=None,
        )
    )
    await session.execute(stmt, results)


async def write_one(
    session: AsyncSession, kind: Kind, target_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Store a check made on demand (no lease involved)."""
    model = kind.model
    await session.execute(
        update(model)
        .where(model.id == target_id)
        .values(**values, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def add_events(session: AsyncSession, events: list[SipStatusEvent]) -> None:
    session.add_all(events)
    await session.flush()


async def page_events(
    session: AsyncSession, workspace_id: uuid.UUID, target_id: uuid.UUID, params: PageParams
) -> tuple[list[SipStatusEvent], int]:
    where = (SipStatusEvent.workspace_id == workspace_id, SipStatusEvent.target_id == target_id)
    return await page_of(
        session,
        select(SipStatusEvent)
        .where(*where)
        .order_by(SipStatusEvent.created_at.desc(), SipStatusEvent.id.desc()),
        select(func.count()).select_from(SipStatusEvent).where(*where),
        params,
    )


async def existing_ids(session: AsyncSession, kind: Kind, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` still exist and are not disabled (to un-REGISTER the others)."""
    if not ids:
        return set()
    model = kind.model
    rows = await session.execute(
        select(model.id).where(
            model.id.in_(ids), model.status != SipStatus.disabled, kind.monitored
        )
    )
    return {row[0] for row in rows}


async def get_target(session: AsyncSession, kind: Kind, target_id: uuid.UUID) -> Any | None:
    """One monitored row (trunk row, connection or PBX connector) by id."""
    return await session.get(kind.model, target_id)
