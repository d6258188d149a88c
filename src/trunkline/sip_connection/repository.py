"""Queries for SIP trunk connections."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.db import insert_ignoring_conflicts, insert_new
from trunkline.kit.pagination import PageParams, page_of
from trunkline.models import SipConnection, SipConnectionAssignment


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
    # One Core INSERT: the create answers with the row as built (db.insert_new).
    await insert_new(session, connection)


async def page(
    session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[SipConnection], int]:
    mine = [SipConnection.workspace_id == workspace_id]
    return await page_of(
        session,
        select(SipConnection),
        select(func.count()).select_from(SipConnection).where(*mine),
        params,
        where=mine,
        key=SipConnection.id,
        order=(SipConnection.created_at, SipConnection.id),
    )


async def remove(session: AsyncSession, connection_id: uuid.UUID) -> None:
    await session.execute(delete(SipConnection).where(SipConnection.id == connection_id))


async def assigned_agent_ids(session: AsyncSession, connection_id: uuid.UUID) -> list[uuid.UUID]:
    """Agents the connection is attached to, oldest assignment first."""
    rows = await session.execute(
        select(SipConnectionAssignment.agent_id)
        .where(SipConnectionAssignment.connection_id == connection_id)
        .order_by(SipConnectionAssignment.created_at, SipConnectionAssignment.id)
    )
    return list(rows.scalars())


async def assigned_connection_ids(session: AsyncSession, agent_id: uuid.UUID) -> list[uuid.UUID]:
    """Connections attached to an agent, oldest assignment first."""
    rows = await session.execute(
        select(SipConnectionAssignment.connection_id)
        .where(SipConnectionAssignment.agent_id == agent_id)
        .order_by(SipConnectionAssignment.created_at, SipConnectionAssignment.id)
    )
    return list(rows.scalars())


async def insert_assignment(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Attach unless (connection, agent) is already attached; False means it was."""
    result = await session.execute(
        insert_ignoring_conflicts(session, SipConnectionAssignment), values
    )
    return bool(getattr(result, "rowcount", 0))


async def delete_assignments(
    session: AsyncSession,
    *,
    connection_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
) -> None:
    """Detach by connection, by agent, or the one (connection, agent) pair."""
    assert connection_id is not None or agent_id is not None
    stmt = delete(SipConnectionAssignment)
    if connection_id is not None:
        stmt = stmt.where(SipConnectionAssignment.connection_id == connection_id)
    if agent_id is not None:
        stmt = stmt.where(SipConnectionAssignment.agent_id == agent_id)
    await session.execute(stmt)
