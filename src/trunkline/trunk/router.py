from __future__ import annotations

from fastapi import APIRouter

from trunkline.deps import AuthDep, SecretBoxDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    AgentChannelBusy,
    AgentNotFound,
    NumberAlreadyBound,
    NumberInInventory,
    SipNotSupported,
    SmsNotSupported,
)
from trunkline.phone_number.schemas import ChannelsSnapshot
from trunkline.trunk.schemas import TrunkCreate
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
    ),
)
async def register_trunk(
    body: TrunkCreate, auth: AuthDep, session: SessionDep, box: SecretBoxDep
) -> Envelope[ChannelsSnapshot]:
    """Register an external SIP trunk / BYO number."""
    snapshot = await trunk_service.register(session, auth.workspace_id, box, body)
    return ok(snapshot, "Trunk registered.")
