"""Outbound call rates (docs/api-decisions.md §6.5): the sandbox provider's fixed deck, in the
workspace's currency, paginated and filtered."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body
from tests.support.phone_items import ok, paginated
from trunkline.db import session_scope
from trunkline.workspace.service import workspace_service

RATES = "/phone-numbers/rates"
DECK_SIZE = 17  # rows of sandbox_rates.RATE_DECK


def rate(
    country_code: str,
    country_name: str,
    prefix: str,
    description: str,
    amount: float,
    *,
    minimum: int = 60,
    increment: int = 1,
    currency: str = "EUR",
) -> dict[str, Any]:
    return {
        "country_code": country_code,
        "country_name": country_name,
        "destination_prefix": prefix,
        "origination": "any",
        "description": description,
        "min_duration_seconds": minimum,
        "billing_increment_seconds": increment,
        "price": {"amount": amount, "currency": currency},
    }


def germany(currency: str = "EUR") -> list[dict[str, Any]]:
    return [
        rate("DE", "Germany", "49", "Germany - fixed", 0.015, currency=currency),
        rate("DE", "Germany", "4915", "Germany - mobile (15x)", 0.048, currency=currency),
        rate("DE", "Germany", "4917", "Germany - mobile (17x)", 0.048, currency=currency),
    ]


def rates(items: list[Any], *, total: int, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    return ok(paginated(items, total=total, page=page, per_page=per_page), "Rates retrieved.")


def invalid(field: str, message: str) -> dict[str, Any]:
    return error_body(
        "validation_failed",
        f"Validation failed: {field}: {message.rstrip('.')}.",
        fields=[{"field": field, "message": message}],
    )


async def set_currency(sm: async_sessionmaker[AsyncSession], api: Api, code: str) -> None:
    async with session_scope(sm) as session:
        await workspace_service.set_currency(session, api.slug, code)


class TestListRates:
    async def test_a_country_s_rates_ordered_by_prefix(self, api: Api) -> None:
        r = await api.get(RATES, params={"country_code": "DE"})

        assert r.status_code == 200
        assert r.json() == rates(germany(), total=3)

    async def test_the_whole_deck_is_ordered_by_country_then_prefix(self, api: Api) -> None:
        r = await api.get(RATES, params={"per_page": 3})

        assert r.json() == rates(
            [
                rate("CA", "Canada", "1416", "Canada - Toronto", 0.012, minimum=6, increment=6),
                rate("CA", "Canada", "1514", "Canada - Montreal", 0.012, minimum=6, increment=6),
                germany()[0],
            ],
            total=DECK_SIZE,
            per_page=3,
        )

    async def test_defaults_to_fifty_per_page(self, api: Api) -> None:
        r = await api.get(RATES)

        body = r.json()
        assert len(body["data"]["items"]) == DECK_SIZE
        assert (
            body["data"]["pagination"]
            == paginated(body["data"]["items"], total=DECK_SIZE)["pagination"]
        )

    async def test_page_two_continues_page_one(self, api: Api) -> None:
        first = await api.get(RATES, params={"per_page": 10, "page": 1})
        second = await api.get(RATES, params={"per_page": 10, "page": 2})

        items = first.json()["data"]["items"] + second.json()["data"]["items"]
        assert [(i["country_code"], i["destination_prefix"]) for i in items] == [
            ("CA", "1416"),
            ("CA", "1514"),
            ("DE", "49"),
            ("DE", "4915"),
            ("DE", "4917"),
            ("ES", "34"),
            ("ES", "346"),
            ("FR", "33"),
            ("FR", "336"),
            ("FR", "337"),
            ("GB", "44"),
            ("GB", "447"),
            ("IT", "39"),
            ("IT", "393"),
            ("NL", "31"),
            ("NL", "316"),
            ("US", "1"),
        ]
        assert second.json() == rates(items[10:], total=DECK_SIZE, page=2, per_page=10)

    async def test_a_page_past_the_end_is_empty(self, api: Api) -> None:
        r = await api.get(RATES, params={"country_code": "DE", "page": 2})

        assert r.json() == rates([], total=3, page=2)

    async def test_per_page_two_hundred_is_allowed(self, api: Api) -> None:
        r = await api.get(RATES, params={"country_code": "DE", "per_page": 200})

        assert r.json() == rates(germany(), total=3, per_page=200)

    @pytest.mark.parametrize("prefix", ["491", "+491", "491 "])
    async def test_prefix_matches_the_start_of_destination_prefixes(
        self, api: Api, prefix: str
    ) -> None:
        r = await api.get(RATES, params={"prefix": prefix})

        assert r.json() == rates(germany()[1:], total=2)

    async def test_prefix_and_country_combine(self, api: Api) -> None:
        r = await api.get(RATES, params={"country_code": "ca", "prefix": "1"})

        assert [i["destination_prefix"] for i in r.json()["data"]["items"]] == ["1416", "1514"]

    async def test_a_prefix_nothing_starts_with_finds_nothing(self, api: Api) -> None:
        r = await api.get(RATES, params={"prefix": "99"})

        assert r.json() == rates([], total=0)

    async def test_prices_are_in_the_workspace_s_currency(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        await set_currency(sessionmaker, api, "usd")

        mine = await api.get(RATES, params={"country_code": "DE"})
        theirs = await other_api.get(RATES, params={"country_code": "DE"})

        assert mine.json() == rates(germany("USD"), total=3)
        assert theirs.json() == rates(germany("EUR"), total=3)

    async def test_is_not_taken_for_a_phone_number_uuid(self, api: Api) -> None:
        # /phone-numbers/{uuid} would answer 422 (not a uuid) if it were matched first.
        r = await api.get(RATES, params={"per_page": 1})

        assert r.status_code == 200
        assert r.json()["message"] == "Rates retrieved."

    async def test_needs_a_token(self, api: Api) -> None:
        r = await api.http.get(f"/api/v1{RATES}")

        assert r.status_code == 401
        assert r.json()["data"]["error"] == "missing_auth_token"

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            (
                {"country_code": "XX"},
                "country_code",
                "Must be an ISO-3166 alpha-2 country code, e.g. US.",
            ),
            (
                {"country_code": ""},
                "country_code",
                "Must be an ISO-3166 alpha-2 country code, e.g. US.",
            ),
            ({"prefix": "49a"}, "prefix", "Must be up to 15 digits, optionally after +."),
            ({"prefix": "1" * 16}, "prefix", "Must be up to 15 digits, optionally after +."),
            ({"per_page": "0"}, "per_page", "Input should be greater than or equal to 1"),
            ({"per_page": "201"}, "per_page", "Input should be less than or equal to 200"),
            ({"page": "0"}, "page", "Input should be greater than or equal to 1"),
        ],
    )
    async def test_bad_filters_are_422(
        self, api: Api, params: dict[str, str], field: str, message: str
    ) -> None:
        r = await api.get(RATES, params=params)

        assert r.status_code == 422
        assert r.json() == invalid(field, message)
