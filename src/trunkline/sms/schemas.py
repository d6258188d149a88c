"""SMS requests and answers (docs/api-decisions.md §6.6). ``POST /sms/send`` keeps the upstream
API's camelCase field names so its clients work unchanged; Trunkline's own outbox list is
snake_case like every other endpoint."""

from __future__ import annotations

import uuid

from pydantic import Field

from trunkline.kit.schema import E164, RequestModel, ResponseModel, UtcDatetime
from trunkline.sms.rules import SmsStatus


class SmsSend(RequestModel):
    """Send an SMS from the agent's SMS number."""

    agentId: uuid.UUID = Field(description="An agent of the workspace with an SMS number bound")
    phoneNumber: E164 = Field(examples=["+12025550123"], description="The recipient, E.164")
    message: str = Field(min_length=1, max_length=1600, description="1-1600 characters")


class SmsSent(ResponseModel):
    messageId: str = Field(description="The message's uuid (message_uuid in GET /sms/messages)")
    recipientPhone: str = Field(examples=["+12025550123"])
    conversationId: str = Field(
        description="The same for every message between the same two numbers of a workspace"
    )
    senderPhone: str = Field(examples=["+12015550100"], description="The agent's SMS number")
    status: SmsStatus = Field(examples=["delivered"], description="delivered | queued")


class SmsMessageRead(ResponseModel):
    """One message of the workspace's outbox."""

    message_uuid: uuid.UUID
    conversation_id: uuid.UUID
    agent_uuid: uuid.UUID | None = Field(description="null once the agent is deleted")
    sender: str = Field(examples=["+12015550100"])
    recipient: str = Field(examples=["+12025550123"])
    message: str
    status: SmsStatus = Field(examples=["delivered"])
    provider: str = Field(examples=["sandbox"])
    provider_message_id: str
    created_at: UtcDatetime
