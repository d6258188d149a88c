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


class TestSearch:
    @pytest.mark.parametrize("country", COUNTRIES)
    @pytest.mark.parametrize("kind", NUMBER_TYPES)
    async def test_every_offer_is_a_valid_number_of_its_country_and_type(
        self, country: str, kind: NumberType
    ) -> None:
        offers = await sandbox.search(country_code=country, type=kind, contains=None, limit=25)

        for offer in offers:
            info = parse_e164(offer.number)
            assert info is not None, offer.number
            assert phonenumbers.is_valid_number(phonenumbers.parse(offer.number))
            assert (info.country_code, info.type) == (country, kind)
            assert offer == Offer(
                number=offer.number,
                country_code=country,
                type=kind,
                location=info.location,
                monthly_fee=monthly_fee(country, kind),
                currency="USD",
                capabilities=CAPABILITIES[kind],
            )
        assert len({o.number for o in offers}) == len(offers)

    async def test_the_catalogue_is_deterministic_and_ascending(self) -> None:
        first = await sandbox.search(country_code="DE", type="mobile", contains=None, limit=50)
        again = await sandbox.search(country_code="DE", type="mobile", contains=None, limit=50)

        assert first == again
        assert [o.number for o in first] == sorted(o.number for o in first)
        assert len(first) == 50

    async def test_contains_matches_the_digits(self) -> None:
        offers = await sandbox.search(country_code="US", type=None, contains="99", limit=100)

        assert offers
        assert all("99" in o.number[1:] for o in offers)

    async def test_types_come_in_the_documented_order(self) -> None:
        offers = await sandbox.search(country_code="FR", type=None, contains="4242", limit=100)

        kinds = [o.type for o in offers]
        assert kinds == sorted(kinds, key=NUMBER_TYPES.index)
        assert list(dict.fromkeys(kinds)) == ["local", "toll_free", "mobile", "national"]

    async def test_unknown_combinations_find_nothing(self) -> None:
        assert await sandbox.search(country_code="US", type="mobile", contains=None, limit=5) == []
        assert (
            await sandbox.search(country_code="US", type=None, contains="000000000", limit=5) == []
        )

    async def test_limit_is_respected(self) -> None:
        offers = await sandbox.search(country_code="GB", type=None, contains=None, limit=3)

        assert [o.number for o in offers] == ["+441212340000", "+441212340001", "+441212340002"]


class TestQuote:
    async def test_every_searched_number_can_be_quoted_identically(self) -> None:
        offers = await sandbox.search(country_code="JP", type=None, contains="7", limit=40)

        for offer in offers:
            assert await sandbox.quote(offer.number) == offer

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
        assert await sandbox.quote(number) is None


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
