"""Queries for the SMS outbox."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams, page_of
from trunkline.models import SmsMessage


async def add(session: AsyncSession, message: SmsMessage) -> None:
    session.add(message)
    await session.flush()


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[SmsMessage], int]:
    """Newest first (ties by id, so pages neither overlap nor skip)."""
    mine = SmsMessage.workspace_id == workspace_id
    return await page_of(
        session,
        select(SmsMessage).where(mine).order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc()),
        select(func.count()).select_from(SmsMessage).where(mine),
        params,
    )
