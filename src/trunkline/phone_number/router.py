from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import PhoneNumberNotFound
from trunkline.phone_number.schemas import ChannelsSnapshot
from trunkline.phone_number.service import phone_number_service

router = APIRouter(prefix="/phone-numbers", tags=["phone numbers"])


@router.get(
    "/channels",
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(PhoneNumberNotFound),
)
async def get_channels_by_number(
    auth: AuthDep,
    session: SessionDep,
    number: Annotated[
        str,
        Query(min_length=1, max_length=32, description="E.164, with or without the leading +"),
    ],
) -> Envelope[ChannelsSnapshot]:
    """Get the channel snapshot of a number by its E.164 form."""
    snap = await phone_number_service.snapshot_by_number(session, auth.workspace_id, number)
    return ok(snap, "Channel snapshot retrieved.")


@router.get(
    "/{phone_number_uuid}/channels",
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(PhoneNumberNotFound),
)
async def get_channels(
    phone_number_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[ChannelsSnapshot]:
    """Get the channel snapshot of a number by uuid."""
    snap = await phone_number_service.snapshot_by_id(session, auth.workspace_id, phone_number_uuid)
    return ok(snap, "Channel snapshot retrieved.")
