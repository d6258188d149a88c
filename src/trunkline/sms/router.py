from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    AgentNotFound,
    SmsChannelNotConfigured,
    SmsDestinationNotAllowed,
    SmsDisabled,
)
from trunkline.kit.pagination import Page, PageParams, make_page, page_params
from trunkline.phone_number.deps import ProviderDep
from trunkline.sms.schemas import SmsMessageRead, SmsSend, SmsSent
from trunkline.sms.service import sms_service

router = APIRouter(prefix="/sms", tags=["sms"])


@router.post(
    "/send",
    response_model=Envelope[SmsSent],
    responses=error_responses(
        AgentNotFound, SmsChannelNotConfigured, SmsDisabled, SmsDestinationNotAllowed
    ),
    description="Sends through the number provider from the agent's SMS number (the number "
    "bound with POST /agents/{uuid}/channels/sms), within that number's SMS channel settings. "
    "Answers 200, as the upstream API does; the message is kept in the workspace's outbox "
    "(GET /sms/messages). Field names are the upstream API's (camelCase).",
)
async def send_sms(
    body: SmsSend, auth: AuthDep, session: SessionDep, provider: ProviderDep
) -> Envelope[SmsSent]:
    """Send an SMS message."""
    sent = await sms_service.send(session, auth.workspace_id, provider, body)
    return ok(sent, "SMS message sent successfully")


@router.get("/messages", response_model=Envelope[Page[SmsMessageRead]], responses=error_responses())
async def list_sms_messages(
    auth: AuthDep, session: SessionDep, params: Annotated[PageParams, Depends(page_params)]
) -> Envelope[Page[SmsMessageRead]]:
    """List the workspace's sent SMS, newest first (paginated)."""
    messages, total = await sms_service.page(session, auth.workspace_id, params)
    return ok(make_page(messages, total, params), "SMS messages retrieved.")
