"""Every operation of the upstream document (docs/upstream/upstream-openapi.yaml), called the way
an upstream client calls it with real values, answers 2xx with exactly the upstream response
schema: status, every listed field present, types, no null where a type is given
(docs/api-decisions.md §6).

The operations are read from the document, so a new one there is a new case here; each needs a
recipe (the requests that set it up and call it). An operation Trunkline does not serve (yet) is
an expected failure until it does. Every other response of the suite is checked against the same
schemas as it arrives (``conforms_upstream`` in tests/conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support.api import Api, sandbox_number, unique_us_number
from tests.support.upstream import RECORD, UPSTREAM, Upstream, check_response, strict_schema
from trunkline.app import create_app
from trunkline.config import Settings
from trunkline.kit.crypto import generate_key

Recipe = Callable[[Api], Awaitable[httpx.Response]]
RECIPES: dict[str, Recipe] = {}


def recipe(label: str) -> Callable[[Recipe], Recipe]:
    def register(fn: Recipe) -> Recipe:
        RECIPES[label] = fn
        return fn

    return register


async def _trunk(api: Api, channel: str = "call") -> tuple[dict[str, Any], dict[str, Any]]:
    agent = await api.agent("Front desk", description="Answers the main line")
    sip = {"gateway": "sip.acme.com", "port": 5060, "username": "u", "password": "p"}
    extra = {"sip": sip} if channel == "call" else {}
    snap = await api.trunk(agent["agent_uuid"], unique_us_number(), channel, **extra)
    return agent, snap


@recipe("GET /api/v1/phone-numbers")
async def _list_numbers(api: Api) -> httpx.Response:
    await api.buy()
    await _trunk(api)
    return await api.get("/phone-numbers")


@recipe("POST /api/v1/phone-numbers")
async def _buy(api: Api) -> httpx.Response:
    return await api.post(
        "/phone-numbers", {"number": sandbox_number(), "country_code": "US", "type": "local"}
    )


@recipe("PATCH /api/v1/phone-numbers/{uuid}")
async def _patch_number(api: Api) -> httpx.Response:
    bought = await api.buy()
    body = {
        "channel_settings": {
            "voice": {"enabled": True, "channel_limit": 5, "whitelisted_destinations": ["US"]},
            "sms": {"enabled": True, "channel_limit": 0, "whitelisted_destinations": ["US"]},
            "inbound": {"enabled": True, "channel_limit": 3},
        }
    }
    return await api.patch(f"/phone-numbers/{bought['phone_number_uuid']}", body)


@recipe("GET /api/v1/phone-numbers/rates")
async def _rates(api: Api) -> httpx.Response:
    return await api.get(
        "/phone-numbers/rates", params={"country_code": "US", "page": 1, "per_page": 50}
    )


@recipe("GET /api/v1/phone-numbers/trunks")
async def _list_trunks(api: Api) -> httpx.Response:
    await _trunk(api)
    await _trunk(api, "whatsapp")
    return await api.get("/phone-numbers/trunks")


@recipe("POST /api/v1/phone-numbers/trunks")
async def _register(api: Api) -> httpx.Response:
    agent = await api.agent("Front desk")
    body = {
        "phone_number": unique_us_number(),
        "agent_uuid": agent["agent_uuid"],
        "channel": "call",
        "name": "Main line",
        "direction": "inbound",
        "sip": {
            "gateway": "sip.acme.com",
            "port": 5060,
            "username": "acme",
            "password": "s3cret",
            "secondary_gateway": "sip2.acme.com",
        },
        "additional_settings": {"ani_format": "e164"},
    }
    return await api.post("/phone-numbers/trunks", body)


@recipe("PATCH /api/v1/phone-numbers/trunks")
async def _update_trunk(api: Api) -> httpx.Response:
    _, snap = await _trunk(api)
    body = {
        "phone_number": snap["number"],
        "channel": "call",
        "name": "Renamed",
        "direction": "both",
        "sip": {"password": "new-secret"},
        "additional_settings": {},
    }
    return await api.patch("/phone-numbers/trunks", body)


@recipe("DELETE /api/v1/phone-numbers/trunks")
async def _delete_trunk(api: Api) -> httpx.Response:
    _, snap = await _trunk(api)
    return await api.delete(
        "/phone-numbers/trunks", params={"phone_number": snap["number"], "channel": "call"}
    )


@recipe("PUT /api/v1/phone-numbers/trunks/assign")
async def _assign_trunk(api: Api) -> httpx.Response:
    _, snap = await _trunk(api)
    other = await api.agent("Night shift")
    body = {"phone_number": snap["number"], "channel": "call", "agent_uuid": other["agent_uuid"]}
    return await api.put("/phone-numbers/trunks/assign", body)


@recipe("GET /api/v1/phone-numbers/{uuid}/channels")
async def _snapshot(api: Api) -> httpx.Response:
    bought = await api.buy()
    return await api.get(f"/phone-numbers/{bought['phone_number_uuid']}/channels")


@recipe("GET /api/v1/phone-numbers/channels")
async def _snapshot_by_number(api: Api) -> httpx.Response:
    _, snap = await _trunk(api, "whatsapp")
    return await api.get("/phone-numbers/channels", params={"number": snap["number"][1:]})


@recipe("POST /api/v1/channels/sip-trunk/connections")
async def _connection(api: Api) -> httpx.Response:
    body = {
        "name": "Telnyx main",
        "phone_number": unique_us_number(),
        "gateway": "sip.telnyx.com",
        "username": "telnyx-user",
        "password": "telnyx-pass",
        "secondary_gateway": None,
    }
    return await api.post("/channels/sip-trunk/connections", body)


@recipe("POST /api/v1/agents/{uuid}/channels/call/sip-trunk")
async def _assign_connection(api: Api) -> httpx.Response:
    agent = await api.agent("Caller")
    connection = await api.connection()
    return await api.post(
        f"/agents/{agent['agent_uuid']}/channels/call/sip-trunk",
        {"connection_uuid": connection["uuid"], "force": False},
    )


@recipe("POST /api/v1/pbx_extension_connectors")
async def _pbx(api: Api) -> httpx.Response:
    agent = await api.agent("Extension 201")
    body = {
        "agent_uuid": agent["agent_uuid"],
        "phone_number": unique_us_number(),
        "registrar_server": "sip.example.com",
        "username_extension": "user-100",
        "pbx_password": "ext-secret",
        "allowed_ip": "192.168.1.100",
        "setup_mode": "both",
        "connection_type": "udp",
        "port": 5060,
        "auth_username": "digest-user",
        "auth_password": "digest-pass",
        "normalizer": {"default_prefix": "+1", "condition_length": "10", "condition_prefix": ""},
    }
    return await api.post("/pbx_extension_connectors", body)


@recipe("GET /api/v1/pbx_extension_connectors/{uuid}")
async def _get_pbx(api: Api) -> httpx.Response:
    agent = await api.agent("Extension 202")
    connector = await api.pbx_connector(agent["agent_uuid"])  # no optional fields: "" not null
    return await api.get(f"/pbx_extension_connectors/{connector['pbx_extension_connector_uuid']}")


@recipe("POST /api/v1/agents/{uuid}/channels/call/provision")
async def _provision(api: Api) -> httpx.Response:
    agent = await api.agent("Sales", language="it-IT", timezone="Europe/Rome")
    bought = await api.buy()
    return await api.post(
        f"/agents/{agent['agent_uuid']}/channels/call/provision",
        {"phone_number_uuid": bought["phone_number_uuid"]},
    )


@recipe("POST /api/v1/sms/send")
async def _sms(api: Api) -> httpx.Response:
    agent = await api.agent("Texter")
    bought = await api.buy()
    r = await api.post(
        f"/agents/{agent['agent_uuid']}/channels/sms",
        {"phone_number_uuid": bought["phone_number_uuid"]},
    )
    assert r.status_code == 200, r.text
    return await api.post(
        "/sms/send",
        {"agentId": agent["agent_uuid"], "phoneNumber": unique_us_number(), "message": "Hello"},
    )


def _served() -> set[str]:
    """The upstream operations Trunkline's own document serves."""
    doc = create_app(Settings(encryption_keys=generate_key(), _env_file=None)).openapi()
    served = set()
    for path, item in doc["paths"].items():
        for method in item:
            op = UPSTREAM.operation(method, re.sub(r"\{[^}]+\}", "x", path))
            if op is not None:
                served.add(op.label)
    return served


SERVED = _served()


CASES = [
    pytest.param(
        op.label,
        marks=()
        if op.label in SERVED
        else pytest.mark.xfail(strict=True, reason="Trunkline does not serve this operation yet"),
        id=op.label,
    )
    for op in UPSTREAM.operations
]


@pytest.mark.parametrize("label", CASES)
async def test_upstream_operation(label: str, api: Api) -> None:
    assert label in RECIPES, f"add a recipe for {label}"
    before = RECORD.checked.get(label, 0)

    r = await RECIPES[label](api)

    assert 200 <= r.status_code < 300, r.text
    op = UPSTREAM.operation(r.request.method, r.request.url.path)
    assert op is not None and op.label == label
    assert check_response(r.request.method, r.request.url.path, r.status_code, r.json()) == []
    assert RECORD.checked[label] > before


def test_every_recipe_is_an_upstream_operation() -> None:
    assert set(RECIPES) == {op.label for op in UPSTREAM.operations}


class TestTheChecker:
    """The strict schema check itself finds what it must (so a pass means something)."""

    UP = Upstream(
        {
            "components": {
                "schemas": {
                    "Item": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "format": "uuid"},
                            "limit": {"type": "integer"},
                            "gw": {"type": "string", "nullable": True},
                        },
                    },
                    "ErrorEnvelope": {
                        "type": "object",
                        "properties": {
                            "success": {"type": "boolean", "enum": [False]},
                            "error": {
                                "type": "object",
                                "properties": {"code": {"type": "string"}},
                            },
                        },
                    },
                }
            },
            "paths": {
                "/api/v1/items/{uuid}": {
                    "get": {
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/Item"}
                                    }
                                }
                            }
                        }
                    }
                },
                "/api/v1/items/special": {"post": {"responses": {"2XX": {}}}},
            },
        }
    )
    GOOD = {"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "limit": 0, "gw": None}

    def test_a_conforming_response(self) -> None:
        assert self.UP.violations("GET", "/api/v1/items/x", 200, self.GOOD) == []

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            ({"id": GOOD["id"], "gw": None}, "'limit' is a required property"),
            ({**GOOD, "limit": None}, "None is not of type 'integer'"),
            ({**GOOD, "id": "nope"}, "'nope' is not a 'uuid'"),
        ],
    )
    def test_what_it_refuses(self, body: dict[str, Any], problem: str) -> None:
        found = self.UP.violations("GET", "/api/v1/items/x", 200, body)
        assert found is not None and len(found) == 1 and problem in found[0], found

    def test_an_undeclared_success_status(self) -> None:
        assert self.UP.violations("GET", "/api/v1/items/x", 201, self.GOOD) == [
            "GET /api/v1/items/{uuid}: status 201 is not one upstream declares"
        ]

    def test_errors_need_both_code_styles(self) -> None:
        good = {"success": False, "error": {"code": "NOT_FOUND"}, "data": {"error": "not_found"}}
        assert self.UP.violations("GET", "/api/v1/items/x", 404, good) == []
        lower = {**good, "error": {"code": "not_found"}}
        assert self.UP.violations("GET", "/api/v1/items/x", 404, lower) != []

    def test_literal_paths_win_and_unknown_ones_are_not_checked(self) -> None:
        assert self.UP.violations("POST", "/api/v1/items/special", 201, None) == []
        assert self.UP.violations("GET", "/api/v1/items/special", 200, {}) is None
        assert self.UP.violations("GET", "/api/v1/other", 200, {}) is None

    def test_nullable_becomes_a_null_type(self) -> None:
        schema = strict_schema({}, {"type": "string", "nullable": True})
        assert schema == {"type": ["string", "null"]}
