"""Drop-in check for the rates, SMS and buying-compliance operations: real responses validate
against the upstream API's operation schemas (docs/upstream/upstream-openapi.yaml) and carry
every property those schemas document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from tests.support.api import Api, unique_us_number

UPSTREAM = yaml.safe_load(
    (
        Path(__file__).resolve().parents[2] / "docs" / "upstream" / "upstream-openapi.yaml"
    ).read_text()
)


def inline(node: Any) -> Any:
    """The schema with every ``#/components/schemas/...`` reference replaced by its target."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return inline(UPSTREAM["components"]["schemas"][ref.rsplit("/", 1)[1]])
        return {k: inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v) for v in node]
    return node


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    operation = UPSTREAM["paths"][path][method]
    return inline(operation["responses"][status]["content"]["application/json"]["schema"])


def request_schema(path: str, method: str) -> dict[str, Any]:
    operation = UPSTREAM["paths"][path][method]
    return inline(operation["requestBody"]["content"]["application/json"]["schema"])


def missing_properties(schema: dict[str, Any], instance: Any, at: str = "") -> list[str]:
    """Where ``instance`` lacks a property the schema documents (recursively; array items too)."""
    found: list[str] = []
    if isinstance(instance, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in instance:
                found.append(f"{at}.{name}")
            else:
                found += missing_properties(sub, instance[name], f"{at}.{name}")
    elif isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            found += missing_properties(schema["items"], item, f"{at}[{i}]")
    return found


def valid(schema: dict[str, Any], instance: Any) -> list[str]:
    """Every way ``instance`` fails the upstream schema's validation."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in OAS30Validator(schema).iter_errors(instance)
    ]


def conforms(schema: dict[str, Any], instance: Any) -> list[str]:
    """Every way a response fails the upstream schema: validation errors and missing
    documented properties."""
    return valid(schema, instance) + [f"missing {p}" for p in missing_properties(schema, instance)]


class TestRates:
    SCHEMA = response_schema("/api/v1/phone-numbers/rates", "get", "200")

    @pytest.mark.parametrize(
        "params", [{}, {"country_code": "DE"}, {"prefix": "44", "per_page": 1}, {"page": 99}]
    )
    async def test_conforms(self, api: Api, params: dict[str, Any]) -> None:
        r = await api.get("/phone-numbers/rates", params=params)

        assert r.status_code == 200
        assert conforms(self.SCHEMA, r.json()) == []

    def test_the_check_sees_a_wrong_type_and_a_missing_field(self) -> None:
        """The check itself: a string price and a missing country name are both reported."""
        item = {
            "country_code": "DE",
            "destination_prefix": "49",
            "origination": "any",
            "description": "Germany - fixed",
            "min_duration_seconds": 60,
            "billing_increment_seconds": 1,
            "price": {"amount": "0.01", "currency": "EUR"},
        }
        pagination = {
            "current_page": 1,
            "per_page": 50,
            "total": 1,
            "last_page": 1,
            "from": 1,
            "to": 1,
            "has_more": False,
        }
        body = {"success": True, "data": {"items": [item], "pagination": pagination}}

        assert conforms(self.SCHEMA, body) == [
            "data/items/0/price/amount: '0.01' is not of type 'number'",
            "missing .data.items[0].country_name",
        ]


class TestSmsSend:
    SCHEMA = response_schema("/api/v1/sms/send", "post", "200")
    REQUEST = request_schema("/api/v1/sms/send", "post")

    async def test_conforms(self, api: Api) -> None:
        agent = await api.agent()
        number = await api.buy()
        await api.post(
            f"/agents/{agent['agent_uuid']}/channels/sms",
            {"phone_number_uuid": number["phone_number_uuid"]},
        )
        body = {"agentId": agent["agent_uuid"], "phoneNumber": unique_us_number(), "message": "Hi"}

        r = await api.post("/sms/send", body)

        assert valid(self.REQUEST, body) == []
        assert r.status_code == 200  # the upstream documents 200 (not 201) for a sent SMS
        assert conforms(self.SCHEMA, r.json()) == []
        assert r.json()["message"] == "SMS message sent successfully"


class TestBuyCompliance:
    """The purchase answer's ``compliance``, ``requirements`` of the request and the billing
    currency (the rest of the PhoneNumber item is the general conformance test's)."""

    ITEM = response_schema("/api/v1/phone-numbers", "post", "2XX")["properties"]["data"]
    REQUEST = request_schema("/api/v1/phone-numbers", "post")

    async def test_conforms(self, api: Api) -> None:
        body = {
            "number": "+390212340000",
            "country_code": "IT",
            "type": "local",
            "address": {
                "street_address": "Via Roma 1",
                "locality": "Sassari",
                "postal_code": "07100",
            },
            "requirements": [{"key": "proof_of_address", "document_id": "doc_1"}],
        }

        r = await api.post("/phone-numbers", body)

        assert valid(self.REQUEST, body) == []
        assert r.status_code == 201
        data = r.json()["data"]
        for name in ("compliance", "billing"):
            assert conforms(self.ITEM["properties"][name], data[name]) == [], name
        assert data["compliance"]["requirements"] != []
        assert data["billing"]["currency"] == "EUR"
