"""Queries for phone numbers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.repository import insert_ignoring_conflicts
from trunkline.models import PhoneNumber


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
) -> PhoneNumber | None:
    result = await session.execute(
        select(PhoneNumber).where(
            PhoneNumber.id == phone_number_id, PhoneNumber.workspace_id == workspace_id
        )
    )
    return result.scalar_one_or_none()


async def get_by_number(
    session: AsyncSession, workspace_id: uuid.UUID, e164: str
) -> PhoneNumber | None:
    result = await session.execute(
        select(PhoneNumber).where(
            PhoneNumber.workspace_id == workspace_id, PhoneNumber.number == e164
        )
    )
    return result.scalar_one_or_none()


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert a number row unless (workspace, number) exists — concurrent creators all succeed."""
    await session.execute(insert_ignoring_conflicts(session, PhoneNumber).values(**values))


async def remove(session: AsyncSession, phone_number_id: uuid.UUID) -> None:
    await session.execute(delete(PhoneNumber).where(PhoneNumber.id == phone_number_id))
