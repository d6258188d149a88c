"""Agents' channels (docs/api-decisions.md §4.5); attaching SIP connections is in
sip_connection/router.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path

from trunkline.agent.channels_service import agent_channels_service
from trunkline.agent.schemas import AgentChannelsRead, NumberBind
from trunkline.binding.rules import Channel
from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    AgentChannelBusy,
    AgentNotFound,
    ChannelNotCapable,
    NumberAlreadyBound,
    NumberIsExternal,
    PhoneNumberNotFound,
)

router = APIRouter(prefix="/agents/{agent_uuid}/channels", tags=["agent channels"])

_NUMBER_NOT_FOUND = "404 `phone_number_not_found` for a missing, foreign or released number. "
_EXTERNAL = (
    "409 `number_is_external` for an external number: those are bound through the trunk "
    "endpoints (`POST /phone-numbers/trunks`). "
)
_HOLDER = (
    "409 `number_already_bound` when another agent holds the number on this channel by any "
    "means (`data` names it: `agent_uuid`, `agent_name`, `bound_via`). Binding a number the "
    "agent already has is a no-op (200). "
)
_RETURNS = (
    "200 → `{agent: …}`, the whole agent with its `channels` (as GET /agents/{uuid} and GET "
    "…/channels)."
)


@router.get(
    "", response_model=Envelope[AgentChannelsRead], responses=error_responses(AgentNotFound)
)
async def get_agent_channels(
    agent_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[AgentChannelsRead]:
    """List every way the agent answers traffic, per channel."""
    agent = await agent_channels_service.get(session, auth.workspace_id, agent_uuid)
    return ok(AgentChannelsRead(agent=agent), "Agent channels retrieved.")


@router.post(
    "/call/provision",
    response_model=Envelope[AgentChannelsRead],
    responses=error_responses(
        AgentNotFound,
        PhoneNumberNotFound,
        ChannelNotCapable,
        NumberAlreadyBound,
        NumberIsExternal,
        AgentChannelBusy,
    ),
    description=(
        "Bind an owned, active, purchased number on `call`. It must be voice-capable (422 "
        "`channel_not_capable`). "
        + _NUMBER_NOT_FOUND
        + _EXTERNAL
        + _HOLDER
        + "409 `agent_channel_busy` when the agent already answers another number on call (by "
        "trunk, provision, connection or PBX connector). " + _RETURNS
    ),
)
async def provision_call(
    agent_uuid: uuid.UUID, body: NumberBind, auth: AuthDep, session: SessionDep
) -> Envelope[AgentChannelsRead]:
    """Bind an owned purchased number to the agent on call."""
    agent = await agent_channels_service.bind(
        session, auth.workspace_id, agent_uuid, Channel.call, body.phone_number_uuid
    )
    return ok(AgentChannelsRead(agent=agent), "Number bound on call.")


@router.post(
    "/sms",
    response_model=Envelope[AgentChannelsRead],
    responses=error_responses(
        AgentNotFound, PhoneNumberNotFound, ChannelNotCapable, NumberAlreadyBound, NumberIsExternal
    ),
    description=(
        "Bind an owned, active, SMS-capable number on `sms` (422 `channel_not_capable`). It "
        "**replaces** the agent's previous SMS number, which becomes unbound. "
        + _NUMBER_NOT_FOUND
        + _EXTERNAL
        + _HOLDER
        + _RETURNS
    ),
)
async def bind_sms(
    agent_uuid: uuid.UUID, body: NumberBind, auth: AuthDep, session: SessionDep
) -> Envelope[AgentChannelsRead]:
    """Bind an owned number to the agent on SMS (replacing its previous one)."""
    agent = await agent_channels_service.bind(
        session, auth.workspace_id, agent_uuid, Channel.sms, body.phone_number_uuid
    )
    return ok(AgentChannelsRead(agent=agent), "Number bound on sms.")


@router.post(
    "/whatsapp",
    response_model=Envelope[AgentChannelsRead],
    responses=error_responses(
        AgentNotFound, PhoneNumberNotFound, NumberAlreadyBound, NumberIsExternal, AgentChannelBusy
    ),
    description=(
        "Bind an owned, active, purchased number on `whatsapp` (numbers carry no WhatsApp "
        "capability flag, so any owned number qualifies). Unlike SMS it does not replace: 409 "
        "`agent_channel_busy` when the agent already answers another number on WhatsApp. "
        + _NUMBER_NOT_FOUND
        + _EXTERNAL
        + _HOLDER
        + _RETURNS
    ),
)
async def bind_whatsapp(
    agent_uuid: uuid.UUID, body: NumberBind, auth: AuthDep, session: SessionDep
) -> Envelope[AgentChannelsRead]:
    """Bind an owned number to the agent on WhatsApp."""
    agent = await agent_channels_service.bind(
        session, auth.workspace_id, agent_uuid, Channel.whatsapp, body.phone_number_uuid
    )
    return ok(AgentChannelsRead(agent=agent), "Number bound on whatsapp.")


@router.delete(
    "/{channel}",
    response_model=Envelope[AgentChannelsRead],
    responses=error_responses(AgentNotFound),
    description=(
        "Unbind the channel: afterwards the agent answers no number on it (200 even when nothing "
        "was bound). Binding rows are removed; an external trunk row stays, unbound, ready for "
        "`PUT /phone-numbers/trunks/assign`. On `call` this also detaches the agent's SIP trunk "
        "connections (the connections stay) and deletes its PBX extension connectors (a "
        "connector is the agent's extension and cannot exist without it). A channel other than "
        "call|sms|whatsapp is 422 `validation_failed`. " + _RETURNS
    ),
)
async def unbind_channel(
    agent_uuid: uuid.UUID,
    channel: Annotated[Literal["call", "sms", "whatsapp"], Path()],
    auth: AuthDep,
    session: SessionDep,
) -> Envelope[AgentChannelsRead]:
    """Unbind one channel of the agent."""
    agent = await agent_channels_service.unbind(
        session, auth.workspace_id, agent_uuid, Channel(channel)
    )
    return ok(AgentChannelsRead(agent=agent), f"Channel {channel} unbound.")
