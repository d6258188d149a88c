"""Queries for agents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams
from trunkline.models import Agent, Binding, PbxConnector, PhoneNumber, SipConnectionAssignment


async def get(session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.id == agent_id, Agent.workspace_id == workspace_id)
    )
    return result.scalar_one_or_none()


async def get_any(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    """An agent of any workspace (the call path, which found it through a number)."""
    return await session.get(Agent, agent_id)


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


async def delete_pbx_connectors(session: AsyncSession, agent_id: uuid.UUID) -> int:
    result = await session.execute(delete(PbxConnector).where(PbxConnector.agent_id == agent_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def active_numbers_by_e164(
    session: AsyncSession, workspace_id: uuid.UUID, e164s: Sequence[str]
) -> dict[str, uuid.UUID]:
    """Inventory ids of the active numbers among ``e164s`` (numbers of connections/PBXs)."""
    if not e164s:
        return {}
    rows = await session.execute(
        select(PhoneNumber.number, PhoneNumber.id).where(
            PhoneNumber.workspace_id == workspace_id,
            PhoneNumber.number.in_(e164s),
            PhoneNumber.status == "active",
        )
    )
    return {number: pid for number, pid in rows}


async def count_bindings(session: AsyncSession, agent_id: uuid.UUID) -> int:
    total = 0
    for model in (Binding, SipConnectionAssignment, PbxConnector):
        total += int(
            await session.scalar(
                select(func.count()).select_from(model).where(model.agent_id == agent_id)
            )
            or 0
        )
    return total
