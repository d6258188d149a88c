"""Queries for external trunk rows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db import insert_ignoring_conflicts
from trunkline.models import Trunk


async def get(session: AsyncSession, phone_number_id: uuid.UUID, channel: str) -> Trunk | None:
    result = await session.execute(
        select(Trunk).where(Trunk.phone_number_id == phone_number_id, Trunk.channel == channel)
    )
    return result.scalar_one_or_none()


async def try_insert(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless (number, channel) already has a row; False means it does."""
    result = await session.execute(insert_ignoring_conflicts(session, Trunk), values)
    return bool(getattr(result, "rowcount", 0))


async def remove(session: AsyncSession, trunk_id: uuid.UUID) -> None:
    await session.execute(delete(Trunk).where(Trunk.id == trunk_id))


async def count_for_number(session: AsyncSession, phone_number_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Trunk).where(Trunk.phone_number_id == phone_number_id)
    )
    return int(total or 0)
