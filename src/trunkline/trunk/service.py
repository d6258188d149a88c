"""External trunks (BYO numbers): register, and the rules of contract §4.1."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.agent.service import agent_service
from trunkline.binding.rules import (
    Channel,
    Source,
    Via,
    check_trunk_register,
    default_trunk_name,
)
from trunkline.binding.service import binding_service
from trunkline.errors import NumberAlreadyBound, NumberInInventory, SipNotSupported
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.kit.e164 import parse_e164
from trunkline.models import PhoneNumber
from trunkline.phone_number import repository as numbers
from trunkline.phone_number.rules import (
    EXTERNAL_CAPABILITIES,
    apply_call_direction,
    default_channel_settings,
)
from trunkline.phone_number.schemas import ChannelsSnapshot
from trunkline.phone_number.service import phone_number_service
from trunkline.trunk import repository as repo
from trunkline.trunk.schemas import TrunkCreate, TrunkSipIn


def sip_columns(box: SecretBox, trunk_id: uuid.UUID, sip: TrunkSipIn | None) -> dict[str, Any]:
    """The trunk's SIP columns, credentials sealed to this row."""
    if sip is None:
        return dict.fromkeys(
            (
                "sip_gateway",
                "sip_port",
                "sip_secondary_gateway",
                "sip_transport",
                "sip_username_secret",
                "sip_password_secret",
            )
        )

    def seal(column: str, value: str | None) -> str | None:
        return box.encrypt(value, aad_for("trunk", column, trunk_id)) if value else None

    return {
        "sip_gateway": sip.gateway,
        "sip_port": sip.port,
        "sip_secondary_gateway": sip.secondary_gateway,
        "sip_transport": sip.transport,
        "sip_username_secret": seal("sip_username_secret", sip.username),
        "sip_password_secret": seal("sip_password_secret", sip.password),
    }


class TrunkService:
    async def register(
        self, session: AsyncSession, workspace_id: uuid.UUID, box: SecretBox, body: TrunkCreate
    ) -> ChannelsSnapshot:
        """Register an external number on a channel and bind it to an agent, atomically."""
        channel = Channel(body.channel)
        if channel is Channel.whatsapp and body.sip is not None:
            raise SipNotSupported(field="sip")
        agent = await agent_service.get(session, workspace_id, body.agent_uuid)
        e164 = body.phone_number
        existing = await numbers.get_by_number(session, workspace_id, e164)
        live = existing if existing is not None and existing.status == "active" else None
        error = check_trunk_register(
            number=e164,
            existing_source=Source(live.source) if live else None,
            number_holdings=await binding_service.holdings_for_number(
                session, workspace_id, e164, channel
            ),
            agent_holdings=await binding_service.holdings_for_agent(
                session, workspace_id, agent.id, channel
            ),
        )
        if error is not None:
            raise error
        # A trunk row whose agent was force-deleted has no holder left, but still owns the pair.
        if live is not None and live.is_external and await repo.get(session, live.id, channel):
            raise NumberAlreadyBound(field="phone_number")

        number = await self._external_number(session, workspace_id, e164, existing)
        await binding_service.bind(
            session,
            workspace_id=workspace_id,
            phone_number_id=number.id,
            agent_id=agent.id,
            channel=channel,
            via=Via.trunk,
        )
        trunk_id = uuid.uuid4()
        now = utcnow()
        inserted = await repo.try_insert(
            session,
            {
                "id": trunk_id,
                "workspace_id": workspace_id,
                "phone_number_id": number.id,
                "channel": channel.value,
                "name": body.name or default_trunk_name(channel, e164),
                "direction": body.direction,
                "additional_settings": body.additional_settings or {},
                "status": "pending",
                "created_at": now,
                "updated_at": now,
                **sip_columns(box, trunk_id, body.sip if channel is Channel.call else None),
            },
        )
        if not inserted:
            raise NumberAlreadyBound(field="phone_number")
        if channel is Channel.call:
            number.capabilities = {**number.capabilities, "voice": True}
            number.channel_settings = apply_call_direction(number.channel_settings, body.direction)
        await session.flush()
        return await phone_number_service.snapshot(session, number)

    async def _external_number(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        e164: str,
        existing: PhoneNumber | None,
    ) -> PhoneNumber:
        """The external number row, created on first registration (race-safe)."""
        info = parse_e164(e164)
        assert info is not None  # the schema validated it
        fresh: dict[str, Any] = {
            "country_code": info.country_code,
            "location": info.location,
            "type": info.type,
            "source": Source.external.value,
            "status": "active",
            "capabilities": dict(EXTERNAL_CAPABILITIES),
            "channel_settings": default_channel_settings(info.country_code),
            "monthly_fee": None,
            "currency": None,
            "compliance": {"status": "not_required", "requirements": []},
            "purchased_at": None,
            "released_at": None,
        }
        if existing is not None and existing.status == "released":
            # A purchased number released earlier may come back as an external one.
            for key, value in fresh.items():
                setattr(existing, key, value)
            await session.flush()
            return existing
        if existing is None:
            now = utcnow()
            await numbers.insert_if_absent(
                session,
                {
                    "id": uuid.uuid4(),
                    "workspace_id": workspace_id,
                    "number": e164,
                    "created_at": now,
                    "updated_at": now,
                    **fresh,
                },
            )
        number = await numbers.get_by_number(session, workspace_id, e164)
        assert number is not None
        if not number.is_external:
            raise NumberInInventory(field="phone_number")  # bought concurrently
        return number


trunk_service = TrunkService()
