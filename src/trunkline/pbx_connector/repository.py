"""Queries for PBX extension connectors (each read joins the agent for its name)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams, page_of
from trunkline.models import Agent, PbxConnector


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, connector_id: uuid.UUID
) -> tuple[PbxConnector, str] | None:
    """The connector and its agent's name."""
    row = (
        await session.execute(
            select(PbxConnector, Agent.name)
            .join(Agent, Agent.id == PbxConnector.agent_id)
            .where(PbxConnector.id == connector_id, PbxConnector.workspace_id == workspace_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def add(session: AsyncSession, connector: PbxConnector) -> None:
    session.add(connector)
    await session.flush()


async def page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    params: PageParams,
    agent_id: uuid.UUID | None = None,
) -> tuple[list[tuple[PbxConnector, str]], int]:
    where = [PbxConnector.workspace_id == workspace_id]
    if agent_id is not None:
        where.append(PbxConnector.agent_id == agent_id)
    rows, total = await page_of(
        session,
        select(PbxConnector, Agent.name).join(Agent, Agent.id == PbxConnector.agent_id),
        select(func.count()).select_from(PbxConnector).where(*where),
        params,
        where=where,
        key=PbxConnector.id,
        order=(PbxConnector.created_at, PbxConnector.id),
        scalars=False,
    )
    return [(c, name) for c, name in rows], total


async def remove(session: AsyncSession, connector_id: uuid.UUID) -> None:
    await session.execute(delete(PbxConnector).where(PbxConnector.id == connector_id))


async def remove_for_agent(session: AsyncSession, agent_id: uuid.UUID) -> int:
    result = await session.execute(delete(PbxConnector).where(PbxConnector.agent_id == agent_id))
    return int(getattr(result, "rowcount", 0) or 0)
