"""Agents: the AI agents that answer traffic. Trunkline keeps only what routing needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.agent import repository as repo
from trunkline.agent.schemas import AgentCreate, AgentUpdate
from trunkline.binding.service import binding_service
from trunkline.errors import AgentInUse, AgentNotFound
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.pagination import PageParams
from trunkline.models import Agent
from trunkline.pbx_connector.service import pbx_connector_service
from trunkline.sip_connection.service import sip_connection_service

_STREAM_FIELDS = {"stream_url", "stream_auth_token"}


@dataclass(frozen=True)
class StreamTarget:
    """Where the call worker connects for an agent's calls, the token decrypted in memory."""

    url: str
    token: str | None

    def __repr__(self) -> str:
        return f"StreamTarget(url={self.url!r}, token={'***' if self.token else None})"


def _seal_stream_token(box: SecretBox | None, agent_id: uuid.UUID, token: str | None) -> str | None:
    """The token sealed to its row and column; empty or missing means none."""
    if not token:
        return None
    if box is None:
        raise ValueError("a secret box is needed to store a stream_auth_token")
    return box.encrypt(token, aad_for("agent", "stream_auth_token_secret", agent_id))


class AgentService:
    async def create(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        body: AgentCreate,
        box: SecretBox | None = None,
    ) -> Agent:
        """Create an agent."""
        agent = Agent(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            name=body.name,
            status=body.status,
            description=body.description,
            language=body.language,
            timezone=body.timezone,
            settings=body.settings or {},
        )
        agent.stream_url = body.stream_url or None
        agent.stream_auth_token_secret = _seal_stream_token(box, agent.id, body.stream_auth_token)
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
    ) -> tuple[list[Row[Any]], int]:
        """A page of the workspace's agents (Core rows with the model's column names), oldest
        first, and the exact total."""
        return await repo.page(session, workspace_id, params)

    async def update(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        agent_id: uuid.UUID,
        body: AgentUpdate,
        box: SecretBox | None = None,
    ) -> Agent:
        """Change the fields sent (null leaves one as it is), and set or clear (null or "") the
        stream URL and token."""
        agent = await self.get(session, workspace_id, agent_id)
        changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude=_STREAM_FIELDS)
        for key, value in changes.items():
            setattr(agent, key, value)
        sent = body.model_fields_set
        if "stream_url" in sent:
            agent.stream_url = body.stream_url or None
        if "stream_auth_token" in sent:
            agent.stream_auth_token_secret = _seal_stream_token(
                box, agent.id, body.stream_auth_token
            )
        await session.flush()
        return agent

    async def stream_target(
        self, session: AsyncSession, secret_box: SecretBox, agent_id: uuid.UUID
    ) -> StreamTarget | None:
        """The agent's stream URL and its token decrypted in memory only (for the call path);
        None when the agent is gone or has no stream URL."""
        agent = await repo.get_any(session, agent_id)
        if agent is None:
            return None
        return self.open_stream_target(
            secret_box, agent.id, agent.stream_url, agent.stream_auth_token_secret
        )

    @staticmethod
    def open_stream_target(
        secret_box: SecretBox, agent_id: uuid.UUID, url: str | None, sealed_token: str | None
    ) -> StreamTarget | None:
        """A stream target from the agent's columns as stored (read with an inbound route):
        the token decrypted in memory only; None without a stream URL."""
        if not url:
            return None
        token = (
            secret_box.decrypt(sealed_token, aad_for("agent", "stream_auth_token_secret", agent_id))
            if sealed_token
            else None
        )
        return StreamTarget(url=url, token=token)

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
