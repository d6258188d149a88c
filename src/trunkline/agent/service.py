"""Agents: the AI agents that answer traffic. Trunkline keeps only what routing needs."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.agent import repository as repo
from trunkline.agent.schemas import AgentCreate, AgentUpdate
from trunkline.binding.service import binding_service
from trunkline.errors import AgentInUse, AgentNotFound
from trunkline.kit.pagination import PageParams
from trunkline.models import Agent
from trunkline.pbx_connector.service import pbx_connector_service
from trunkline.sip_connection.service import sip_connection_service


class AgentService:
    async def create(
        self, session: AsyncSession, workspace_id: uuid.UUID, body: AgentCreate
    ) -> Agent:
        """Create an agent."""
        agent = Agent(
            id=uuid.uuid4(), workspace_id=workspace_id, name=body.name, status=body.status
        )
        await repo.add(session, agent)
        return agent

    async def get(
        self, session: AsyncSession, workspace_id: uuid.UUID, agent_id: uuid.UUID
    ) -> Agent:
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
        """Delete; with bindings left only when ``force``, which removes every way the agent
        answers traffic — binding rows (trunk rows stay, unbound), connection assignments (the
        connections stay) and PBX connectors — in the request's one transaction: a failure
        anywhere rolls all of it back."""
        agent = await self.get(session, workspace_id, agent_id)
        in_use = await binding_service.count_for_agent(session, workspace_id, agent.id)
        if in_use and not force:
            raise AgentInUse(data={"bindings": in_use})
        await binding_service.unbind_agent(session, agent.id)
        await sip_connection_service.detach_agent(session, agent.id)
        await pbx_connector_service.delete_for_agent(session, agent.id)
        await repo.remove(session, agent.id)


agent_service = AgentService()
