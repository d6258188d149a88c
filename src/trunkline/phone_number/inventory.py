"""The inventory (docs/api-decisions.md §4.3): its list pages (the numbers and trunks lists), the
provider's offers searched, a number bought."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.binding.rules import NumberStatus, Source
from trunkline.binding.service import binding_service
from trunkline.db import lock_workspace
from trunkline.errors import (
    NumberInInventory,
    NumberIsExternal,
    NumberNotAvailable,
    PurchaseLimitReached,
    Unprocessable,
)
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import PageParams
from trunkline.models import PhoneNumber
from trunkline.phone_number import repository as repo
from trunkline.phone_number.compliance import compliance_record
from trunkline.phone_number.provider import NumberProvider, NumberType, Offer
from trunkline.phone_number.rules import purchased_channel_settings
from trunkline.phone_number.schemas import (
    AvailableNumber,
    CapabilitiesRead,
    NumberFilters,
    PhoneNumberPurchase,
    PhoneNumberRead,
)
from trunkline.phone_number.service import phone_number_service
from trunkline.phone_number.views import item_json
from trunkline.workspace.service import workspace_service


def available_view(offer: Offer) -> AvailableNumber:
    return AvailableNumber(
        number=offer.number,
        country_code=offer.country_code,
        type=offer.type,
        location=offer.location or "",
        monthly_fee=float(offer.monthly_fee),
        currency=offer.currency,
        capabilities=CapabilitiesRead(**offer.capabilities.as_dict()),
    )


def _mismatch(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"Validation failed: {field}: {message}",
        field=field,
        fields=[{"field": field, "message": message}],
    )


def _supplied(body: PhoneNumberPurchase) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The buy request's address and requirement entries as stored: only the keys sent, the
    address's country defaulting to the purchase's."""
    address: dict[str, Any] = {}
    if body.address is not None:
        address = body.address.model_dump(mode="json", exclude_none=True)
        address.setdefault("country_code", body.country_code)
    supplied = [r.model_dump(mode="json", exclude_none=True) for r in body.requirements or ()]
    return address, supplied


class InventoryService:
    async def page(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        filters: NumberFilters,
        params: PageParams,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the inventory (numbers or trunks lists), oldest first, as JSON-ready
        PhoneNumber items (``views.item_json``, for ``kit.pagination.page_response``), and the
        exact filtered total: the page (its total riding on it), then its holdings and its
        trunk rows, a read each."""
        rows, total = await repo.page(session, workspace_id, filters, params)
        if not rows:
            return [], total
        currency = await workspace_service.currency(session, workspace_id)
        holdings = await binding_service.holdings_for_numbers(
            session, workspace_id, [n.number for n in rows]
        )
        external = [n.id for n in rows if n.source == Source.external]
        trunks = await binding_service.trunks_for_numbers(session, external)
        items = [item_json(n, holdings[n.number], trunks.get(n.id, []), currency) for n in rows]
        return items, total

    async def search(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        provider: NumberProvider,
        params: PageParams,
        *,
        country_code: str,
        type: NumberType | None,
        contains: str | None,
    ) -> tuple[list[AvailableNumber], int]:
        """A page of the provider's offers, leaving out numbers the workspace already has, and
        how many offers there are in all."""
        # Every number of a country starts with its calling code: one query finds the owned
        # numbers the offers could include, however many the workspace has elsewhere.
        calling_code = phonenumbers.country_code_for_region(country_code)
        owned = await repo.active_matching(
            session, workspace_id, prefix=f"+{calling_code}", contains=contains
        )
        offers, total = await provider.search(
            country_code=country_code,
            type=type,
            contains=contains,
            exclude=owned,
            offset=params.offset,
            limit=params.per_page,
            currency=await workspace_service.currency(session, workspace_id),
        )
        return [available_view(o) for o in offers], total

    async def buy(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        provider: NumberProvider,
        purchase_limit: int,
        body: PhoneNumberPurchase,
    ) -> PhoneNumberRead:
        """Buy a number: checks, the per-workspace limit (race-safe), then the row."""
        # Everything below runs with the workspace's purchases serialized, so the count of
        # active numbers cannot change between the check and the insert.
        await lock_workspace(session, workspace_id)
        existing = await repo.get_by_number(session, workspace_id, body.number)
        self._check_existing(existing)
        currency = await workspace_service.currency(session, workspace_id)
        offer = await provider.quote(body.number, currency=currency)
        if offer is None:
            raise NumberNotAvailable(field="number")
        if offer.country_code != body.country_code:
            raise _mismatch("country_code", f"{body.number} is a number of {offer.country_code}.")
        if offer.type != body.type:
            raise _mismatch("type", f"{body.number} is a {offer.type} number.")
        current = await repo.count_active_purchased(session, workspace_id)
        if current >= purchase_limit:
            raise PurchaseLimitReached(data={"limit": purchase_limit, "current": current})

        address, supplied = _supplied(body)
        now = utcnow()
        fresh: dict[str, Any] = {
            "country_code": offer.country_code,
            "location": offer.location or body.location,
            "type": offer.type,
            "source": Source.purchased.value,
            "status": NumberStatus.active,
            "capabilities": offer.capabilities.as_dict(),
            "channel_settings": purchased_channel_settings(
                offer.country_code, offer.capabilities.as_dict()
            ),
            # The first active number of a workspace is free.
            "monthly_fee": offer.monthly_fee if current else Decimal(0),
            "currency": offer.currency,
            "compliance": compliance_record(
                provider.requirements(offer.country_code, offer.type), address, supplied
            ),
            "address": address or None,
            "requirements": supplied or None,
            "purchased_at": now,
            "released_at": None,
        }
        if existing is not None:  # released earlier: the same row comes back to life
            for key, value in fresh.items():
                setattr(existing, key, value)
            await session.flush()
            return await phone_number_service.item(session, existing)
        await repo.insert_if_absent(
            session,
            {
                "id": uuid.uuid4(),
                "workspace_id": workspace_id,
                "number": body.number,
                "created_at": now,
                "updated_at": now,
                **fresh,
            },
        )
        number = await repo.get_by_number(session, workspace_id, body.number)
        assert number is not None
        if number.is_external:  # registered as a trunk concurrently; it won the row
            raise NumberIsExternal(field="number")
        return await phone_number_service.item(session, number)

    @staticmethod
    def _check_existing(existing: PhoneNumber | None) -> None:
        if existing is None or existing.status != NumberStatus.active:
            return
        if existing.is_external:
            raise NumberIsExternal(
                "This number is registered as an external trunk in this workspace.",
                field="number",
            )
        raise NumberInInventory(field="number")


inventory_service = InventoryService()
