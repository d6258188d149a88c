"""PBX extension connectors (docs/api-decisions.md §4.6)."""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, unique_us_number
from tests.support.rows import get_row, set_columns
from trunkline.config import Settings
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import PbxConnector

BASE = "/pbx_extension_connectors"
MISSING = "00000000-0000-4000-8000-000000000000"


def connector_json(
    agent: dict[str, Any], number: str, settings: Settings, **over: Any
) -> dict[str, Any]:
    return {
        "pbx_extension_connector_uuid": ANY,
        "name": f"pbx_extension_{number[1:]}",
        "status": "pending",
        "status_detail": None,
        "phone_number": number,
        "agent_uuid": agent["agent_uuid"],
        "agent_name": agent["name"],
        "sip_connector_server": settings.sip.public_address_resolved,
        "connection_type": "udp",
        "setup_mode": "both",
        "pbx": {"registrar_server": "pbx.example.com", "port": 5060, "username_extension": "201"},
        "inbound": {"allowed_ip": ""},
        "auth": {"has_separate_credentials": False, "username": ""},
        "normalizer": {"default_prefix": "", "condition_length": "", "condition_prefix": ""},
        "created_at": ANY,
        "updated_at": ANY,
        **over,
    }


def minimal(agent: dict[str, Any], number: str, **extra: Any) -> dict[str, Any]:
    return {
        "agent_uuid": agent["agent_uuid"],
        "phone_number": number,
        "registrar_server": "pbx.example.com",
        "username_extension": "201",
        "pbx_password": "ext-secret",
        **extra,
    }


def box_of(settings: Settings) -> SecretBox:
    assert settings.security.encryption_keys is not None
    return SecretBox.from_spec(settings.security.encryption_keys.get_secret_value())


class TestCreateConnector:
    async def test_minimal_body_gets_the_defaults(self, api: Api, settings: Settings) -> None:
        a = await api.agent("Desk")
        number = unique_us_number()

        r = await api.post(BASE, minimal(a, number))

        assert r.status_code == 201, r.text
        assert r.json() == {
            "success": True,
            "message": "Connector created.",
            "data": connector_json(a, number, settings),
        }

    async def test_every_field(
        self, api: Api, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Desk")
        number = unique_us_number()
        body = minimal(
            a,
            number,
            name="Front desk PBX",
            allowed_ip="2001:0db8:0000::/48",
            setup_mode="inbound",
            connection_type="tls",
            auth_username="digest-user",
            auth_password="digest-secret",
            normalizer={"default_prefix": "+1", "condition_length": "10", "condition_prefix": ""},
        )

        r = await api.post(BASE, body)

        assert r.status_code == 201, r.text
        data = r.json()["data"]
        assert data == connector_json(
            a,
            number,
            settings,
            name="Front desk PBX",
            connection_type="tls",
            setup_mode="inbound",
            pbx={"registrar_server": "pbx.example.com", "port": 5061, "username_extension": "201"},
            inbound={"allowed_ip": "2001:db8::/48"},
            auth={"has_separate_credentials": True, "username": "digest-user"},
            normalizer={"default_prefix": "+1", "condition_length": "10", "condition_prefix": ""},
        )
        assert "ext-secret" not in r.text and "digest-secret" not in r.text
        row = await get_row(sessionmaker, PbxConnector, data["pbx_extension_connector_uuid"])
        box = box_of(settings)
        aad = aad_for("pbx_connector", "pbx_password_secret", row.id)
        assert box.decrypt(row.pbx_password_secret, aad) == "ext-secret"
        aad = aad_for("pbx_connector", "auth_password_secret", row.id)
        assert box.decrypt(row.auth_password_secret, aad) == "digest-secret"

    async def test_explicit_port_wins_over_the_tls_default(self, api: Api) -> None:
        a = await api.agent("Desk")
        c = await api.pbx_connector(a["agent_uuid"], connection_type="tls", port=5070)
        assert c["pbx"]["port"] == 5070

    async def test_unknown_agent_is_404(self, api: Api, other_api: Api) -> None:
        foreign = await other_api.agent("Theirs")
        for agent in ({"agent_uuid": MISSING}, foreign):
            r = await api.post(BASE, minimal(agent, unique_us_number()))
            assert r.status_code == 404
            assert r.json() == {
                "success": False,
                "message": "Agent not found.",
                "error": {
                    "code": "AGENT_NOT_FOUND",
                    "details": "Agent not found.",
                    "field": "agent_uuid",
                    "fields": [],
                },
                "data": {"error": "agent_not_found"},
            }

    async def test_a_number_another_agent_holds_on_call_is_already_bound(self, api: Api) -> None:
        holder, other = await api.agent("Holder"), await api.agent("Other")
        snap = await api.trunk(holder["agent_uuid"])

        r = await api.post(BASE, minimal(other, snap["number"]))

        assert r.status_code == 409
        assert r.json() == {
            "success": False,
            "message": "This number is already bound on this channel.",
            "error": {
                "code": "NUMBER_ALREADY_BOUND",
                "details": "This number is already bound on this channel.",
                "field": "phone_number",
                "fields": [],
            },
            "data": {
                "error": "number_already_bound",
                "agent_uuid": holder["agent_uuid"],
                "agent_name": "Holder",
                "bound_via": "trunk",
            },
        }

    async def test_a_number_held_by_another_pbx_connector_is_already_bound(self, api: Api) -> None:
        holder, other = await api.agent("Holder"), await api.agent("Other")
        number = unique_us_number()
        await api.pbx_connector(holder["agent_uuid"], number)

        r = await api.post(BASE, minimal(other, number))

        assert r.status_code == 409
        assert r.json()["data"]["bound_via"] == "pbx"

    async def test_the_holder_itself_may_add_a_connector_and_it_shows_in_snapshots(
        self, api: Api
    ) -> None:
        a = await api.agent("Holder")
        snap = await api.trunk(a["agent_uuid"])
        await api.pbx_connector(a["agent_uuid"], snap["number"])
        r = await api.get("/phone-numbers/channels", params={"number": snap["number"]})
        assert r.json()["data"]["channels"]["call"]["agent_uuid"] == a["agent_uuid"]

    async def test_whatsapp_holder_does_not_block_call(self, api: Api) -> None:
        holder, other = await api.agent("Holder"), await api.agent("Other")
        snap = await api.trunk(holder["agent_uuid"], channel="whatsapp")
        connector = await api.pbx_connector(other["agent_uuid"], snap["number"])

        assert connector["agent_uuid"] == other["agent_uuid"]
        r = await api.get("/phone-numbers/channels", params={"number": snap["number"]})
        channels = r.json()["data"]["channels"]
        assert channels["call"]["agent_uuid"] == other["agent_uuid"]
        assert channels["whatsapp"]["agent_uuid"] == holder["agent_uuid"]

    @pytest.mark.parametrize(
        ("extra", "code", "field"),
        [
            ({"registrar_server": "sip:pbx.example.com"}, "invalid_gateway", "registrar_server"),
            ({"registrar_server": "+14155550123"}, "invalid_gateway", "registrar_server"),
            ({"phone_number": "+1415"}, "validation_failed", "phone_number"),
            ({"phone_number": "14155550123"}, "validation_failed", "phone_number"),
            ({"allowed_ip": "10.0.0.300"}, "validation_failed", "allowed_ip"),
            ({"allowed_ip": "10.0.0.5/24"}, "validation_failed", "allowed_ip"),
            ({"allowed_ip": "pbx.example.com"}, "validation_failed", "allowed_ip"),
            ({"setup_mode": "sideways"}, "validation_failed", "setup_mode"),
            ({"connection_type": "ws"}, "validation_failed", "connection_type"),
            ({"port": 70000}, "validation_failed", "port"),
            ({"pbx_password": ""}, "validation_failed", "pbx_password"),
            ({"username_extension": ""}, "validation_failed", "username_extension"),
            (
                {"normalizer": {"condition_length": "ten"}},
                "validation_failed",
                "normalizer.condition_length",
            ),
            ({"normalizer": "x"}, "validation_failed", "normalizer"),
            ({"agent_uuid": "nope"}, "validation_failed", "agent_uuid"),
        ],
    )
    async def test_invalid_fields_are_422(
        self, api: Api, extra: dict[str, Any], code: str, field: str
    ) -> None:
        a = await api.agent("Desk")

        r = await api.post(BASE, minimal(a, unique_us_number(), **extra))

        assert r.status_code == 422, r.text
        assert r.json() == {
            "success": False,
            "message": ANY,
            "error": {
                "code": code.upper(),
                "details": ANY,
                "field": field,
                "fields": [{"field": field, "message": ANY}],
            },
            "data": {"error": code},
        }

    async def test_missing_required_fields_are_422(self, api: Api) -> None:
        r = await api.post(BASE, {"agent_uuid": MISSING})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
        assert [d["field"] for d in r.json()["error"]["fields"]] == [
            "phone_number",
            "registrar_server",
            "username_extension",
            "pbx_password",
        ]

    async def test_auth_username_without_password_is_422(self, api: Api) -> None:
        a = await api.agent("Desk")

        r = await api.post(BASE, minimal(a, unique_us_number(), auth_username="digest-user"))

        message = "auth_username and auth_password go together: send both, or clear both."
        assert r.status_code == 422
        assert r.json() == {
            "success": False,
            "message": message,
            "error": {
                "code": "VALIDATION_FAILED",
                "details": f"auth_password: {message}",
                "field": "auth_password",
                "fields": [{"field": "auth_password", "message": message}],
            },
            "data": {"error": "validation_failed"},
        }


class TestReadConnectors:
    async def test_get_one(self, api: Api) -> None:
        a = await api.agent("Desk")
        c = await api.pbx_connector(a["agent_uuid"])

        r = await api.get(f"{BASE}/{c['pbx_extension_connector_uuid']}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Connector retrieved.", "data": c}

    async def test_unknown_or_foreign_is_404(self, api: Api, other_api: Api) -> None:
        theirs = await other_api.agent("Theirs")
        foreign = await other_api.pbx_connector(theirs["agent_uuid"])
        for uuid in (MISSING, foreign["pbx_extension_connector_uuid"]):
            r = await api.get(f"{BASE}/{uuid}")
            assert r.status_code == 404
            assert r.json() == {
                "success": False,
                "message": "PBX extension connector not found.",
                "error": {
                    "code": "CONNECTOR_NOT_FOUND",
                    "details": "PBX extension connector not found.",
                    "field": "",
                    "fields": [],
                },
                "data": {"error": "connector_not_found"},
            }

    async def test_list_is_paginated_and_filterable_by_agent(self, api: Api) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        c1 = await api.pbx_connector(a["agent_uuid"])
        c2 = await api.pbx_connector(b["agent_uuid"])
        c3 = await api.pbx_connector(a["agent_uuid"])

        r = await api.get(BASE, params={"per_page": 2})
        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Connectors retrieved.",
            "data": {
                "items": [c1, c2],
                "pagination": {
                    "current_page": 1,
                    "per_page": 2,
                    "total": 3,
                    "last_page": 2,
                    "from": 1,
                    "to": 2,
                    "has_more": True,
                },
            },
        }
        r = await api.get(BASE, params={"agent_uuid": a["agent_uuid"]})
        assert r.json()["data"]["items"] == [c1, c3]


class TestUpdateConnector:
    async def test_partial_update_keeps_the_rest_and_the_status(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Desk")
        c = await api.pbx_connector(a["agent_uuid"], normalizer={"default_prefix": "+1"})
        uuid = c["pbx_extension_connector_uuid"]
        await set_columns(sessionmaker, PbxConnector, uuid, status="active")

        r = await api.patch(
            f"{BASE}/{uuid}",
            {
                "name": "Renamed",
                "allowed_ip": "203.0.113.7",
                "normalizer": {"condition_length": "10"},
            },
        )

        assert r.status_code == 200, r.text
        assert r.json() == {
            "success": True,
            "message": "Connector updated.",
            "data": {
                **c,
                "name": "Renamed",
                "status": "active",
                "inbound": {"allowed_ip": "203.0.113.7"},
                "normalizer": {
                    "default_prefix": "+1",
                    "condition_length": "10",
                    "condition_prefix": "",
                },
                "updated_at": ANY,
            },
        }

    async def test_password_replacement_resets_status_and_is_never_returned(
        self, api: Api, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Desk")
        c = await api.pbx_connector(a["agent_uuid"])
        uuid = c["pbx_extension_connector_uuid"]
        await set_columns(sessionmaker, PbxConnector, uuid, status="auth_failed")

        r = await api.patch(f"{BASE}/{uuid}", {"pbx_password": "new-secret"})

        assert r.status_code == 200, r.text
        assert r.json()["data"] == {**c, "updated_at": ANY}
        assert "new-secret" not in r.text
        row = await get_row(sessionmaker, PbxConnector, uuid)
        aad = aad_for("pbx_connector", "pbx_password_secret", row.id)
        assert box_of(settings).decrypt(row.pbx_password_secret, aad) == "new-secret"

    async def test_separate_credentials_are_set_and_cleared_together(self, api: Api) -> None:
        a = await api.agent("Desk")
        c = await api.pbx_connector(a["agent_uuid"])
        path = f"{BASE}/{c['pbx_extension_connector_uuid']}"

        r = await api.patch(path, {"auth_username": "u", "auth_password": "p"})
        assert r.json()["data"]["auth"] == {"has_separate_credentials": True, "username": "u"}
        r = await api.patch(path, {"auth_password": None})
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "auth_password"
        r = await api.patch(path, {"auth_username": None, "auth_password": None})
        assert r.json()["data"]["auth"] == {"has_separate_credentials": False, "username": ""}

    async def test_moving_to_another_agent_re_applies_the_binding_rule(self, api: Api) -> None:
        a, b, holder = await api.agent("A"), await api.agent("B"), await api.agent("Holder")
        c = await api.pbx_connector(a["agent_uuid"])
        path = f"{BASE}/{c['pbx_extension_connector_uuid']}"
        snap = await api.trunk(holder["agent_uuid"])

        r = await api.patch(path, {"agent_uuid": b["agent_uuid"]})
        assert r.status_code == 200, r.text
        assert (r.json()["data"]["agent_uuid"], r.json()["data"]["agent_name"]) == (
            b["agent_uuid"],
            "B",
        )
        r = await api.patch(path, {"phone_number": snap["number"]})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "NUMBER_ALREADY_BOUND"
        r = await api.patch(path, {"agent_uuid": MISSING})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "AGENT_NOT_FOUND"

    @pytest.mark.parametrize(
        ("body", "code", "field"),
        [
            ({"registrar_server": "http://pbx"}, "invalid_gateway", "registrar_server"),
            ({"registrar_server": None}, "validation_failed", "registrar_server"),
            ({"pbx_password": None}, "validation_failed", "pbx_password"),
            ({"port": None}, "validation_failed", "port"),
            ({"allowed_ip": "nope"}, "validation_failed", "allowed_ip"),
        ],
    )
    async def test_invalid_fields_are_422(
        self, api: Api, body: dict[str, Any], code: str, field: str
    ) -> None:
        a = await api.agent("Desk")
        c = await api.pbx_connector(a["agent_uuid"])

        r = await api.patch(f"{BASE}/{c['pbx_extension_connector_uuid']}", body)

        assert r.status_code == 422
        assert r.json()["error"] == {
            "code": code.upper(),
            "details": ANY,
            "field": field,
            "fields": [{"field": field, "message": ANY}],
        }

    async def test_unknown_is_404(self, api: Api) -> None:
        r = await api.patch(f"{BASE}/{MISSING}", {"name": "x"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "CONNECTOR_NOT_FOUND"


class TestDeleteConnector:
    async def test_deletes_and_frees_the_number(self, api: Api) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        number = unique_us_number()
        c = await api.pbx_connector(a["agent_uuid"], number)

        r = await api.delete(f"{BASE}/{c['pbx_extension_connector_uuid']}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Connector deleted.", "data": None}
        await api.pbx_connector(b["agent_uuid"], number)

    async def test_unknown_is_404(self, api: Api) -> None:
        r = await api.delete(f"{BASE}/{MISSING}")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "CONNECTOR_NOT_FOUND"
