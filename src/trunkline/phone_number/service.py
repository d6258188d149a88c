"""Phone numbers: inventory rows and their per-channel snapshots."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.service import binding_service
from trunkline.errors import PhoneNumberNotFound
from trunkline.kit.e164 import normalize_query
from trunkline.models import PhoneNumber
from trunkline.phone_number import repository as repo
from trunkline.phone_number.rules import build_snapshot
from trunkline.phone_number.schemas import ChannelsSnapshot


class PhoneNumberService:
    async def get(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> PhoneNumber:
        """One number of the workspace, or ``PhoneNumberNotFound``."""
        number = await repo.get(session, workspace_id, phone_number_id)
        if number is None:
            raise PhoneNumberNotFound()
        return number

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


phone_number_service = PhoneNumberService()
