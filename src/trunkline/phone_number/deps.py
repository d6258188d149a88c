"""Dependencies of the inventory endpoints: the configured number provider and limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from trunkline.deps import get_state
from trunkline.phone_number.provider import NumberProvider, provider_named


async def get_provider(request: Request) -> NumberProvider:
    return provider_named(get_state(request).settings.provider.name)


async def get_purchase_limit(request: Request) -> int:
    return get_state(request).settings.limits.purchase_limit


ProviderDep = Annotated[NumberProvider, Depends(get_provider)]
PurchaseLimitDep = Annotated[int, Depends(get_purchase_limit)]
