"""Buying regulated numbers (docs/api-decisions.md §6.7): the address and requirement entries of
a purchase are stored and returned, and ``compliance`` says what the provider demands and
whether it was met."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body, sandbox_number
from trunkline.db import session_scope
from trunkline.phone_number.compliance import compliance_status
from trunkline.phone_number.provider.base import Requirement
from trunkline.phone_number.provider.sandbox_rates import REQUIREMENTS
from trunkline.workspace.service import workspace_service

DE_LOCAL = "+4930120000"
IT_LOCAL = "+390212340000"
IT_MOBILE = "+393123450000"

ADDRESS = {
    "name": "address",
    "type": "address",
    "description": "A street address in the number's area: street_address, locality and "
    "postal_code.",
}
PROOF = {
    "name": "proof_of_address",
    "type": "document",
    "description": "A utility bill or bank statement under 3 months old showing the address "
    "(document_id of an uploaded document).",
}
IDENTITY = {
    "name": "identity_number",
    "type": "textual",
    "description": "The holder's national identity or company registration number (value).",
}
BERLIN = {"street_address": "Unter den Linden 1", "locality": "Berlin", "postal_code": "10117"}
SASSARI = {"street_address": "Via Roma 1", "locality": "Sassari", "postal_code": "07100"}


async def buy(api: Api, number: str, country: str, type: str = "local", **extra: Any) -> Any:
    return await api.post(
        "/phone-numbers", {"number": number, "country_code": country, "type": type, **extra}
    )


class TestBuyStoresWhatWasSent:
    async def test_address_and_requirements_are_returned_as_sent(self, api: Api) -> None:
        requirements = [
            {"key": "proof_of_address", "document_id": "doc_123"},
            {
                "key": "note",
                "requirement_id": "6f1c1a52-8b8e-4f7c-9d0a-3c1f5e2b7a10",
                "value": "Main office",
            },
        ]

        r = await buy(
            api, IT_LOCAL, "IT", address={**SASSARI, "first_name": "Ada"}, requirements=requirements
        )

        assert r.status_code == 201
        data = r.json()["data"]
        assert data["address"] == {**SASSARI, "first_name": "Ada", "country_code": "IT"}
        assert data["requirements"] == requirements
        assert data["compliance"] == {"status": "completed", "requirements": [ADDRESS, PROOF]}

    async def test_they_are_kept(self, api: Api) -> None:
        bought = (await buy(api, DE_LOCAL, "DE", address=BERLIN)).json()["data"]

        r = await api.get(f"/phone-numbers/{bought['phone_number_uuid']}")

        assert r.json()["data"]["address"] == {**BERLIN, "country_code": "DE"}
        assert r.json()["data"]["compliance"] == {"status": "completed", "requirements": [ADDRESS]}

    async def test_the_address_keeps_its_own_country(self, api: Api) -> None:
        r = await buy(api, DE_LOCAL, "DE", address={**BERLIN, "country_code": "at"})

        assert r.json()["data"]["address"] == {**BERLIN, "country_code": "AT"}

    async def test_nothing_sent_is_shown_empty(self, api: Api) -> None:
        r = await buy(api, sandbox_number(), "US")

        data = r.json()["data"]
        assert (data["address"], data["requirements"]) == ({}, [])
        assert data["compliance"] == {"status": "not_required", "requirements": []}

    async def test_external_numbers_show_them_empty(self, api: Api) -> None:
        agent = await api.agent()
        await api.trunk(agent["agent_uuid"])

        r = await api.get("/phone-numbers")

        data = r.json()["data"]["items"][0]
        assert (data["address"], data["requirements"]) == ({}, [])


class TestComplianceStatus:
    async def test_a_missing_address_leaves_it_pending(self, api: Api) -> None:
        r = await buy(api, DE_LOCAL, "DE")

        assert r.status_code == 201
        assert r.json()["data"]["compliance"] == {"status": "pending", "requirements": [ADDRESS]}

    async def test_an_address_without_postal_code_leaves_it_pending(self, api: Api) -> None:
        r = await buy(api, DE_LOCAL, "DE", address={**BERLIN, "postal_code": ""})

        assert r.json()["data"]["compliance"]["status"] == "pending"

    async def test_a_missing_document_leaves_it_pending(self, api: Api) -> None:
        r = await buy(api, IT_LOCAL, "IT", address=SASSARI)

        assert r.json()["data"]["compliance"] == {
            "status": "pending",
            "requirements": [ADDRESS, PROOF],
        }

    async def test_a_textual_requirement_is_met_by_its_value(self, api: Api) -> None:
        r = await buy(
            api,
            IT_MOBILE,
            "IT",
            "mobile",
            requirements=[{"key": "identity_number", "value": "RSSMRA80A01H501U"}],
        )

        assert r.json()["data"]["compliance"] == {
            "status": "completed",
            "requirements": [IDENTITY],
        }

    async def test_a_re_purchase_records_the_new_request(self, api: Api) -> None:
        first = (await buy(api, DE_LOCAL, "DE")).json()["data"]
        await api.delete(f"/phone-numbers/{first['phone_number_uuid']}")

        r = await buy(api, DE_LOCAL, "DE", address=BERLIN)

        assert r.json()["data"]["phone_number_uuid"] == first["phone_number_uuid"]
        assert r.json()["data"]["compliance"]["status"] == "completed"


class TestBadCompliancePayloads:
    @pytest.mark.parametrize(
        ("extra", "field", "message"),
        [
            ({"address": {"street": "x"}}, "address.street", "Extra inputs are not permitted"),
            (
                {"address": {"country_code": "XX"}},
                "address.country_code",
                "Must be an ISO-3166 alpha-2 country code, e.g. US.",
            ),
            (
                {"address": {"postal_code": "1" * 33}},
                "address.postal_code",
                "String should have at most 32 characters",
            ),
            (
                {"requirements": [{"key": "a", "file": "x"}]},
                "requirements.0.file",
                "Extra inputs are not permitted",
            ),
            (
                {"requirements": [{"requirement_id": "nope"}]},
                "requirements.0.requirement_id",
                "Input should be a valid UUID, invalid character: found `n` at 0",
            ),
            (
                {"requirements": [{"key": "a"}] * 51},
                "requirements",
                "List should have at most 50 items after validation, not 51",
            ),
        ],
    )
    async def test_are_422(self, api: Api, extra: dict[str, Any], field: str, message: str) -> None:
        r = await buy(api, DE_LOCAL, "DE", **extra)

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            f"Validation failed: {field}: {message.rstrip('.')}.",
            fields=[{"field": field, "message": message}],
        )


class TestCurrency:
    async def test_purchases_bill_in_the_workspace_s_currency(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        await buy(api, sandbox_number(), "US")
        async with session_scope(sessionmaker) as session:
            await workspace_service.set_currency(session, api.slug, "GBP")

        r = await buy(api, DE_LOCAL, "DE", address=BERLIN)
        search = await api.get(
            "/phone-numbers/search", params={"country_code": "DE", "per_page": 1}
        )

        assert r.json()["data"]["billing"] == {"monthly_fee": 2.15, "currency": "GBP"}
        assert search.json()["data"]["items"][0]["currency"] == "GBP"

    async def test_a_number_keeps_the_currency_it_was_bought_in(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        bought = (await buy(api, sandbox_number(), "US")).json()["data"]
        async with session_scope(sessionmaker) as session:
            await workspace_service.set_currency(session, api.slug, "USD")

        r = await api.get(f"/phone-numbers/{bought['phone_number_uuid']}")

        assert r.json()["data"]["billing"] == {"monthly_fee": 0, "currency": "EUR"}


DEMANDS = (Requirement(**ADDRESS), Requirement(**PROOF), Requirement(**IDENTITY))
FULL_ADDRESS = {"street_address": "s", "locality": "l", "postal_code": "p"}


@pytest.mark.parametrize(
    ("demanded", "address", "supplied", "status"),
    [
        ((), {}, [], "not_required"),
        ((), FULL_ADDRESS, [{"key": "x", "value": "y"}], "not_required"),
        (DEMANDS[:1], FULL_ADDRESS, [], "completed"),
        (DEMANDS[:1], {**FULL_ADDRESS, "locality": ""}, [], "pending"),
        (DEMANDS[:1], {"street_address": "s", "locality": "l"}, [], "pending"),
        (DEMANDS[1:2], {}, [{"key": "proof_of_address", "document_id": "d"}], "completed"),
        (DEMANDS[1:2], {}, [{"key": "proof_of_address", "value": "v"}], "pending"),
        (DEMANDS[1:2], {}, [{"key": "other", "document_id": "d"}], "pending"),
        (DEMANDS[2:], {}, [{"key": "identity_number", "value": "v"}], "completed"),
        (DEMANDS[2:], {}, [{"key": "identity_number", "document_id": "d"}], "pending"),
        (DEMANDS[2:], {}, [{"key": "identity_number", "value": ""}], "pending"),
        (
            DEMANDS,
            FULL_ADDRESS,
            [
                {"key": "proof_of_address", "document_id": "d"},
                {"key": "identity_number", "value": "v"},
            ],
            "completed",
        ),
        (DEMANDS, FULL_ADDRESS, [{"key": "proof_of_address", "document_id": "d"}], "pending"),
    ],
)
def test_compliance_status(
    demanded: tuple[Requirement, ...],
    address: dict[str, Any],
    supplied: list[dict[str, Any]],
    status: str,
) -> None:
    assert compliance_status(demanded, address, supplied) == status


def test_the_sandbox_demands_only_for_its_regulated_pairs() -> None:
    assert {pair: [r.name for r in reqs] for pair, reqs in REQUIREMENTS.items()} == {
        ("DE", "local"): ["address"],
        ("FR", "local"): ["address"],
        ("IT", "local"): ["address", "proof_of_address"],
        ("IT", "mobile"): ["identity_number"],
    }
