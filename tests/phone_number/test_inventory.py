"""Purchased inventory through the sandbox provider (docs/api-decisions.md §4.3): search, buy,
release."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body, sandbox_number, unique_us_number
from tests.support.phone_items import ALL_CAPS, bound, ok, paginated, purchased, settings
from trunkline.db import session_scope
from trunkline.kit.clock import utcnow
from trunkline.models import Binding, PhoneNumber, Workspace
from trunkline.phone_number.provider.sandbox import block_prefix

SEARCH = "/phone-numbers/search"
PURCHASE_LIMIT = 10  # Settings.limits.purchase_limit default, used by the test server

TOLL_FREE_CAPS = {
    **ALL_CAPS,
    "mms": False,
    "fax": False,
    "emergency": False,
    "local_calling": False,
}
NATIONAL_CAPS = {**TOLL_FREE_CAPS, "sms": False}


def offer(number: str, **over: Any) -> dict[str, Any]:
    return {
        "number": number,
        "country_code": "US",
        "type": "local",
        "location": "",  # the sandbox knows no place names (no geocoder: memory budget)
        "monthly_fee": 1.15,
        "currency": "EUR",
        "capabilities": ALL_CAPS,
        **over,
    }


def invalid(field: str, message: str) -> dict[str, Any]:
    return error_body(
        "validation_failed",
        f"Validation failed: {field}: {message.rstrip('.')}.",
        field=field,
        fields=[{"field": field, "message": message}],
    )


def buy_body(number: str, **over: Any) -> dict[str, Any]:
    return {"number": number, "country_code": "US", "type": "local", **over}


async def count_numbers(sm: async_sessionmaker[AsyncSession], api: Api, numbers: list[str]) -> int:
    """Active rows of ``numbers`` in the workspace of ``api``."""
    async with sm() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(PhoneNumber)
            .join(Workspace, Workspace.id == PhoneNumber.workspace_id)
            .where(
                Workspace.slug == api.slug,
                PhoneNumber.number.in_(numbers),
                PhoneNumber.status == "active",
            )
        )
    return int(found or 0)


def us_local(*suffixes: int) -> list[dict[str, Any]]:
    """Offers of the sandbox's US local block (+1 201 555 XXXX)."""
    return [offer(sandbox_number(i)) for i in suffixes]


def found(items: list[Any], *, total: int, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    return ok(
        paginated(items, total=total, page=page, per_page=per_page),
        "Available numbers retrieved.",
    )


US_LOCAL = 10_000  # the whole US local block is valid
US_ALL = 30_000  # local, toll-free and national blocks (no US mobile block)


class TestSearch:
    async def test_lists_offers_of_a_country_and_type(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "US", "type": "local", "per_page": 2})

        assert r.status_code == 200
        assert r.json() == found(us_local(0, 1), total=US_LOCAL, per_page=2)

    async def test_defaults_to_the_first_page_of_fifty(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "US", "type": "local"})

        assert r.json() == found(us_local(*range(50)), total=US_LOCAL)

    async def test_page_two_continues_page_one(self, api: Api) -> None:
        query = {"country_code": "US", "type": "local", "per_page": 3}

        first = await api.get(SEARCH, params={**query, "page": 1})
        second = await api.get(SEARCH, params={**query, "page": 2})

        assert first.json() == found(us_local(0, 1, 2), total=US_LOCAL, per_page=3)
        assert second.json() == found(us_local(3, 4, 5), total=US_LOCAL, page=2, per_page=3)

    async def test_pages_run_across_types_without_overlap(self, api: Api) -> None:
        # "0077" matches one number per GB block: four offers, one per type, in a fixed order.
        query = {"country_code": "GB", "contains": "0077", "per_page": 3}

        first = await api.get(SEARCH, params={**query, "page": 1})
        second = await api.get(SEARCH, params={**query, "page": 2})

        assert [o["number"] for o in first.json()["data"]["items"]] == [
            "+441212340077",
            "+448001230077",
            "+447400120077",
        ]
        assert second.json() == found(
            [
                offer(
                    "+445612340077",
                    country_code="GB",
                    type="national",
                    location="",
                    monthly_fee=2.5,
                    capabilities=NATIONAL_CAPS,
                )
            ],
            total=4,
            page=2,
            per_page=3,
        )

    async def test_contains_filters_on_digits(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "US", "contains": "5554321"})

        assert r.json() == found([offer("+12015554321")], total=1)

    async def test_without_type_every_type_is_offered_in_a_fixed_order(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "GB", "contains": "0077"})

        gb = {"country_code": "GB", "currency": "EUR"}
        assert r.json() == found(
            [
                offer("+441212340077", **gb, monthly_fee=2.15),
                offer(
                    "+448001230077",
                    **gb,
                    type="toll_free",
                    location="",
                    monthly_fee=3.15,
                    capabilities=TOLL_FREE_CAPS,
                ),
                offer(
                    "+447400120077",
                    **gb,
                    type="mobile",
                    monthly_fee=3.0,
                    capabilities={**ALL_CAPS, "fax": False, "local_calling": False},
                ),
                offer(
                    "+445612340077",
                    **gb,
                    type="national",
                    location="",
                    monthly_fee=2.5,
                    capabilities=NATIONAL_CAPS,
                ),
            ],
            total=4,
        )

    async def test_numbers_the_workspace_has_are_left_out(self, api: Api) -> None:
        await api.buy(sandbox_number(0))
        await api.trunk((await api.agent())["agent_uuid"], sandbox_number(1))
        await api.buy(sandbox_number(4))

        r = await api.get(SEARCH, params={"country_code": "US", "type": "local", "per_page": 2})

        assert r.json() == found(us_local(2, 3), total=US_LOCAL - 3, per_page=2)

    async def test_pages_after_owned_numbers_neither_overlap_nor_skip(self, api: Api) -> None:
        for i in (1, 2, 5):
            await api.buy(sandbox_number(i))
        query = {"country_code": "US", "type": "local", "per_page": 2}

        pages = [(await api.get(SEARCH, params={**query, "page": p})).json() for p in (1, 2, 3)]

        assert pages == [
            found(us_local(0, 3), total=US_LOCAL - 3, page=1, per_page=2),
            found(us_local(4, 6), total=US_LOCAL - 3, page=2, per_page=2),
            found(us_local(7, 8), total=US_LOCAL - 3, page=3, per_page=2),
        ]

    async def test_released_numbers_are_offered_again(self, api: Api) -> None:
        first = await api.buy(sandbox_number(0))
        await api.delete(f"/phone-numbers/{first['phone_number_uuid']}")

        r = await api.get(SEARCH, params={"country_code": "US", "type": "local", "per_page": 1})

        assert r.json() == found(us_local(0), total=US_LOCAL, per_page=1)

    async def test_owned_numbers_only_count_where_they_match(self, api: Api) -> None:
        await api.buy(sandbox_number(4321))
        await api.buy(sandbox_number(1))

        r = await api.get(SEARCH, params={"country_code": "US", "contains": "555432"})

        # 555432X and 5555432 match; the owned 5554321 is left out, the owned 5550001 never matched.
        assert r.json() == found(us_local(4320, *range(4322, 4330), 5432), total=10)

    async def test_another_workspace_s_numbers_are_still_offered(
        self, api: Api, other_api: Api
    ) -> None:
        await other_api.buy(sandbox_number(0))

        r = await api.get(SEARCH, params={"country_code": "US", "type": "local", "per_page": 1})

        assert r.json() == found(us_local(0), total=US_LOCAL, per_page=1)

    async def test_per_page_one(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "US", "per_page": 1, "page": 7})

        assert r.json() == found(us_local(6), total=US_ALL, page=7, per_page=1)

    async def test_per_page_two_hundred(self, api: Api) -> None:
        r = await api.get(
            SEARCH, params={"country_code": "US", "type": "local", "per_page": 200, "page": 50}
        )

        assert r.json() == found(
            us_local(*range(9800, 10_000)), total=US_LOCAL, page=50, per_page=200
        )
        assert r.json()["data"]["pagination"]["has_more"] is False

    async def test_a_page_past_the_end_is_empty(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "US", "contains": "5554321", "page": 2})

        assert r.json() == ok(
            {
                "items": [],
                "pagination": {
                    "current_page": 2,
                    "per_page": 50,
                    "total": 1,
                    "last_page": 1,
                    "from": None,
                    "to": None,
                    "has_more": False,
                },
            },
            "Available numbers retrieved.",
        )

    async def test_a_type_the_country_lacks_finds_nothing(self, api: Api) -> None:
        # US mobile numbers are indistinguishable from fixed lines: the sandbox sells them as local.
        r = await api.get(SEARCH, params={"country_code": "US", "type": "mobile"})

        assert r.json() == found([], total=0)

    async def test_country_code_is_case_insensitive(self, api: Api) -> None:
        r = await api.get(SEARCH, params={"country_code": "us", "per_page": 1})

        assert r.json() == found(us_local(0), total=US_ALL, per_page=1)

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({}, "country_code", "Field required"),
            (
                {"country_code": "XX"},
                "country_code",
                "Must be an ISO-3166 alpha-2 country code, e.g. US.",
            ),
            (
                {"country_code": "US", "type": "premium"},
                "type",
                "Input should be 'local', 'toll_free', 'mobile' or 'national'",
            ),
            (
                {"country_code": "US", "contains": "12a"},
                "contains",
                "Must be up to 15 digits, optionally after +.",
            ),
            (
                {"country_code": "US", "per_page": "0"},
                "per_page",
                "Input should be greater than or equal to 1",
            ),
            (
                {"country_code": "US", "per_page": "201"},
                "per_page",
                "Input should be less than or equal to 200",
            ),
            (
                {"country_code": "US", "page": "0"},
                "page",
                "Input should be greater than or equal to 1",
            ),
            (
                {"country_code": "US", "page": "x"},
                "page",
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        ],
    )
    async def test_bad_queries_are_422(
        self, api: Api, params: dict[str, str], field: str, message: str
    ) -> None:
        r = await api.get(SEARCH, params=params)

        assert r.status_code == 422
        assert r.json() == invalid(field, message)


class TestBuy:
    async def test_first_number_is_free(self, api: Api) -> None:
        r = await api.post("/phone-numbers", buy_body("+12015550100"))

        assert r.status_code == 201
        assert r.json() == ok(purchased("+12015550100", fee=0), "Phone number purchased.")

    async def test_later_numbers_pay_the_quoted_fee(self, api: Api) -> None:
        await api.buy()

        r = await api.post(
            "/phone-numbers", buy_body("+448001234567", country_code="GB", type="toll_free")
        )

        assert r.status_code == 201
        assert r.json() == ok(
            purchased(
                "+448001234567",
                fee=3.15,
                country="GB",
                type="toll_free",
                location="",
                caps=TOLL_FREE_CAPS,
            ),
            "Phone number purchased.",
        )

    async def test_body_location_is_used_when_the_provider_knows_none(self, api: Api) -> None:
        number = block_prefix("US", "toll_free") + "0042"  # type: ignore[operator]

        data = await api.buy(number, type="toll_free", location="Nationwide", monthly_fee=9.99)

        assert data == purchased(
            number, type="toll_free", location="Nationwide", caps=TOLL_FREE_CAPS, fee=0
        )

    async def test_a_number_without_sms_gets_no_sms_settings(self, api: Api) -> None:
        number = block_prefix("GB", "national") + "0001"  # type: ignore[operator]

        data = await api.buy(number, country_code="GB", type="national")

        assert data["capabilities"] == NATIONAL_CAPS
        assert data["channel_settings"] == settings(
            voice=True, sms=False, inbound=True, country="GB"
        )

    async def test_owned_number_is_409_number_in_inventory(self, api: Api) -> None:
        await api.buy("+12015550100")

        r = await api.post("/phone-numbers", buy_body("+12015550100"))

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_in_inventory",
            "This number is already in the workspace's purchased inventory.",
            field="number",
        )

    async def test_external_number_is_409_number_is_external(self, api: Api) -> None:
        await api.trunk((await api.agent())["agent_uuid"], "+12015550100")

        r = await api.post("/phone-numbers", buy_body("+12015550100"))

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_is_external",
            "This number is registered as an external trunk in this workspace.",
            field="number",
        )

    async def test_registering_a_bought_number_as_trunk_is_409(self, api: Api) -> None:
        await api.buy("+12015550100")
        agent = await api.agent()

        r = await api.post(
            "/phone-numbers/trunks",
            {"phone_number": "+12015550100", "agent_uuid": agent["agent_uuid"], "channel": "call"},
        )

        assert r.status_code == 409
        assert r.json()["error"]["code"] == "NUMBER_IN_INVENTORY"

    async def test_number_outside_the_catalogue_is_422_number_not_available(self, api: Api) -> None:
        r = await api.post("/phone-numbers", buy_body(unique_us_number()))

        assert r.status_code == 422
        assert r.json() == error_body(
            "number_not_available", "The number provider cannot sell this number.", field="number"
        )

    async def test_country_must_match_the_number(self, api: Api) -> None:
        r = await api.post("/phone-numbers", buy_body("+12015550100", country_code="CA"))

        assert r.status_code == 422
        assert r.json() == invalid("country_code", "+12015550100 is a number of US.")

    async def test_type_must_match_the_number(self, api: Api) -> None:
        r = await api.post("/phone-numbers", buy_body("+12015550100", type="toll_free"))

        assert r.status_code == 422
        assert r.json() == invalid("type", "+12015550100 is a local number.")

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            (
                {"number": "+1201555", "country_code": "US", "type": "local"},
                "number",
                "Must be a valid phone number in E.164 format, e.g. +12025550123.",
            ),
            ({"number": "+12015550100", "type": "local"}, "country_code", "Field required"),
            (
                {
                    "number": "+12015550100",
                    "country_code": "US",
                    "type": "local",
                    "monthly_fee": -1,
                },
                "monthly_fee",
                "Input should be greater than or equal to 0",
            ),
        ],
    )
    async def test_bad_bodies_are_422(
        self, api: Api, body: dict[str, Any], field: str, message: str
    ) -> None:
        r = await api.post("/phone-numbers", body)

        assert r.status_code == 422
        assert r.json() == invalid(field, message)

    async def test_the_limit_is_403_with_limit_and_current(self, api: Api) -> None:
        for i in range(PURCHASE_LIMIT):
            await api.buy(sandbox_number(i))

        r = await api.post("/phone-numbers", buy_body(sandbox_number(PURCHASE_LIMIT)))

        assert r.status_code == 403
        assert r.json() == error_body(
            "purchase_limit_reached",
            "The workspace has reached its phone number purchase limit.",
            limit=PURCHASE_LIMIT,
            current=PURCHASE_LIMIT,
        )

    async def test_external_and_released_numbers_do_not_count(self, api: Api) -> None:
        agent = await api.agent()
        await api.trunk(agent["agent_uuid"])
        first = await api.buy(sandbox_number(0))
        for i in range(1, PURCHASE_LIMIT):
            await api.buy(sandbox_number(i))
        assert (await api.delete(f"/phone-numbers/{first['phone_number_uuid']}")).status_code == 200

        r = await api.post("/phone-numbers", buy_body(sandbox_number(PURCHASE_LIMIT)))

        assert r.status_code == 201, r.text

    async def test_a_released_number_can_be_bought_again(self, api: Api) -> None:
        first = await api.buy("+12015550100")
        await api.buy("+12015550101")
        await api.delete(f"/phone-numbers/{first['phone_number_uuid']}")

        r = await api.post("/phone-numbers", buy_body("+12015550100"))

        assert r.status_code == 201
        assert r.json() == ok(
            purchased("+12015550100", fee=1.15, uuid=first["phone_number_uuid"]),
            "Phone number purchased.",
        )

    async def test_other_workspaces_do_not_see_the_purchase(self, api: Api, other_api: Api) -> None:
        await api.buy("+12015550100")

        r = await other_api.post("/phone-numbers", buy_body("+12015550100"))

        assert r.status_code == 201
        assert r.json()["data"]["billing"] == {"monthly_fee": 0, "currency": "EUR"}


@pytest.mark.slow
class TestConcurrentBuys:
    async def test_the_limit_holds_under_concurrent_buys(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        numbers = [sandbox_number(i) for i in range(3 * PURCHASE_LIMIT)]

        responses = await asyncio.gather(
            *(api.post("/phone-numbers", buy_body(n)) for n in numbers)
        )

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: PURCHASE_LIMIT, 403: 2 * PURCHASE_LIMIT}, [
            r.text for r in responses if r.status_code not in (201, 403)
        ]
        assert await count_numbers(sessionmaker, api, numbers) == PURCHASE_LIMIT
        fees = Counter(
            r.json()["data"]["billing"]["monthly_fee"] for r in responses if r.is_success
        )
        assert fees == {0: 1, 1.15: PURCHASE_LIMIT - 1}

    async def test_the_same_number_is_bought_once(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        number = sandbox_number()

        responses = await asyncio.gather(
            *(api.post("/phone-numbers", buy_body(number)) for _ in range(12))
        )

        assert Counter(r.status_code for r in responses) == {201: 1, 409: 11}
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
            "NUMBER_IN_INVENTORY"
        }
        assert await count_numbers(sessionmaker, api, [number]) == 1

    async def test_buy_and_trunk_registration_race_has_one_winner(self, api: Api) -> None:
        agent = await api.agent()
        number = sandbox_number()

        buy, register = await asyncio.gather(
            api.post("/phone-numbers", buy_body(number)),
            api.post(
                "/phone-numbers/trunks",
                {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "call"},
            ),
        )

        outcomes = {
            (buy.status_code, register.status_code),
            (buy.json().get("error", {}).get("code"), register.json().get("error", {}).get("code")),
        }
        assert outcomes in (
            {(201, 409), (None, "NUMBER_IN_INVENTORY")},
            {(409, 201), ("NUMBER_IS_EXTERNAL", None)},
        )


class TestRelease:
    async def test_releases_a_purchased_number(self, api: Api) -> None:
        bought = await api.buy("+12015550100")

        r = await api.delete(f"/phone-numbers/{bought['phone_number_uuid']}")

        assert r.status_code == 200
        assert r.json() == ok(
            purchased("+12015550100", status="released", uuid=bought["phone_number_uuid"]),
            "Phone number released.",
        )
        assert r.json()["data"]["released_at"] is not None

    async def test_bindings_are_removed_first(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent("Seller")
        bought = await api.buy("+12015550100")
        number_id = uuid.UUID(bought["phone_number_uuid"])
        async with session_scope(sessionmaker) as session:
            workspace_id = await session.scalar(
                select(PhoneNumber.workspace_id).where(PhoneNumber.id == number_id)
            )
            for channel in ("call", "sms"):
                session.add(
                    Binding(
                        workspace_id=workspace_id,
                        phone_number_id=number_id,
                        agent_id=uuid.UUID(agent["agent_uuid"]),
                        channel=channel,
                        kind="provision",
                        created_at=utcnow(),
                    )
                )
        before = await api.get(f"/phone-numbers/{number_id}")
        assert before.json()["data"]["bindings"]["sms"] == bound(agent)

        r = await api.delete(f"/phone-numbers/{number_id}")

        assert r.json() == ok(
            purchased("+12015550100", status="released", uuid=str(number_id)),
            "Phone number released.",
        )
        async with sessionmaker() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(Binding)
                .where(Binding.phone_number_id == number_id)
            )
        assert left == 0

    async def test_releasing_twice_is_harmless(self, api: Api) -> None:
        bought = await api.buy("+12015550100")
        first = await api.delete(f"/phone-numbers/{bought['phone_number_uuid']}")

        again = await api.delete(f"/phone-numbers/{bought['phone_number_uuid']}")

        assert again.status_code == 200
        assert again.json() == first.json()

    async def test_external_number_is_409(self, api: Api) -> None:
        snap = await api.trunk((await api.agent())["agent_uuid"])

        r = await api.delete(f"/phone-numbers/{snap['phone_number_uuid']}")

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_is_external",
            "External numbers cannot be released; delete their trunks instead "
            "(DELETE /api/v1/phone-numbers/trunks).",
        )

    async def test_unknown_or_foreign_number_is_404(self, api: Api, other_api: Api) -> None:
        foreign = await other_api.buy()

        for target in (str(uuid.uuid4()), foreign["phone_number_uuid"]):
            r = await api.delete(f"/phone-numbers/{target}")
            assert r.status_code == 404
            assert r.json() == error_body("phone_number_not_found", "Phone number not found.")
