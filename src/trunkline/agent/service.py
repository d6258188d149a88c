"""Agents: the AI agents that answer traffic. Trunkline keeps only what routing needs."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.agent import repository as repo
from trunkline.agent.schemas import AgentCreate, AgentUpdate
from trunkline.errors import AgentInUse, AgentNotFound
from trunkline.kit.pagination import PageParams
from trunkline.models import Agent


class AgentService:
    async def create(self, session: AsyncSession, workspace_id: uuid.UUID, body: AgentCreate) -> Agent:
        """Create an agent."""
        agent = Agent(id=uuid.uuid4(), workspace_id=workspace_id, name=body.name, status=body.status)
        await repo.add(session, agent)
        return agent

    async def get(self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
        """One agent of the workspace, or ``AgentNotFound`` (also for foreign agents)."""
        agent = await repo.get(session, workspace_id, agent_id)
        if agent is None:
            raise AgentNotFound(field="agent_uuid")
        return agent

    async def page(
        self, session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
    ) -> tuple[list[Agent], int]:
        """A page of the workspace's agents, oldest first."""
        return await repo.page(session, workspace_id, params)

    async def update(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID, body: AgentUpdate
    ) -> Agent:
        """Change name and/or status."""
        agent = await self.get(session, workspace_id, agent_id)
        for key, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(agent, key, value)
        await session.flush()
        return agent

    async def delete(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID, *, force: bool
    ) -> None:
        """Delete; with bindings left only when ``force`` (which unbinds everything atomically)."""
        agent = await self.get(session, workspace_id, agent_id)
        in_use = await repo.count_bindings(session, agent.id)
        if in_use and not force:
            raise AgentInUse(data={"bindings": in_use})
        await repo.delete_with_bindings(session, agent.id)


agent_service = AgentService()
