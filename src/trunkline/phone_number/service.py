"""Phone numbers: inventory rows, their PhoneNumber items and per-channel snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import Channel, NumberStatus, Source
from trunkline.binding.service import binding_service
from trunkline.errors import NumberIsExternal, PhoneNumberNotFound
from trunkline.kit.clock import utcnow
from trunkline.kit.e164 import normalize_query
from trunkline.models import PhoneNumber
from trunkline.phone_number import repository as repo
from trunkline.phone_number.rules import check_capable
from trunkline.phone_number.rules import merge_channel_settings as merge
from trunkline.phone_number.schemas import (
    ChannelsSnapshot,
    PhoneNumberRead,
    PhoneNumberUpdate,
)
from trunkline.phone_number.views import build_item, build_snapshot
from trunkline.workspace.service import workspace_service


class PhoneNumberService:
    async def get(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> PhoneNumber:
        """One number of the workspace, or ``PhoneNumberNotFound``."""
        number = await repo.get(session, workspace_id, phone_number_id)
        if number is None:
            raise PhoneNumberNotFound()
        return number

    async def find(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> PhoneNumber | None:
        """One number of the workspace by id, or None."""
        return await repo.get(session, workspace_id, phone_number_id)

    async def find_by_number(
        self, session: AsyncSession, workspace_id: uuid.UUID, e164: str
    ) -> PhoneNumber | None:
        """The workspace's row for ``e164`` (any source or status), or None."""
        return await repo.get_by_number(session, workspace_id, e164)

    async def add_if_absent(self, session: AsyncSession, values: dict[str, Any]) -> bool:
        """Insert a number row unless the workspace has ``values["number"]`` already (race-safe:
        concurrent creators all succeed); True when this call made the row."""
        return await repo.insert_if_absent(session, values)

    async def remove(self, session: AsyncSession, number: PhoneNumber) -> None:
        """Delete the number row (its binding rows go with it)."""
        await repo.remove(session, number.id)

    async def active_ids_by_number(
        self, session: AsyncSession, workspace_id: uuid.UUID, numbers: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        """Inventory ids of the workspace's active numbers among ``numbers``."""
        return await repo.active_ids_by_number(session, workspace_id, numbers)

    async def snapshot(self, session: AsyncSession, number: PhoneNumber) -> ChannelsSnapshot:
        """The ChannelsSnapshot of a number row."""
        holdings = await binding_service.holdings_for_number(
            session, number.workspace_id, number.number
        )
        return build_snapshot(number, holdings)

    async def snapshot_by_id(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> ChannelsSnapshot:
        """Snapshot by ``phone_number_uuid``."""
        return await self.snapshot(session, await self.get(session, workspace_id, phone_number_id))

    async def snapshot_by_number(
        self, session: AsyncSession, workspace_id: uuid.UUID, raw: str
    ) -> ChannelsSnapshot:
        """Snapshot by number, given with or without ``+``."""
        number = await repo.get_by_number(session, workspace_id, normalize_query(raw))
        if number is None:
            raise PhoneNumberNotFound(field="number")
        return await self.snapshot(session, number)

    async def item(self, session: AsyncSession, number: PhoneNumber) -> PhoneNumberRead:
        """The PhoneNumber item of one row (GET/PATCH by id, a purchase): its holdings and
        trunks by two key reads built once. (The lists build theirs JSON-ready in batches:
        ``InventoryService.page``.)"""
        workspace_id = number.workspace_id
        currency = await workspace_service.currency(session, workspace_id)
        held = await binding_service.holdings_for_number(session, workspace_id, number.number)
        own = (
            await binding_service.trunks_for_number(session, number.id)
            if number.source == Source.external
            else []
        )
        return build_item(number, held, own, currency)

    async def read(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> PhoneNumberRead:
        """One PhoneNumber item by uuid."""
        return await self.item(session, await self.get(session, workspace_id, phone_number_id))

    async def update(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        phone_number_id: uuid.UUID,
        body: PhoneNumberUpdate,
    ) -> PhoneNumberRead:
        """Merge channel settings key by key; enabling what the number cannot carry is 422."""
        number = await self.get(session, workspace_id, phone_number_id)
        patch = body.settings_patch()
        error = check_capable(number.capabilities, number.is_external, patch)
        if error is not None:
            raise error
        number.channel_settings = merge(number.channel_settings, patch)
        await session.flush()
        return await self.item(session, number)

    async def release(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> PhoneNumberRead:
        """Release a purchased number: unbind every channel, then mark it released (idempotent)."""
        number = await self.get(session, workspace_id, phone_number_id)
        if number.is_external:
            raise NumberIsExternal(
                "External numbers cannot be released; delete their trunks instead "
                "(DELETE /api/v1/phone-numbers/trunks)."
            )
        if number.status != NumberStatus.released:
            for channel in Channel:
                await binding_service.unbind(session, number.id, channel)
            number.status = NumberStatus.released
            number.released_at = utcnow()
            await session.flush()
        return await self.item(session, number)


phone_number_service = PhoneNumberService()
