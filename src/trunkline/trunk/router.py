from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from trunkline.binding.rules import Channel
from trunkline.deps import AuthDep, SecretBoxDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    AgentChannelBusy,
    AgentNotFound,
    InvalidGateway,
    NumberAlreadyBound,
    NumberInInventory,
    SipNotSupported,
    SmsNotSupported,
    TrunkNotFound,
)
from trunkline.kit.pagination import Page, PageParams, page_params, page_response
from trunkline.phone_number.schemas import ChannelsSnapshot, Digits, PhoneNumberRead
from trunkline.trunk.schemas import (
    TrunkAssign,
    TrunkChannel,
    TrunkCreate,
    TrunkDeleted,
    TrunkUpdate,
)
from trunkline.trunk.service import trunk_service

router = APIRouter(prefix="/phone-numbers/trunks", tags=["external trunks"])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(
        AgentNotFound,
        NumberInInventory,
        NumberAlreadyBound,
        AgentChannelBusy,
        SmsNotSupported,
        SipNotSupported,
        InvalidGateway,
    ),
)
async def register_trunk(
    body: TrunkCreate, auth: AuthDep, session: SessionDep, box: SecretBoxDep
) -> Envelope[ChannelsSnapshot]:
    """Register an external SIP trunk / BYO number."""
    snapshot = await trunk_service.register(session, auth.workspace_id, box, body)
    return ok(snapshot, "Trunk registered.")


@router.get("", response_model=Envelope[Page[PhoneNumberRead]], responses=error_responses())
async def list_trunks(
    auth: AuthDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    channel: Annotated[
        TrunkChannel | None, Query(description="Only numbers with a trunk on this channel")
    ] = None,
    agent_uuid: Annotated[
        uuid.UUID | None, Query(description="Only numbers this agent answers")
    ] = None,
    number: Annotated[
        Digits | None, Query(description="Prefix of the E.164 digits, with or without +")
    ] = None,
) -> Response:
    """List external numbers with their trunks (paginated, oldest first)."""
    items, total = await trunk_service.page(
        session,
        auth.workspace_id,
        params,
        channel=Channel(channel) if channel else None,
        agent_id=agent_uuid,
        number_digits=number,
    )
    return page_response(items, total, params, "Trunks retrieved.")


@router.patch(
    "",
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(TrunkNotFound, SipNotSupported, SmsNotSupported, InvalidGateway),
)
async def update_trunk(
    body: TrunkUpdate, auth: AuthDep, session: SessionDep, box: SecretBoxDep
) -> Envelope[ChannelsSnapshot]:
    """Update an external trunk, identified by phone_number and channel."""
    snapshot = await trunk_service.update(session, auth.workspace_id, box, body)
    return ok(snapshot, "Trunk updated.")


@router.put(
    "/assign",
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(TrunkNotFound, AgentNotFound, AgentChannelBusy, SmsNotSupported),
)
async def assign_trunk(
    body: TrunkAssign, auth: AuthDep, session: SessionDep
) -> Envelope[ChannelsSnapshot]:
    """Move an external trunk to another agent (credentials and settings untouched)."""
    snapshot = await trunk_service.assign(session, auth.workspace_id, body)
    return ok(snapshot, "Trunk assigned.")


@router.delete(
    "",
    response_model=Envelope[TrunkDeleted],
    responses=error_responses(TrunkNotFound, SmsNotSupported),
)
async def delete_trunk(
    auth: AuthDep,
    session: SessionDep,
    phone_number: Annotated[
        str, Query(min_length=1, max_length=32, description="E.164, with or without +")
    ],
    channel: Annotated[TrunkChannel, Query()],
) -> Envelope[TrunkDeleted]:
    """Delete one trunk row; the number goes when it has no trunk rows left."""
    result = await trunk_service.delete(session, auth.workspace_id, phone_number, Channel(channel))
    return ok(result, "Trunk deleted.")
