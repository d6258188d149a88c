"""Queries for agents."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from trunkline.db import insert_new
from trunkline.kit.pagination import PageParams, Pager
from trunkline.models import Agent, AgentTally


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


# A page's agents as Core rows (the model's column names): 50-200 agents per request, for
# which ORM loading cost more than building them (bench/README.md "2026-12-01 (third
# session)"). Every column but workspace_id, which the page's filter already fixed.
_ROW = select(*(c for c in Agent.__table__.c if c.name != "workspace_id"))
_A = Agent.__table__.c
_WS: BindParameter[Any] = bindparam("workspace_id")
# The workspace's exact agent count, from agent_tally (at most 16 rows; triggers keep it).
_TOTAL = select(func.coalesce(func.sum(AgentTally.n), 0)).where(AgentTally.workspace_id == _WS)
# Built once; page 1 carries the total from agent_tally (kit.pagination.Pager).
_PAGER = Pager(
    _ROW, key=_A.id, order=(_A.created_at, _A.id), where=[_A.workspace_id == _WS], total=_TOTAL
)


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[Row[Any]], int]:
    """A page of the workspace's agents (Core rows), oldest first, and the exact total."""
    return await _PAGER.fetch(session, params, {"workspace_id": workspace_id})


async def remove(session: AsyncSession, agent_id: uuid.UUID) -> None:
    await session.execute(delete(Agent).where(Agent.id == agent_id))
