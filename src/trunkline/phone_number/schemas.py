"""Read models for numbers: the ChannelsSnapshot (contract §3.1)."""

from __future__ import annotations

import uuid

from pydantic import Field

from trunkline.kit.schema import ResponseModel


class CapableChannelState(ResponseModel):
    capable: bool
    enabled: bool
    channel_limit: int | None = Field(description="Max concurrent calls/messages; null = no limit")
    whitelisted_destinations: list[str] = Field(examples=[["US"]])
    bound: bool
    agent_uuid: uuid.UUID | None
    agent_name: str | None


class BindingState(ResponseModel):
    bound: bool
    agent_uuid: uuid.UUID | None
    agent_name: str | None


class InboundState(ResponseModel):
    enabled: bool
    channel_limit: int | None


class SnapshotChannels(ResponseModel):
    call: CapableChannelState
    sms: CapableChannelState
    whatsapp: BindingState
    inbound: InboundState


class ChannelsSnapshot(ResponseModel):
    """Capability (what the number can carry), state (what is enabled) and binding per channel."""

    phone_number_uuid: uuid.UUID
    number: str = Field(examples=["+12025550123"])
    is_external: bool
    source: str = Field(examples=["external"])
    channels: SnapshotChannels
