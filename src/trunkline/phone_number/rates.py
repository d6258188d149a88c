"""Outbound call rates from the number provider (docs/api-decisions.md §6.5), priced in the
workspace's currency."""

from __future__ import annotations

import uuid

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from trunkline.kit.pagination import PageParams
from trunkline.kit.schema import ResponseModel
from trunkline.phone_number.provider import NumberProvider, Rate
from trunkline.workspace.service import workspace_service


class PriceRead(ResponseModel):
    amount: float = Field(examples=[0.0125], description="Per minute of call")
    currency: str = Field(examples=["EUR"], description="The workspace's currency (ISO 4217)")


class RateRead(ResponseModel):
    """What outbound calls to the numbers starting with ``destination_prefix`` cost."""

    country_code: str = Field(examples=["DE"], description="ISO-3166 alpha-2 of the destination")
    country_name: str = Field(examples=["Germany"])
    destination_prefix: str = Field(
        examples=["4915"], description="E.164 digits (no +) the destination starts with"
    )
    origination: str = Field(
        examples=["any"], description="Where the call leaves from; the sandbox prices all alike"
    )
    description: str = Field(examples=["Germany - mobile (15x)"])
    min_duration_seconds: int = Field(
        examples=[60], description="Every answered call is billed at least this long"
    )
    billing_increment_seconds: int = Field(
        examples=[1], description="Beyond the minimum, billed in steps of this many seconds"
    )
    price: PriceRead

    @classmethod
    def of(cls, rate: Rate) -> RateRead:
        return cls(
            country_code=rate.country_code,
            country_name=rate.country_name,
            destination_prefix=rate.destination_prefix,
            origination=rate.origination,
            description=rate.description,
            min_duration_seconds=rate.min_duration_seconds,
            billing_increment_seconds=rate.billing_increment_seconds,
            price=PriceRead(amount=float(rate.price_per_minute), currency=rate.currency),
        )


class RatesService:
    async def page(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        provider: NumberProvider,
        params: PageParams,
        *,
        country_code: str | None,
        prefix: str | None,
    ) -> tuple[list[RateRead], int]:
        """A page of the provider's rate deck in the workspace's currency, and the match count."""
        rates, total = await provider.rates(
            country_code=country_code,
            prefix=prefix,
            offset=params.offset,
            limit=params.per_page,
            currency=await workspace_service.currency(session, workspace_id),
        )
        return [RateRead.of(r) for r in rates], total


rates_service = RatesService()
