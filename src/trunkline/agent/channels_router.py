"""Agents' channels (contract §4.4 assignment endpoints and §4.5)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query

from trunkline.agent.channels_service import agent_channels_service
from trunkline.agent.schemas import AgentChannelsRead, NumberBind
from trunkline.binding.rules import Channel
from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    AgentChannelBusy,
    AgentNotFound,
    ChannelNotCapable,
    ConnectionNotFound,
    NumberAlreadyBound,
    NumberIsExternal,
    PhoneInUse,
    PhoneNumberNotFound,
    Unprocessable,
)
from trunkline.sip_connection.schemas import (
    AssignmentRead,
    ConnectionAssign,
    ConnectionUnassign,
    UnassignmentRead,
)
from trunkline.sip_connection.service import sip_connection_service

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
_RETURNS = "200 → `{agent: {agent_uuid, name, status, channels}}` (as GET …/channels)."


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


@router.post(
    "/call/sip-trunk",
    response_model=Envelope[AssignmentRead],
    responses=error_responses(AgentNotFound, ConnectionNotFound, PhoneInUse),
    description=(
        "Attach a SIP trunk connection to the agent's call channel. Without `force`, 409 "
        "`phone_in_use` when the connection's number (compared in E.164 when it parses, else "
        "verbatim) is bound on call to another agent by any means; `data` names that agent "
        "(`agent_uuid`, `agent_name`, `bound_via`). With `force` the assignment is added: the "
        "newest assignment receives inbound calls (snapshots show that agent), earlier agents "
        "keep outbound use. Attaching a connection the agent already has is a no-op (200) that "
        "keeps its original rank; to make an earlier agent the inbound one again, detach and "
        "attach it again with force. An agent may have several connections."
    ),
)
async def assign_connection(
    agent_uuid: uuid.UUID, body: ConnectionAssign, auth: AuthDep, session: SessionDep
) -> Envelope[AssignmentRead]:
    """Attach a SIP trunk connection to the agent's call channel."""
    result = await sip_connection_service.assign(session, auth.workspace_id, agent_uuid, body)
    return ok(result, "Connection assigned.")


@router.delete(
    "/call/sip-trunk",
    response_model=Envelope[UnassignmentRead],
    responses=error_responses(AgentNotFound, ConnectionNotFound),
    description=(
        "Detach a connection from the agent (`connection_uuid` in the query or the JSON body), "
        "or every connection when none is named. The connections themselves stay. Detaching a "
        "connection that is not attached is a no-op (200, empty `unassigned_connection_uuids`); "
        "an unknown connection is 404 `connection_not_found`."
    ),
)
async def unassign_connection(
    agent_uuid: uuid.UUID,
    auth: AuthDep,
    session: SessionDep,
    connection_uuid: Annotated[uuid.UUID | None, Query()] = None,
    body: Annotated[ConnectionUnassign | None, Body()] = None,
) -> Envelope[UnassignmentRead]:
    """Detach SIP trunk connections from the agent's call channel."""
    from_body = body.connection_uuid if body is not None else None
    if connection_uuid is not None and from_body is not None and connection_uuid != from_body:
        raise Unprocessable(
            "connection_uuid differs between the query and the body.",
            field="connection_uuid",
            details=[{"field": "connection_uuid", "message": "query and body disagree"}],
        )
    result = await sip_connection_service.unassign(
        session, auth.workspace_id, agent_uuid, connection_uuid or from_body
    )
    return ok(result, "Connection unassigned.")


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
