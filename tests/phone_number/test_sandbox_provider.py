"""The sandbox number provider: a deterministic catalogue of valid numbers (no network)."""

from __future__ import annotations

from decimal import Decimal

import phonenumbers
import pytest

from trunkline.kit.e164 import parse_e164
from trunkline.phone_number.provider import provider_named
from trunkline.phone_number.provider.base import NUMBER_TYPES, NumberType, Offer
from trunkline.phone_number.provider.sandbox import (
    CAPABILITIES,
    SandboxProvider,
    block_prefix,
    monthly_fee,
)

sandbox = SandboxProvider()
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "NL", "AU", "JP", "BR", "IN"]


async def search(
    country_code: str,
    type: NumberType | None = None,
    *,
    contains: str | None = None,
    exclude: frozenset[str] = frozenset(),
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Offer], int]:
    return await sandbox.search(
        country_code=country_code,
        type=type,
        contains=contains,
        exclude=exclude,
        offset=offset,
        limit=limit,
        currency="EUR",
    )


def numbers(offers: list[Offer]) -> list[str]:
    return [o.number for o in offers]


class TestSearch:
    @pytest.mark.parametrize("country", COUNTRIES)
    @pytest.mark.parametrize("kind", NUMBER_TYPES)
    async def test_every_offer_is_a_valid_number_of_its_country_and_type(
        self, country: str, kind: NumberType
    ) -> None:
        offers, total = await search(country, kind, limit=25)

        for offer in offers:
            info = parse_e164(offer.number)
            assert info is not None, offer.number
            assert phonenumbers.is_valid_number(phonenumbers.parse(offer.number))
            assert (info.country_code, info.type) == (country, kind)
            assert offer == Offer(
                number=offer.number,
                country_code=country,
                type=kind,
                location=None,
                monthly_fee=monthly_fee(country, kind),
                currency="EUR",
                capabilities=CAPABILITIES[kind],
            )
        assert len({o.number for o in offers}) == len(offers)
        assert len(offers) == min(25, total)
        assert total <= 10_000

    @pytest.mark.parametrize(("country", "kind"), [("US", "local"), ("IT", "mobile")])
    async def test_the_block_is_what_the_numbering_plan_says(
        self, country: str, kind: NumberType
    ) -> None:
        # The catalogue is computed without parsing every number; it must agree with parsing
        # (checked on every third number of the block, to keep the test fast).
        prefix = block_prefix(country, kind)
        assert prefix is not None
        everything, total = await search(country, kind, limit=10_000)
        offered = set(numbers(everything))

        for i in range(0, 10_000, 3):
            number = f"{prefix}{i:04d}"
            info = parse_e164(number)
            valid = info is not None and (info.country_code, info.type) == (country, kind)
            assert (number in offered) == valid, number
        assert total == len(offered)

    async def test_the_catalogue_is_deterministic_and_ascending(self) -> None:
        first, total = await search("DE", "mobile")
        again, total_again = await search("DE", "mobile")

        assert (first, total) == (again, total_again)
        assert numbers(first) == sorted(numbers(first))
        assert len(first) == 50

    async def test_the_total_counts_every_match(self) -> None:
        # The US has no mobile block; local, toll-free and national blocks are all valid.
        assert (await search("US", "local", limit=1))[1] == 10_000
        assert (await search("US", limit=1))[1] == 30_000
        assert (await search("US", contains="5554321"))[1] == 1

    async def test_offset_continues_where_the_previous_page_ended(self) -> None:
        whole, total = await search("GB", contains="77", limit=200)
        pages = [(await search("GB", contains="77", offset=o, limit=7))[0] for o in range(0, 21, 7)]

        assert [len(p) for p in pages] == [7, 7, 7]
        assert numbers([o for p in pages for o in p]) == numbers(whole[:21])
        assert (await search("GB", contains="77", offset=7, limit=7))[1] == total

    async def test_pages_run_across_blocks(self) -> None:
        offers, total = await search("US", offset=9_999, limit=2)

        assert numbers(offers) == ["+12015559999", "+18002340000"]
        assert [o.type for o in offers] == ["local", "toll_free"]
        assert total == 30_000

    async def test_an_offset_past_the_end_finds_nothing_but_still_counts(self) -> None:
        assert await search("US", "local", offset=10_000, limit=5) == ([], 10_000)

    async def test_excluded_numbers_are_left_out_of_pages_and_total(self) -> None:
        exclude = frozenset({"+12015550000", "+12015550002", "+14155550100", "+441212340000"})

        offers, total = await search("US", "local", exclude=exclude, limit=3)

        assert numbers(offers) == ["+12015550001", "+12015550003", "+12015550004"]
        assert total == 10_000 - 2  # numbers outside the search do not count
        second, _ = await search("US", "local", exclude=exclude, offset=3, limit=2)
        assert numbers(second) == ["+12015550005", "+12015550006"]

    async def test_contains_matches_the_digits(self) -> None:
        offers, total = await search("US", contains="99", limit=200)

        assert offers
        assert all("99" in o.number[1:] for o in offers)
        assert total > len(offers)

    async def test_types_come_in_the_documented_order(self) -> None:
        offers, _ = await search("FR", contains="4242", limit=100)

        kinds = [o.type for o in offers]
        assert kinds == sorted(kinds, key=NUMBER_TYPES.index)
        assert list(dict.fromkeys(kinds)) == ["local", "toll_free", "mobile", "national"]

    async def test_unknown_combinations_find_nothing(self) -> None:
        assert await search("US", "mobile", limit=5) == ([], 0)
        assert await search("US", contains="000000000", limit=5) == ([], 0)

    async def test_limit_is_respected(self) -> None:
        offers, _ = await search("GB", limit=3)

        assert numbers(offers) == ["+441212340000", "+441212340001", "+441212340002"]


class TestQuote:
    async def test_every_searched_number_can_be_quoted_identically(self) -> None:
        offers, _ = await search("JP", contains="7", limit=40)

        for offer in offers:
            assert await sandbox.quote(offer.number, currency="EUR") == offer

    @pytest.mark.parametrize(
        "number",
        [
            "+14155550100",  # valid, but outside the US local block
            "+12015550",  # not a valid number
            "12015550100",  # not E.164
            "+999123",
        ],
    )
    async def test_numbers_outside_the_catalogue_are_not_sold(self, number: str) -> None:
        assert await sandbox.quote(number, currency="EUR") is None


class TestPriceList:
    @pytest.mark.parametrize(
        ("country", "kind", "fee"),
        [
            ("US", "local", "1.15"),
            ("CA", "toll_free", "2.15"),
            ("GB", "local", "2.15"),
            ("GB", "mobile", "3.00"),
            ("DE", "national", "2.50"),
        ],
    )
    def test_fee_per_country_and_type(self, country: str, kind: NumberType, fee: str) -> None:
        assert monthly_fee(country, kind) == Decimal(fee)

    def test_block_prefix_comes_from_the_example_number(self) -> None:
        assert block_prefix("US", "local") == "+1201555"
        assert block_prefix("US", "mobile") is None


class TestSelection:
    def test_settings_name_selects_the_sandbox(self) -> None:
        assert isinstance(provider_named("sandbox"), SandboxProvider)

    def test_an_unknown_provider_is_service_unavailable(self) -> None:
        from trunkline.errors import ServiceUnavailable

        with pytest.raises(ServiceUnavailable) as err:
            provider_named("carrier-x")

        assert err.value.message == "Number provider 'carrier-x' is not available."
