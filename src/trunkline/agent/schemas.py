from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from trunkline.kit.schema import RequestModel, ResponseModel, UtcDatetime
from trunkline.models import Agent

AgentStatus = Literal["active", "paused"]


class AgentCreate(RequestModel):
    name: str = Field(min_length=1, max_length=255, examples=["Front desk"])
    status: AgentStatus = "active"


class AgentUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    status: AgentStatus | None = None


class AgentRead(ResponseModel):
    agent_uuid: uuid.UUID
    name: str
    status: AgentStatus
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, agent: Agent) -> AgentRead:
        return cls(
            agent_uuid=agent.id,
            name=agent.name,
            status=agent.status,  # type: ignore[arg-type]
            created_at=agent.created_at,
            updated_at=agent.updated_at,
        )
