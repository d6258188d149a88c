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
from trunkline.kit.pagination import PageParams
from trunkline.models import PhoneNumber
from trunkline.phone_number import repository as repo
from trunkline.phone_number.rules import check_capable
from trunkline.phone_number.rules import merge_channel_settings as merge
from trunkline.phone_number.schemas import (
    ChannelsSnapshot,
    NumberFilters,
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

    async def items(
        self, session: AsyncSession, workspace_id: uuid.UUID, numbers: Sequence[Any]
    ) -> list[PhoneNumberRead]:
        """PhoneNumber items for number rows (models, or a list page's Core rows), with holdings
        and trunks loaded in two queries in all."""
        currency = await workspace_service.currency(session, workspace_id)
        if len(numbers) == 1:
            # One item (GET/PATCH by id, a purchase): the two key reads built once, instead of
            # the batch reads' IN-list statements built per request.
            number = numbers[0]
            held = await binding_service.holdings_for_number(session, workspace_id, number.number)
            own = (
                await binding_service.trunks_for_number(session, number.id)
                if number.source == Source.external
                else []
            )
            return [build_item(number, held, own, currency)]
        holdings = await binding_service.holdings_for_numbers(
            session, workspace_id, [n.number for n in numbers]
        )
        external = [n.id for n in numbers if n.source == Source.external]
        trunks = await binding_service.trunks_for_numbers(session, external)
        return [build_item(n, holdings[n.number], trunks.get(n.id, []), currency) for n in numbers]

    async def item(self, session: AsyncSession, number: PhoneNumber) -> PhoneNumberRead:
        """The PhoneNumber item of one row."""
        return (await self.items(session, number.workspace_id, [number]))[0]

    async def read(
        self, session: AsyncSession, workspace_id: uuid.UUID, phone_number_id: uuid.UUID
    ) -> PhoneNumberRead:
        """One PhoneNumber item by uuid."""
        return await self.item(session, await self.get(session, workspace_id, phone_number_id))

    async def page(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        filters: NumberFilters,
        params: PageParams,
    ) -> tuple[list[PhoneNumberRead], int]:
        """A page of the inventory, oldest first, and the exact filtered total
        (``kit.pagination.page_of``)."""
        rows, total = await repo.page(session, workspace_id, filters, params)
        return await self.items(session, workspace_id, rows), total

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
