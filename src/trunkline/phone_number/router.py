from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from trunkline.binding.rules import Channel, NumberStatus, Source
from trunkline.deps import AuthDep, SessionDep
from trunkline.envelope import Envelope, error_responses, ok
from trunkline.errors import (
    ChannelNotCapable,
    NumberInInventory,
    NumberIsExternal,
    NumberNotAvailable,
    PhoneNumberNotFound,
    PurchaseLimitReached,
)
from trunkline.kit.pagination import Page, PageParams, make_page, page_params, page_response
from trunkline.lane import UUID_SEGMENT, Lane
from trunkline.phone_number import hot
from trunkline.phone_number.deps import ProviderDep, PurchaseLimitDep
from trunkline.phone_number.inventory import inventory_service
from trunkline.phone_number.provider import NumberType
from trunkline.phone_number.rates import RateRead, rates_service
from trunkline.phone_number.schemas import (
    AvailableNumber,
    ChannelsSnapshot,
    CountryCode,
    Digits,
    NumberFilters,
    PhoneNumberPurchase,
    PhoneNumberRead,
    PhoneNumberUpdate,
)
from trunkline.phone_number.service import phone_number_service

router = APIRouter(prefix="/phone-numbers", tags=["phone numbers"])

# The key-read lane (trunkline.lane): these two GETs, the reads by key clients poll, are answered
# before FastAPI's routing and dependencies when the token is cached and the parameters plain
# (0.6 ms of CPU per read is the target, issue 15). The FastAPI routes below stay their
# documentation and answer every other case (401, 403, 422, …).
LANE = (
    Lane(
        f"{router.prefix}/channels",
        hot.number_query,
        hot.channels_snapshot,
        "Channel snapshot retrieved.",
    ),
    Lane(
        f"{router.prefix}/{UUID_SEGMENT}", hot.uuid_path, hot.number_item, "Phone number retrieved."
    ),
)

NumberQuery = Annotated[
    Digits | None,
    Query(description="Prefix of the E.164 digits, with or without the leading +"),
]
AgentQuery = Annotated[
    uuid.UUID | None,
    Query(description="Only numbers this agent answers (binding, connection or PBX connector)"),
]


@router.get(
    "/search",
    response_model=Envelope[Page[AvailableNumber]],
    responses=error_responses(),
)
async def search_numbers(
    auth: AuthDep,
    session: SessionDep,
    provider: ProviderDep,
    params: Annotated[PageParams, Depends(page_params)],
    country_code: Annotated[CountryCode, Query(description="ISO-3166 alpha-2, e.g. US")],
    type: Annotated[NumberType | None, Query(description="Any type when omitted")] = None,
    contains: Annotated[Digits | None, Query(description="Digits the number contains")] = None,
) -> Envelope[Page[AvailableNumber]]:
    """Search numbers available from the number provider (paginated; owned ones left out)."""
    offers, total = await inventory_service.search(
        session,
        auth.workspace_id,
        provider,
        params,
        country_code=country_code,
        type=type,
        contains=contains,
    )
    return ok(make_page(offers, total, params), "Available numbers retrieved.")


@router.get(
    "/rates",
    response_model=Envelope[Page[RateRead]],
    responses=error_responses(),
    description="Outbound call rates of the number provider, by destination prefix, priced in "
    "the workspace's currency (per minute). Filters: `country_code` (ISO-3166 alpha-2) and "
    "`prefix` (E.164 digits, with or without +: rates whose destination prefix starts with "
    "them). Ordered by country, then prefix.",
)
async def list_rates(
    auth: AuthDep,
    session: SessionDep,
    provider: ProviderDep,
    params: Annotated[PageParams, Depends(page_params)],
    country_code: Annotated[CountryCode | None, Query(description="ISO-3166 alpha-2")] = None,
    prefix: Annotated[Digits | None, Query(description="Destination digits it starts with")] = None,
) -> Envelope[Page[RateRead]]:
    """List outbound call rates (paginated)."""
    rates, total = await rates_service.page(
        session, auth.workspace_id, provider, params, country_code=country_code, prefix=prefix
    )
    return ok(make_page(rates, total, params), "Rates retrieved.")


@router.get(
    "/channels",
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(PhoneNumberNotFound),
)
async def get_channels_by_number(
    auth: AuthDep,
    session: SessionDep,
    number: Annotated[
        str,
        Query(min_length=1, max_length=32, description="E.164, with or without the leading +"),
    ],
) -> Envelope[ChannelsSnapshot]:
    """Get the channel snapshot of a number by its E.164 form."""
    # Also answered by the lane (LANE above): keep both in step.
    snap = await phone_number_service.snapshot_by_number(session, auth.workspace_id, number)
    return ok(snap, "Channel snapshot retrieved.")


@router.get("", response_model=Envelope[Page[PhoneNumberRead]], responses=error_responses())
async def list_numbers(
    auth: AuthDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    source: Annotated[Source | None, Query()] = None,
    status: Annotated[NumberStatus | None, Query()] = None,
    channel: Annotated[
        Channel | None, Query(description="Only numbers bound on this channel")
    ] = None,
    agent_uuid: AgentQuery = None,
    number: NumberQuery = None,
) -> Response:
    """List the inventory, purchased and external (paginated, oldest first)."""
    filters = NumberFilters(
        source=source, status=status, channel=channel, agent_id=agent_uuid, number_digits=number
    )
    items, total = await inventory_service.page(session, auth.workspace_id, filters, params)
    return page_response(items, total, params, "Phone numbers retrieved.")


@router.post(
    "",
    status_code=201,
    response_model=Envelope[PhoneNumberRead],
    responses=error_responses(
        NumberIsExternal, NumberInInventory, NumberNotAvailable, PurchaseLimitReached
    ),
)
async def buy_number(
    body: PhoneNumberPurchase,
    auth: AuthDep,
    session: SessionDep,
    provider: ProviderDep,
    purchase_limit: PurchaseLimitDep,
) -> Envelope[PhoneNumberRead]:
    """Buy a number from the number provider."""
    item = await inventory_service.buy(session, auth.workspace_id, provider, purchase_limit, body)
    return ok(item, "Phone number purchased.")


@router.get(
    "/{phone_number_uuid}",
    response_model=Envelope[PhoneNumberRead],
    responses=error_responses(PhoneNumberNotFound),
)
async def get_number(
    phone_number_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[PhoneNumberRead]:
    """Get one number of the inventory."""
    # Also answered by the lane (LANE above): keep both in step.
    item = await phone_number_service.read(session, auth.workspace_id, phone_number_uuid)
    return ok(item, "Phone number retrieved.")


@router.patch(
    "/{phone_number_uuid}",
    response_model=Envelope[PhoneNumberRead],
    responses=error_responses(PhoneNumberNotFound, ChannelNotCapable),
)
async def update_number(
    phone_number_uuid: uuid.UUID, body: PhoneNumberUpdate, auth: AuthDep, session: SessionDep
) -> Envelope[PhoneNumberRead]:
    """Update a number's channel settings (each sub-object merges key by key)."""
    item = await phone_number_service.update(session, auth.workspace_id, phone_number_uuid, body)
    return ok(item, "Phone number updated.")


@router.delete(
    "/{phone_number_uuid}",
    response_model=Envelope[PhoneNumberRead],
    responses=error_responses(PhoneNumberNotFound, NumberIsExternal),
)
async def release_number(
    phone_number_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[PhoneNumberRead]:
    """Release a purchased number (its bindings are removed first)."""
    item = await phone_number_service.release(session, auth.workspace_id, phone_number_uuid)
    return ok(item, "Phone number released.")


@router.get(
    "/{phone_number_uuid}/channels",
    response_model=Envelope[ChannelsSnapshot],
    responses=error_responses(PhoneNumberNotFound),
)
async def get_channels(
    phone_number_uuid: uuid.UUID, auth: AuthDep, session: SessionDep
) -> Envelope[ChannelsSnapshot]:
    """Get the channel snapshot of a number by uuid."""
    snap = await phone_number_service.snapshot_by_id(session, auth.workspace_id, phone_number_uuid)
    return ok(snap, "Channel snapshot retrieved.")
