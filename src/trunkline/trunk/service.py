"""External trunks (BYO numbers): register, and the rules of docs/api-decisions.md §4.1."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import (
    Channel,
    Holding,
    NumberStatus,
    Source,
    Via,
    check_trunk_register,
    default_trunk_name,
    one_number_per_agent,
)
from trunkline.binding.service import binding_service
from trunkline.errors import (
    NumberAlreadyBound,
    NumberInInventory,
    SipNotSupported,
    TrunkNotFound,
)
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import SecretBox
from trunkline.kit.e164 import normalize_query, parse_e164
from trunkline.kit.pagination import PageParams
from trunkline.kit.sip_status import SipStatus, reset_status
from trunkline.models import PhoneNumber, Trunk
from trunkline.phone_number.inventory import inventory_service
from trunkline.phone_number.rules import (
    EXTERNAL_CAPABILITIES,
    apply_call_direction,
    default_channel_settings,
)
from trunkline.phone_number.schemas import ChannelsSnapshot, NumberFilters
from trunkline.phone_number.service import phone_number_service
from trunkline.phone_number.views import build_snapshot
from trunkline.trunk import repository as repo
from trunkline.trunk.schemas import TrunkAssign, TrunkCreate, TrunkDeleted, TrunkUpdate
from trunkline.trunk.sip import sip_columns, sip_patch_columns


def _apply_registration(row: dict[str, Any], body: TrunkCreate) -> None:
    """A call trunk makes its number voice-capable and decides voice/inbound enablement."""
    if body.channel == Channel.call.value:
        row["capabilities"] = {**row["capabilities"], "voice": True}
        row["channel_settings"] = apply_call_direction(row["channel_settings"], body.direction)


class TrunkService:
    async def register(
        self, session: AsyncSession, workspace_id: uuid.UUID, box: SecretBox, body: TrunkCreate
    ) -> ChannelsSnapshot:
        """Register an external number on a channel and bind it to an agent, atomically."""
        channel = Channel(body.channel)
        if channel is Channel.whatsapp and body.sip is not None:
            raise SipNotSupported(field="sip")
        # Holdings span several tables, so no one constraint decides every race: queue behind
        # others that touch this number or this agent.
        await binding_service.lock(
            session, workspace_id, numbers=[body.phone_number], agents=[body.agent_uuid]
        )
        agent_id, e164 = body.agent_uuid, body.phone_number
        found = await binding_service.number_and_agent(
            session, workspace_id, e164, agent_id, channel
        )
        existing = (
            None
            if found.number_id is None
            else await phone_number_service.find(session, workspace_id, found.number_id)
        )
        live = existing if existing is not None and existing.status == NumberStatus.active else None
        # Every channel's holdings: the rule needs this channel's, the snapshot all of them.
        holdings = found.number_holdings
        error = check_trunk_register(
            number=e164,
            channel=channel,
            existing_source=Source(live.source) if live else None,
            number_holdings=[h for h in holdings if h.channel is channel],
            agent_holdings=found.agent_holdings,
        )
        if error is not None:
            raise error
        # A trunk row whose agent was force-deleted has no holder left, but still owns the pair.
        if live is not None and live.is_external and await repo.get(session, live.id, channel):
            raise NumberAlreadyBound(field="phone_number")

        number = await self._external_number(session, workspace_id, body, existing)
        binding = await binding_service.bind(
            session,
            workspace_id=workspace_id,
            phone_number_id=number.id,
            agent_id=agent_id,
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
                "status": SipStatus.pending,
                "created_at": now,
                "updated_at": now,
                **sip_columns(box, trunk_id, body.sip if channel is Channel.call else None),
            },
        )
        if not inserted:
            raise NumberAlreadyBound(field="phone_number")
        await session.flush()
        # The snapshot from what is known: the holdings read above plus the new binding.
        mine = Holding(
            agent_id, found.agent_name, e164, channel, Via.trunk, binding.created_at, number.id
        )
        return build_snapshot(number, [*holdings, mine])

    async def _external_number(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        body: TrunkCreate,
        existing: PhoneNumber | None,
    ) -> PhoneNumber:
        """The external number row with this registration applied (a call trunk makes it
        voice-capable and sets its direction flags); created on first registration, race-safe.
        """
        e164 = body.phone_number
        info = parse_e164(e164)
        assert info is not None  # the schema validated it
        fresh: dict[str, Any] = {
            "country_code": info.country_code,
            "location": None,  # unknown for a number brought by the customer
            "type": info.type,
            "source": Source.external.value,
            "status": NumberStatus.active,
            "capabilities": dict(EXTERNAL_CAPABILITIES),
            "channel_settings": default_channel_settings(info.country_code),
            "monthly_fee": None,
            "currency": None,
            "compliance": {"status": "not_required", "requirements": []},
            "purchased_at": None,
            "released_at": None,
        }
        if existing is None:
            now = utcnow()
            values = {
                "id": uuid.uuid4(),
                "workspace_id": workspace_id,
                "number": e164,
                "created_at": now,
                "updated_at": now,
                **fresh,
            }
            _apply_registration(values, body)
            if await phone_number_service.add_if_absent(session, values):
                # Ours: the row is exactly these values, no need to read it back.
                return PhoneNumber(**values)
            existing = await phone_number_service.find_by_number(session, workspace_id, e164)
            assert existing is not None  # created concurrently
            if not existing.is_external:
                raise NumberInInventory(field="phone_number")  # bought concurrently
        elif existing.status == NumberStatus.released:
            # A purchased number released earlier may come back as an external one.
            for key, value in fresh.items():
                setattr(existing, key, value)
        state = {
            "capabilities": existing.capabilities,
            "channel_settings": existing.channel_settings,
        }
        _apply_registration(state, body)
        existing.capabilities, existing.channel_settings = (
            state["capabilities"],
            state["channel_settings"],
        )
        return existing

    async def _find(
        self, session: AsyncSession, workspace_id: uuid.UUID, e164: str, channel: Channel
    ) -> tuple[PhoneNumber, Trunk]:
        """The external number and its trunk row on ``channel``, or ``TrunkNotFound``."""
        number = await phone_number_service.find_by_number(session, workspace_id, e164)
        trunk = None
        if number is not None and number.is_external:
            trunk = await repo.get(session, number.id, channel)
        if number is None or trunk is None:
            raise TrunkNotFound(field="phone_number")
        return number, trunk

    async def page(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        params: PageParams,
        *,
        channel: Channel | None,
        agent_id: uuid.UUID | None,
        number_digits: str | None,
    ) -> tuple[list[dict[str, Any]], int]:
        """External numbers with their trunks (JSON-ready items, ``inventory_service.page``);
        ``channel`` = has a trunk row on that channel."""
        filters = NumberFilters(
            source=Source.external,
            status=NumberStatus.active,
            trunk_channel=channel,
            channel=channel if agent_id is not None else None,
            agent_id=agent_id,
            number_digits=number_digits,
        )
        return await inventory_service.page(session, workspace_id, filters, params)

    async def update(
        self, session: AsyncSession, workspace_id: uuid.UUID, box: SecretBox, body: TrunkUpdate
    ) -> ChannelsSnapshot:
        """Change a trunk row's name, direction, SIP settings or additional settings."""
        channel = Channel(body.channel)
        sent = body.model_fields_set
        if channel is Channel.whatsapp and body.sip is not None:
            raise SipNotSupported(field="sip")
        await binding_service.lock(session, workspace_id, numbers=[body.phone_number])
        number, trunk = await self._find(session, workspace_id, body.phone_number, channel)
        if "name" in sent:
            trunk.name = body.name or default_trunk_name(channel, number.number)
        if body.direction is not None:
            trunk.direction = body.direction
            if channel is Channel.call:
                number.channel_settings = apply_call_direction(
                    number.channel_settings, body.direction
                )
        if "sip" in sent:
            cols = (
                sip_columns(box, trunk.id, None)
                if body.sip is None
                else sip_patch_columns(box, trunk, body.sip)
            )
            for key, value in cols.items():
                setattr(trunk, key, value)
            # New SIP settings have not been checked yet: the monitor picks the row up now.
            reset_status(trunk)
        if "additional_settings" in sent:
            trunk.additional_settings = body.additional_settings or {}
        await session.flush()
        return await phone_number_service.snapshot(session, number)

    async def assign(
        self, session: AsyncSession, workspace_id: uuid.UUID, body: TrunkAssign
    ) -> ChannelsSnapshot:
        """Move a trunk row's binding to another agent; credentials and settings stay."""
        channel = Channel(body.channel)
        await binding_service.lock(
            session, workspace_id, numbers=[body.phone_number], agents=[body.agent_uuid]
        )
        number, _ = await self._find(session, workspace_id, body.phone_number, channel)
        agent_id = body.agent_uuid
        found = await binding_service.number_and_agent(
            session, workspace_id, number.number, agent_id, channel
        )
        bound = next(
            (
                h
                for h in found.number_holdings
                if h.channel is channel and h.via in (Via.trunk, Via.provision)
            ),
            None,
        )
        if bound is not None and bound.agent_id == agent_id:
            return build_snapshot(number, found.number_holdings)  # already this agent's
        error = one_number_per_agent(
            via=Via.trunk,
            channel=channel,
            number=number.number,
            agent_holdings=found.agent_holdings,
        ).error
        if error is not None:
            raise error
        if bound is not None:
            await binding_service.unbind(session, number.id, channel)
        await binding_service.bind(
            session,
            workspace_id=workspace_id,
            phone_number_id=number.id,
            agent_id=agent_id,
            channel=channel,
            via=Via.trunk,
        )
        return await phone_number_service.snapshot(session, number)

    async def delete(
        self, session: AsyncSession, workspace_id: uuid.UUID, raw_number: str, channel: Channel
    ) -> TrunkDeleted:
        """Remove a trunk row and its binding; the number goes with its last trunk row."""
        e164 = normalize_query(raw_number)
        await binding_service.lock(session, workspace_id, numbers=[e164])
        number, trunk = await self._find(session, workspace_id, e164, channel)
        await binding_service.unbind(session, number.id, channel)
        await repo.remove(session, trunk.id)
        removed = await repo.count_for_number(session, number.id) == 0
        if removed:
            for other in Channel:
                await binding_service.unbind(session, number.id, other)
            await phone_number_service.remove(session, number)
        elif channel is Channel.call:
            number.capabilities = {**number.capabilities, "voice": False}
            number.channel_settings = apply_call_direction(number.channel_settings, None)
            await session.flush()
        return TrunkDeleted(phone_number=number.number, channel=channel, number_removed=removed)


trunk_service = TrunkService()
