"""Queries for agents."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams
from trunkline.models import Agent


async def get(session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.id == agent_id, Agent.workspace_id == workspace_id)
    )
    return result.scalar_one_or_none()


async def add(session: AsyncSession, agent: Agent) -> None:
    session.add(agent)
    await session.flush()


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[Agent], int]:
    total = await session.scalar(
        select(func.count()).select_from(Agent).where(Agent.workspace_id == workspace_id)
    )
    rows = await session.execute(
        select(Agent)
        .where(Agent.workspace_id == workspace_id)
        .order_by(Agent.created_at, Agent.id)
        .offset(params.offset)
        .limit(params.per_page)
    )
    return list(rows.scalars()), int(total or 0)


async def remove(session: AsyncSession, agent_id: uuid.UUID) -> None:
    await session.execute(delete(Agent).where(Agent.id == agent_id))
