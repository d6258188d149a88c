"""SIP trunk connections (docs/api-decisions.md §4.4): PATCH, DELETE, attaching them to agents."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from unittest.mock import ANY
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, unique_us_number
from tests.support.rows import get_row, purchased_number, set_columns
from trunkline.config import Settings
from trunkline.kit.clock import utcnow
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import SipConnection, SipConnectionAssignment

BASE = "/channels/sip-trunk/connections"
MISSING = "00000000-0000-4000-8000-000000000000"


def box_of(settings: Settings) -> SecretBox:
    assert settings.security.encryption_keys is not None
    return SecretBox.from_spec(settings.security.encryption_keys.get_secret_value())


def connection_json(c: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**c, "updated_at": ANY, **changes}


def not_found(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "message": message,
        "error": {"code": code.upper(), "details": message, "field": field or "", "fields": []},
        "data": {"error": code},
    }


def phone_in_use(agent: dict[str, Any], via: str) -> dict[str, Any]:
    return {
        "success": False,
        "message": "The connection's phone number is already bound on call to another agent.",
        "error": {
            "code": "PHONE_IN_USE",
            "details": "The connection's phone number is already bound on call to another agent.",
            "field": "",
            "fields": [],
        },
        "data": {
            "error": "phone_in_use",
            "agent_uuid": agent["agent_uuid"],
            "agent_name": agent["name"],
            "bound_via": via,
        },
    }


def assigned(agent: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    return {
        "success": True,
        "message": "Connection assigned.",
        "data": {
            "agent_uuid": agent["agent_uuid"],
            "connection_uuid": c["uuid"],
            "phone_number": c["phone_number"],
        },
    }


async def make_active(sm: async_sessionmaker[AsyncSession], c: dict[str, Any]) -> None:
    await set_columns(
        sm,
        SipConnection,
        c["uuid"],
        status="active",
        status_detail={"code": 200, "reason": "OK", "gateway": "primary"},
        last_checked_at=utcnow(),
    )


class TestPatchConnection:
    async def test_name_only_keeps_the_status(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        c = await api.connection()
        await make_active(sessionmaker, c)

        r = await api.patch(f"{BASE}/{c['uuid']}", {"name": "Renamed"})

        assert r.status_code == 200, r.text
        assert r.json() == {
            "success": True,
            "message": "Connection updated.",
            "data": connection_json(
                c,
                name="Renamed",
                status="active",
                status_detail={"code": 200, "reason": "OK", "gateway": "primary"},
                last_checked_at=ANY,
            ),
        }

    async def test_gateway_change_resets_status_to_pending(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        c = await api.connection()
        await make_active(sessionmaker, c)

        r = await api.patch(
            f"{BASE}/{c['uuid']}", {"gateway": "sip2.example.com", "secondary_gateway": "10.0.0.2"}
        )

        assert r.status_code == 200, r.text
        assert r.json() == {
            "success": True,
            "message": "Connection updated.",
            "data": connection_json(
                c,
                gateway="sip2.example.com",
                secondary_gateway="10.0.0.2",
                status="pending",
                status_detail=None,
                last_checked_at=None,
            ),
        }

    async def test_credentials_are_replaced_never_returned_and_reset_status(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        c = await api.connection()
        await make_active(sessionmaker, c)

        r = await api.patch(f"{BASE}/{c['uuid']}", {"username": "user-2", "password": "pw-2"})

        assert r.status_code == 200, r.text
        assert r.json()["data"] == connection_json(c, status="pending", last_checked_at=None)
        assert "user-2" not in r.text and "pw-2" not in r.text
        row = await get_row(sessionmaker, SipConnection, c["uuid"])
        box = box_of(settings)
        assert "pw-2" not in row.password_secret
        assert (
            box.decrypt(row.username_secret, aad_for("sip_connection", "username_secret", row.id))
            == "user-2"
        )
        assert (
            box.decrypt(row.password_secret, aad_for("sip_connection", "password_secret", row.id))
            == "pw-2"
        )

    async def test_an_unchanged_gateway_keeps_the_status(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        c = await api.connection()
        await make_active(sessionmaker, c)

        r = await api.patch(f"{BASE}/{c['uuid']}", {"gateway": c["gateway"], "port": 5060})

        assert r.status_code == 200, r.text
        assert r.json()["data"]["status"] == "active"

    async def test_phone_number_is_stored_verbatim_and_compared_in_e164(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        c = await api.connection()
        number = unique_us_number()
        spaced = f"{number[:2]} ({number[2:5]}) {number[5:8]}-{number[8:]}"

        r = await api.patch(f"{BASE}/{c['uuid']}", {"phone_number": spaced})

        assert r.status_code == 200, r.text
        assert r.json()["data"] == connection_json(c, phone_number=spaced)
        row = await get_row(sessionmaker, SipConnection, c["uuid"])
        assert (row.phone_number, row.phone_number_e164) == (spaced, number)

        r = await api.patch(f"{BASE}/{c['uuid']}", {"phone_number": "ext-42"})
        row = await get_row(sessionmaker, SipConnection, c["uuid"])
        assert (row.phone_number, row.phone_number_e164) == ("ext-42", None)

    async def test_secondary_gateway_null_removes_it(self, api: Api) -> None:
        c = await api.connection(secondary_gateway="sip-b.example.com")

        r = await api.patch(f"{BASE}/{c['uuid']}", {"secondary_gateway": None})

        assert r.status_code == 200, r.text
        assert r.json()["data"] == connection_json(c, secondary_gateway=None)

    async def test_renumbering_onto_another_agents_number_is_phone_in_use(self, api: Api) -> None:
        holder = await api.agent("Holder")
        snap = await api.trunk(holder["agent_uuid"])
        mine = await api.agent("Mine")
        c = await api.connection()
        await api.assign_connection(mine["agent_uuid"], c["uuid"])

        r = await api.patch(f"{BASE}/{c['uuid']}", {"phone_number": snap["number"]})

        assert r.status_code == 409
        body = phone_in_use(holder, "trunk")
        body["error"]["field"] = "phone_number"
        assert r.json() == body

    async def test_renumbering_an_unassigned_connection_is_free(self, api: Api) -> None:
        holder = await api.agent("Holder")
        snap = await api.trunk(holder["agent_uuid"])
        c = await api.connection()

        r = await api.patch(f"{BASE}/{c['uuid']}", {"phone_number": snap["number"]})

        assert r.status_code == 200, r.text

    @pytest.mark.parametrize(
        ("body", "code", "field"),
        [
            ({"gateway": "https://sip.example.com"}, "invalid_gateway", "gateway"),
            ({"gateway": "+14155550123"}, "invalid_gateway", "gateway"),
            ({"secondary_gateway": "sip.example.com:5060"}, "invalid_gateway", "secondary_gateway"),
            ({"name": None}, "validation_failed", "name"),
            ({"name": ""}, "validation_failed", "name"),
            ({"password": None}, "validation_failed", "password"),
            ({"username": ""}, "validation_failed", "username"),
            ({"phone_number": "1" * 33}, "validation_failed", "phone_number"),
            ({"port": 0}, "validation_failed", "port"),
            ({"transport": "sctp"}, "validation_failed", "transport"),
            ({"register": None}, "validation_failed", "register"),
        ],
    )
    async def test_create_rules_apply_to_sent_fields(
        self, api: Api, body: dict[str, Any], code: str, field: str
    ) -> None:
        c = await api.connection()

        r = await api.patch(f"{BASE}/{c['uuid']}", body)

        assert r.status_code == 422
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

    async def test_unknown_and_foreign_connections_are_404(self, api: Api, other_api: Api) -> None:
        foreign = await other_api.connection()
        for uuid in (MISSING, foreign["uuid"]):
            r = await api.patch(f"{BASE}/{uuid}", {"name": "x"})
            assert r.status_code == 404
            assert r.json() == not_found("connection_not_found", "SIP trunk connection not found.")


class TestDeleteConnection:
    async def test_unassigned_connection_is_deleted(self, api: Api) -> None:
        c = await api.connection()

        r = await api.delete(f"{BASE}/{c['uuid']}")

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Connection deleted.", "data": None}
        r = await api.get(f"{BASE}/{c['uuid']}")
        assert r.status_code == 404

    async def test_assigned_connection_is_in_use(self, api: Api) -> None:
        a = await api.agent("A")
        c = await api.connection()
        await api.assign_connection(a["agent_uuid"], c["uuid"])

        r = await api.delete(f"{BASE}/{c['uuid']}")

        assert r.status_code == 409
        assert r.json() == {
            "success": False,
            "message": "The connection is assigned to an agent; unassign it or pass force=true.",
            "error": {
                "code": "CONNECTION_IN_USE",
                "details": "The connection is assigned to an agent; unassign it or pass "
                "force=true.",
                "field": "",
                "fields": [],
            },
            "data": {"error": "connection_in_use", "agent_uuids": [a["agent_uuid"]]},
        }
        assert (await api.get(f"{BASE}/{c['uuid']}")).status_code == 200

    async def test_force_unassigns_first(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        c = await api.connection()
        await api.assign_connection(a["agent_uuid"], c["uuid"])
        await api.assign_connection(b["agent_uuid"], c["uuid"], force=True)

        r = await api.delete(f"{BASE}/{c['uuid']}", params={"force": "true"})

        assert r.status_code == 200
        assert r.json() == {"success": True, "message": "Connection deleted.", "data": None}
        r = await api.get(f"/agents/{a['agent_uuid']}/channels")
        assert r.json()["data"]["agent"]["channels"]["call"] == []
        async with sessionmaker() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(SipConnectionAssignment)
                .where(
                    SipConnectionAssignment.agent_id.in_(
                        [UUID(a["agent_uuid"]), UUID(b["agent_uuid"])]
                    )
                )
            )
        assert left == 0

    async def test_unknown_connection_is_404(self, api: Api) -> None:
        r = await api.delete(f"{BASE}/{MISSING}")
        assert r.status_code == 404
        assert r.json() == not_found("connection_not_found", "SIP trunk connection not found.")


class TestAssignConnection:
    async def test_assigns_and_returns_the_pair(self, api: Api) -> None:
        a = await api.agent("A")
        c = await api.connection()

        r = await api.post(
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk", {"connection_uuid": c["uuid"]}
        )

        assert r.status_code == 200, r.text
        assert r.json() == assigned(a, c)

    async def test_reassigning_the_same_pair_is_idempotent(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("A")
        c = await api.connection()
        await api.assign_connection(a["agent_uuid"], c["uuid"])

        r = await api.post(
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
            {"connection_uuid": c["uuid"], "force": True},
        )

        assert r.status_code == 200
        assert r.json() == assigned(a, c)
        async with sessionmaker() as session:
            rows = await session.scalar(
                select(func.count())
                .select_from(SipConnectionAssignment)
                .where(SipConnectionAssignment.connection_id == UUID(c["uuid"]))
            )
        assert rows == 1

    async def test_unknown_agent_is_404(self, api: Api) -> None:
        c = await api.connection()
        r = await api.post(
            f"/agents/{MISSING}/channels/call/sip-trunk", {"connection_uuid": c["uuid"]}
        )
        assert r.status_code == 404
        assert r.json() == not_found("agent_not_found", "Agent not found.", "agent_uuid")

    async def test_unknown_or_foreign_connection_is_404(self, api: Api, other_api: Api) -> None:
        a = await api.agent("A")
        foreign = await other_api.connection()
        for uuid in (MISSING, foreign["uuid"]):
            r = await api.post(
                f"/agents/{a['agent_uuid']}/channels/call/sip-trunk", {"connection_uuid": uuid}
            )
            assert r.status_code == 404
            assert r.json() == not_found(
                "connection_not_found", "SIP trunk connection not found.", "connection_uuid"
            )

    async def test_missing_connection_uuid_is_422(self, api: Api) -> None:
        a = await api.agent("A")
        r = await api.post(f"/agents/{a['agent_uuid']}/channels/call/sip-trunk", {"force": True})
        assert r.status_code == 422
        assert r.json()["error"] == {
            "code": "VALIDATION_FAILED",
            "details": "connection_uuid: Field required",
            "field": "connection_uuid",
            "fields": [{"field": "connection_uuid", "message": "Field required"}],
        }

    async def test_number_held_by_a_trunk_is_phone_in_use(self, api: Api) -> None:
        holder = await api.agent("Holder")
        snap = await api.trunk(holder["agent_uuid"])
        other = await api.agent("Other")
        # Stored verbatim in another spelling: compared in E.164.
        digits = snap["number"][1:]
        c = await api.connection(phone_number=f"{digits[0]} {digits[1:4]} {digits[4:]}")

        r = await api.post(
            f"/agents/{other['agent_uuid']}/channels/call/sip-trunk", {"connection_uuid": c["uuid"]}
        )

        assert r.status_code == 409
        assert r.json() == phone_in_use(holder, "trunk")

    async def test_number_held_by_a_provisioned_number_is_phone_in_use(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        holder = await api.agent("Holder")
        pn = await purchased_number(sessionmaker, api.slug)
        r = await api.post(
            f"/agents/{holder['agent_uuid']}/channels/call/provision",
            {"phone_number_uuid": str(pn.id)},
        )
        assert r.status_code == 200, r.text
        other = await api.agent("Other")
        c = await api.connection(phone_number=pn.number)

        r = await api.post(
            f"/agents/{other['agent_uuid']}/channels/call/sip-trunk", {"connection_uuid": c["uuid"]}
        )

        assert r.status_code == 409
        assert r.json() == phone_in_use(holder, "provision")

    async def test_number_held_by_another_connection_is_phone_in_use(self, api: Api) -> None:
        holder, other = await api.agent("Holder"), await api.agent("Other")
        number = unique_us_number()
        first = await api.connection(phone_number=number)
        await api.assign_connection(holder["agent_uuid"], first["uuid"])
        second = await api.connection(phone_number=number[1:])  # without "+": same number

        r = await api.post(
            f"/agents/{other['agent_uuid']}/channels/call/sip-trunk",
            {"connection_uuid": second["uuid"]},
        )

        assert r.status_code == 409
        assert r.json() == phone_in_use(holder, "connection")

    async def test_number_held_by_a_pbx_connector_is_phone_in_use(self, api: Api) -> None:
        holder, other = await api.agent("Holder"), await api.agent("Other")
        number = unique_us_number()
        await api.pbx_connector(holder["agent_uuid"], number)
        c = await api.connection(phone_number=number)

        r = await api.post(
            f"/agents/{other['agent_uuid']}/channels/call/sip-trunk", {"connection_uuid": c["uuid"]}
        )

        assert r.status_code == 409
        assert r.json() == phone_in_use(holder, "pbx")

    async def test_unparsable_numbers_are_compared_verbatim(self, api: Api) -> None:
        holder, other = await api.agent("Holder"), await api.agent("Other")
        first = await api.connection(phone_number="office-7")
        await api.assign_connection(holder["agent_uuid"], first["uuid"])
        same = await api.connection(phone_number="office-7")
        different = await api.connection(phone_number="office-8")

        r = await api.post(
            f"/agents/{other['agent_uuid']}/channels/call/sip-trunk",
            {"connection_uuid": same["uuid"]},
        )
        assert r.status_code == 409
        assert r.json() == phone_in_use(holder, "connection")
        await api.assign_connection(other["agent_uuid"], different["uuid"])

    async def test_the_same_agent_holding_the_number_is_no_conflict(self, api: Api) -> None:
        a = await api.agent("A")
        snap = await api.trunk(a["agent_uuid"])
        c = await api.connection(phone_number=snap["number"])

        assigned = await api.assign_connection(a["agent_uuid"], c["uuid"])

        assert assigned == {
            "agent_uuid": a["agent_uuid"],
            "connection_uuid": c["uuid"],
            "phone_number": snap["number"],
        }
        r = await api.get(f"/agents/{a['agent_uuid']}/channels")
        call = r.json()["data"]["agent"]["channels"]["call"]
        assert sorted(h["bound_via"] for h in call) == ["connection", "trunk"]

    async def test_force_routes_inbound_to_the_newest_and_earlier_agents_keep_outbound(
        self, api: Api
    ) -> None:
        first, second = await api.agent("First"), await api.agent("Second")
        snap = await api.trunk(first["agent_uuid"])
        c = await api.connection(phone_number=snap["number"])

        r = await api.post(
            f"/agents/{second['agent_uuid']}/channels/call/sip-trunk",
            {"connection_uuid": c["uuid"], "force": True},
        )

        assert r.status_code == 200, r.text
        assert r.json() == assigned(second, c)
        r = await api.get("/phone-numbers/channels", params={"number": snap["number"]})
        call = r.json()["data"]["channels"]["call"]
        assert (call["bound"], call["agent_uuid"], call["agent_name"]) == (
            True,
            second["agent_uuid"],
            "Second",
        )
        r = await api.get(f"/agents/{first['agent_uuid']}/channels")
        assert [
            (b["bound_via"], b["receives_inbound"])
            for b in r.json()["data"]["agent"]["channels"]["call"]
        ] == [("trunk", False)]
        r = await api.get(f"/agents/{second['agent_uuid']}/channels")
        assert r.json()["data"]["agent"]["channels"]["call"] == [
            {
                "number": snap["number"],
                "phone_number_uuid": snap["phone_number_uuid"],
                "bound_via": "connection",
                "connection_uuid": c["uuid"],
                "pbx_extension_connector_uuid": None,
                "receives_inbound": True,
                "bound_at": ANY,
            }
        ]

    async def test_concurrent_assignments_without_force_have_one_winner(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agents = [await api.agent(f"A{i}") for i in range(12)]
        c = await api.connection()

        responses = await asyncio.gather(
            *(
                api.post(
                    f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
                    {"connection_uuid": c["uuid"]},
                )
                for a in agents
            )
        )

        assert Counter(r.status_code for r in responses) == {200: 1, 409: 11}
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
            "PHONE_IN_USE"
        }
        async with sessionmaker() as session:
            rows = await session.scalar(
                select(func.count())
                .select_from(SipConnectionAssignment)
                .where(SipConnectionAssignment.connection_id == UUID(c["uuid"]))
            )
        assert rows == 1


class TestUnassignConnection:
    async def test_unassigns_one_connection_by_query(self, api: Api) -> None:
        a = await api.agent("A")
        c1, c2 = await api.connection(), await api.connection()
        await api.assign_connection(a["agent_uuid"], c1["uuid"])
        await api.assign_connection(a["agent_uuid"], c2["uuid"])

        r = await api.delete(
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
            params={"connection_uuid": c1["uuid"]},
        )

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Connection unassigned.",
            "data": {"agent_uuid": a["agent_uuid"], "unassigned_connection_uuids": [c1["uuid"]]},
        }
        r = await api.get(f"/agents/{a['agent_uuid']}/channels")
        assert [b["connection_uuid"] for b in r.json()["data"]["agent"]["channels"]["call"]] == [
            c2["uuid"]
        ]

    async def test_unassigns_one_connection_by_body(self, api: Api) -> None:
        a = await api.agent("A")
        c = await api.connection()
        await api.assign_connection(a["agent_uuid"], c["uuid"])

        r = await api.request(
            "DELETE",
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
            json={"connection_uuid": c["uuid"]},
        )

        assert r.status_code == 200
        assert r.json()["data"] == {
            "agent_uuid": a["agent_uuid"],
            "unassigned_connection_uuids": [c["uuid"]],
        }

    async def test_without_a_connection_unassigns_all(self, api: Api) -> None:
        a = await api.agent("A")
        c1, c2 = await api.connection(), await api.connection()
        await api.assign_connection(a["agent_uuid"], c1["uuid"])
        await api.assign_connection(a["agent_uuid"], c2["uuid"])

        r = await api.delete(f"/agents/{a['agent_uuid']}/channels/call/sip-trunk")

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Connection unassigned.",
            "data": {
                "agent_uuid": a["agent_uuid"],
                "unassigned_connection_uuids": [c1["uuid"], c2["uuid"]],
            },
        }

    async def test_a_connection_not_attached_is_a_no_op(self, api: Api) -> None:
        a = await api.agent("A")
        c = await api.connection()

        r = await api.delete(
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
            params={"connection_uuid": c["uuid"]},
        )

        assert r.status_code == 200
        assert r.json()["data"] == {
            "agent_uuid": a["agent_uuid"],
            "unassigned_connection_uuids": [],
        }

    async def test_unassigning_returns_inbound_to_the_earlier_agent(self, api: Api) -> None:
        first, second = await api.agent("First"), await api.agent("Second")
        snap = await api.trunk(first["agent_uuid"])
        c = await api.connection(phone_number=snap["number"])
        await api.assign_connection(second["agent_uuid"], c["uuid"], force=True)

        await api.delete(f"/agents/{second['agent_uuid']}/channels/call/sip-trunk")

        r = await api.get("/phone-numbers/channels", params={"number": snap["number"]})
        assert r.json()["data"]["channels"]["call"]["agent_uuid"] == first["agent_uuid"]

    async def test_query_and_body_disagreeing_is_422(self, api: Api) -> None:
        a = await api.agent("A")
        c1, c2 = await api.connection(), await api.connection()

        r = await api.request(
            "DELETE",
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
            params={"connection_uuid": c1["uuid"]},
            json={"connection_uuid": c2["uuid"]},
        )

        assert r.status_code == 422
        assert r.json() == {
            "success": False,
            "message": "connection_uuid differs between the query and the body.",
            "error": {
                "code": "VALIDATION_FAILED",
                "details": "connection_uuid: query and body disagree",
                "field": "connection_uuid",
                "fields": [{"field": "connection_uuid", "message": "query and body disagree"}],
            },
            "data": {"error": "validation_failed"},
        }

    async def test_unknown_connection_and_agent_are_404(self, api: Api) -> None:
        a = await api.agent("A")
        r = await api.delete(
            f"/agents/{a['agent_uuid']}/channels/call/sip-trunk",
            params={"connection_uuid": MISSING},
        )
        assert r.status_code == 404
        assert r.json() == not_found(
            "connection_not_found", "SIP trunk connection not found.", "connection_uuid"
        )
        r = await api.delete(f"/agents/{MISSING}/channels/call/sip-trunk")
        assert r.status_code == 404
        assert r.json() == not_found("agent_not_found", "Agent not found.", "agent_uuid")
