from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from trunkline.binding.rules import Via
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
            status=agent.status,
            created_at=agent.created_at,
            updated_at=agent.updated_at,
        )


class NumberBind(RequestModel):
    phone_number_uuid: uuid.UUID = Field(
        description="An active number of the workspace's inventory"
    )


class ChannelBindingRead(ResponseModel):
    """One way the agent answers a number on a channel."""

    number: str = Field(
        description="E.164; a connection's number that does not parse is shown verbatim",
        examples=["+12025550123"],
    )
    phone_number_uuid: uuid.UUID | None = Field(
        description="The number in the inventory; null when it is not there (a connection's or "
        "PBX connector's number need not be)"
    )
    bound_via: Via = Field(
        description="trunk: external trunk row; provision: an owned number bound through the "
        "agent channel endpoints; connection: a SIP trunk connection assignment; pbx: a PBX "
        "extension connector"
    )
    connection_uuid: uuid.UUID | None = Field(description="Set when bound_via is connection")
    pbx_extension_connector_uuid: uuid.UUID | None = Field(description="Set when bound_via is pbx")
    receives_inbound: bool = Field(
        description="This agent is the number's current holder on the channel (the most recently "
        "assigned, shown in snapshots); false for an earlier forced agent, which keeps outbound use"
    )
    bound_at: UtcDatetime


class AgentChannelMap(ResponseModel):
    call: list[ChannelBindingRead]
    sms: list[ChannelBindingRead]
    whatsapp: list[ChannelBindingRead]


class AgentChannels(ResponseModel):
    agent_uuid: uuid.UUID
    name: str
    status: AgentStatus
    channels: AgentChannelMap


class AgentChannelsRead(ResponseModel):
    agent: AgentChannels
