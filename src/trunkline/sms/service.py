"""Sending SMS through the number provider from an agent's SMS number, and the outbox
(docs/api-decisions.md §6.6)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import Channel, current_holder
from trunkline.binding.service import binding_service
from trunkline.errors import AgentNotFound
from trunkline.kit.clock import utcnow
from trunkline.kit.e164 import parse_e164
from trunkline.kit.pagination import PageParams
from trunkline.models import SmsMessage
from trunkline.phone_number.provider import NumberProvider
from trunkline.phone_number.service import phone_number_service
from trunkline.sms import repository as repo
from trunkline.sms.rules import SmsStatus, decide_send
from trunkline.sms.schemas import SmsMessageRead, SmsSend, SmsSent


def conversation_id(workspace_id: uuid.UUID, sender: str, recipient: str) -> uuid.UUID:
    """Every message between the same two numbers of a workspace shares one conversation."""
    return uuid.uuid5(workspace_id, f"sms:{sender}:{recipient}")


def _read(row: SmsMessage) -> SmsMessageRead:
    return SmsMessageRead(
        message_uuid=row.id,
        conversation_id=row.conversation_id,
        agent_uuid=row.agent_id,
        sender=row.sender,
        recipient=row.recipient,
        message=row.body,
        status=SmsStatus(row.status),
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        created_at=row.created_at,
    )


class SmsService:
    async def send(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        provider: NumberProvider,
        body: SmsSend,
    ) -> SmsSent:
        """Send ``body.message`` from the agent's SMS number to ``body.phoneNumber`` and keep it
        in the workspace's outbox; refusals are ``sms.rules.decide_send``'s."""
        try:
            await binding_service.agent_name(session, workspace_id, body.agentId)
        except AgentNotFound:
            raise AgentNotFound(field="agentId") from None
        holdings = await binding_service.holdings_for_agent(
            session, workspace_id, body.agentId, Channel.sms
        )
        holder = current_holder(holdings)
        number = None
        if holder is not None:
            number = await phone_number_service.find_by_number(session, workspace_id, holder.number)
        recipient = parse_e164(body.phoneNumber)
        assert recipient is not None  # the request model accepted it as E.164
        decision = decide_send(
            sms_holdings=holdings,
            sms_settings=number.channel_settings.get("sms") if number is not None else None,
            recipient_country=recipient.country_code,
        )
        if decision.error is not None:
            raise decision.error
        assert decision.sender is not None
        sent = await provider.send_sms(
            sender=decision.sender, recipient=recipient.e164, text=body.message
        )
        row = SmsMessage(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            agent_id=body.agentId,
            conversation_id=conversation_id(workspace_id, decision.sender, recipient.e164),
            sender=decision.sender,
            recipient=recipient.e164,
            body=body.message,
            status=SmsStatus(sent.status).value,
            provider=provider.name,
            provider_message_id=sent.provider_message_id,
            created_at=utcnow(),
        )
        await repo.add(session, row)
        return SmsSent(
            messageId=str(row.id),
            recipientPhone=row.recipient,
            conversationId=str(row.conversation_id),
            senderPhone=row.sender,
            status=SmsStatus(row.status),
        )

    async def page(
        self, session: AsyncSession, workspace_id: uuid.UUID, params: PageParams
    ) -> tuple[list[SmsMessageRead], int]:
        """A page of the workspace's outbox, newest first, and its total."""
        rows, total = await repo.page(session, workspace_id, params)
        return [_read(r) for r in rows], total


sms_service = SmsService()
