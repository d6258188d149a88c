"""Queries for SIP trunk connections."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams
from trunkline.models import SipConnection


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, connection_id: uuid.UUID
) -> SipConnection | None:
    result = await session.execute(
        select(SipConnection).where(
            SipConnection.id == connection_id, SipConnection.workspace_id == workspace_id
        )
    )
    return result.scalar_one_or_none()


async def add(session: AsyncSession, connection: SipConnection) -> None:
    session.add(connection)
    await session.flush()


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[SipConnection], int]:
    total = await session.scalar(
        select(func.count())
        .select_from(SipConnection)
        .where(SipConnection.workspace_id == workspace_id)
    )
    rows = await session.execute(
        select(SipConnection)
        .where(SipConnection.workspace_id == workspace_id)
        .order_by(SipConnection.created_at, SipConnection.id)
        .offset(params.offset)
        .limit(params.per_page)
    )
    return list(rows.scalars()), int(total or 0)
