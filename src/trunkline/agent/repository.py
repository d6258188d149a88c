"""Queries for agents."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db import insert_new
from trunkline.kit.pagination import PageParams, page_of
from trunkline.models import Agent


async def get(session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.id == agent_id, Agent.workspace_id == workspace_id)
    )
    return result.scalar_one_or_none()


async def get_any(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    """An agent of any workspace (the call path, which found it through a number)."""
    return await session.get(Agent, agent_id)


async def add(session: AsyncSession, agent: Agent) -> None:
    # One Core INSERT: the create answers with the row as built (db.insert_new).
    await insert_new(session, agent)


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[Agent], int]:
    mine = Agent.workspace_id == workspace_id
    return await page_of(
        session,
        select(Agent).where(mine).order_by(Agent.created_at, Agent.id),
        select(func.count()).select_from(Agent).where(mine),
        params,
    )


async def remove(session: AsyncSession, agent_id: uuid.UUID) -> None:
    await session.execute(delete(Agent).where(Agent.id == agent_id))
