"""Agents' channels (docs/api-decisions.md §4.5): bind owned numbers per channel, unbind, list every
holding."""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, agent_object, unique_us_number
from tests.support.rows import purchased_number, workspace_id
from tests.support.sql import statements
from trunkline.binding import repository as binding_repository
from trunkline.binding.rules import Channel, Via
from trunkline.models import PhoneNumber

MISSING = "00000000-0000-4000-8000-000000000000"


def agent_view(agent: dict[str, Any], **channels: list[dict[str, Any]]) -> dict[str, Any]:
    """``{agent: …}``: the whole agent (docs/api-decisions.md §6.3) with these channels."""
    return {
        "agent": agent_object(
            agent["name"],
            status=agent["status"],
            agent_uuid=agent["agent_uuid"],
            channels=channels,
            stream_url=agent["stream_url"],
            has_stream_auth_token=agent["has_stream_auth_token"],
        )
    }


def held(
    pn: PhoneNumber | None,
    via: str,
    *,
    number: str | None = None,
    phone_number_uuid: str | None = None,
    connection_uuid: str | None = None,
    pbx: str | None = None,
    inbound: bool = True,
) -> dict[str, Any]:
    return {
        "number": pn.number if pn is not None else number,
        "phone_number_uuid": str(pn.id) if pn is not None else phone_number_uuid,
        "bound_via": via,
        "connection_uuid": connection_uuid,
        "pbx_extension_connector_uuid": pbx,
        "receives_inbound": inbound,
        "bound_at": ANY,
    }


def error(code: str, message: Any, field: str | None, **data: Any) -> dict[str, Any]:
    return {
        "success": False,
        "message": message,
        "error": {"code": code.upper(), "details": message, "field": field or "", "fields": []},
        "data": {"error": code, **data},
    }


def holder_data(agent: dict[str, Any], via: str) -> dict[str, Any]:
    return {"agent_uuid": agent["agent_uuid"], "agent_name": agent["name"], "bound_via": via}


async def bind(api: Api, agent: dict[str, Any], path: str, pn: PhoneNumber | str) -> Any:
    uuid = pn if isinstance(pn, str) else str(pn.id)
    return await api.post(
        f"/agents/{agent['agent_uuid']}/channels/{path}", {"phone_number_uuid": uuid}
    )


class TestProvisionCall:
    async def test_binds_an_owned_voice_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Caller")
        pn = await purchased_number(sessionmaker, api.slug)

        r = await bind(api, a, "call/provision", pn)

        assert r.status_code == 200, r.text
        assert r.json() == {
            "success": True,
            "message": "Number bound on call.",
            "data": agent_view(a, call=[held(pn, "provision")]),
        }
        snap = (await api.get(f"/phone-numbers/{pn.id}/channels")).json()["data"]
        assert snap["channels"]["call"]["agent_uuid"] == a["agent_uuid"]

    async def test_binding_it_again_is_a_no_op(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Caller")
        pn = await purchased_number(sessionmaker, api.slug)
        first = await bind(api, a, "call/provision", pn)

        again = await bind(api, a, "call/provision", pn)

        assert again.status_code == 200
        assert again.json() == first.json()

    async def test_missing_foreign_and_released_numbers_are_404(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Caller")
        foreign = await purchased_number(sessionmaker, other_api.slug)
        released = await purchased_number(sessionmaker, api.slug, status="released")
        for uuid in (MISSING, str(foreign.id), str(released.id)):
            r = await bind(api, a, "call/provision", uuid)
            assert r.status_code == 404
            assert r.json() == error(
                "phone_number_not_found", "Phone number not found.", "phone_number_uuid"
            )

    async def test_unknown_agent_is_404(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        pn = await purchased_number(sessionmaker, api.slug)
        r = await bind(api, {"agent_uuid": MISSING}, "call/provision", pn)
        assert r.status_code == 404
        assert r.json() == error("agent_not_found", "Agent not found.", "agent_uuid")

    async def test_a_number_without_voice_is_not_capable(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Caller")
        pn = await purchased_number(sessionmaker, api.slug, capabilities={"voice": False})

        r = await bind(api, a, "call/provision", pn)

        assert r.status_code == 422
        assert r.json() == error(
            "channel_not_capable", "This number cannot carry this channel.", "phone_number_uuid"
        )

    async def test_an_external_number_is_bound_through_the_trunk_endpoints(self, api: Api) -> None:
        a, b = await api.agent("Trunked"), await api.agent("Caller")
        snap = await api.trunk(a["agent_uuid"], channel="whatsapp")

        r = await bind(api, b, "call/provision", snap["phone_number_uuid"])

        assert r.status_code == 409
        assert r.json() == error(
            "number_is_external",
            "External numbers are bound through the trunk endpoints "
            "(POST /api/v1/phone-numbers/trunks).",
            "phone_number_uuid",
        )

    async def test_a_number_another_agent_provisioned_is_already_bound(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "call/provision", pn)

        r = await bind(api, b, "call/provision", pn)

        assert r.status_code == 409
        assert r.json() == error(
            "number_already_bound",
            "This number is already bound on this channel.",
            "phone_number_uuid",
            **holder_data(a, "provision"),
        )

    async def test_a_number_another_agent_holds_by_connection_is_already_bound(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        pn = await purchased_number(sessionmaker, api.slug)
        c = await api.connection(phone_number=pn.number)
        await api.assign_connection(a["agent_uuid"], c["uuid"])

        r = await bind(api, b, "call/provision", pn)

        assert r.status_code == 409
        assert r.json()["data"] == {"error": "number_already_bound", **holder_data(a, "connection")}

    async def test_a_number_another_agent_holds_by_pbx_is_already_bound(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        pn = await purchased_number(sessionmaker, api.slug)
        await api.pbx_connector(a["agent_uuid"], pn.number)

        r = await bind(api, b, "call/provision", pn)

        assert r.status_code == 409
        assert r.json()["data"] == {"error": "number_already_bound", **holder_data(a, "pbx")}

    async def test_an_agent_with_another_number_on_call_is_busy(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("A")
        first = await purchased_number(sessionmaker, api.slug)
        second = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "call/provision", first)

        r = await bind(api, a, "call/provision", second)

        assert r.status_code == 409
        assert r.json() == error(
            "agent_channel_busy",
            "This agent already serves another number on this channel.",
            "agent_uuid",
            phone_number=first.number,
            bound_via="provision",
        )

    async def test_the_same_agent_holding_it_by_connection_may_provision_it(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("A")
        pn = await purchased_number(sessionmaker, api.slug)
        c = await api.connection(phone_number=pn.number)
        await api.assign_connection(a["agent_uuid"], c["uuid"])

        r = await bind(api, a, "call/provision", pn)

        assert r.status_code == 200, r.text
        assert r.json()["data"] == agent_view(
            a,
            call=[held(pn, "connection", connection_uuid=c["uuid"]), held(pn, "provision")],
        )


class TestBindSms:
    async def test_binds_an_sms_capable_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Texter")
        pn = await purchased_number(sessionmaker, api.slug)

        r = await bind(api, a, "sms", pn)

        assert r.status_code == 200, r.text
        assert r.json() == {
            "success": True,
            "message": "Number bound on sms.",
            "data": agent_view(a, sms=[held(pn, "provision")]),
        }

    async def test_replaces_the_agents_previous_sms_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Texter")
        old = await purchased_number(sessionmaker, api.slug)
        new = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "sms", old)

        r = await bind(api, a, "sms", new)

        assert r.status_code == 200, r.text
        assert r.json()["data"] == agent_view(a, sms=[held(new, "provision")])
        snap = (await api.get(f"/phone-numbers/{old.id}/channels")).json()["data"]
        assert snap["channels"]["sms"]["bound"] is False

    async def test_a_number_another_agent_holds_is_already_bound(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "sms", pn)

        r = await bind(api, b, "sms", pn)

        assert r.status_code == 409
        assert r.json() == error(
            "number_already_bound",
            "This number is already bound on this channel.",
            "phone_number_uuid",
            **holder_data(a, "provision"),
        )

    async def test_a_number_without_sms_is_not_capable(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Texter")
        pn = await purchased_number(sessionmaker, api.slug, capabilities={"sms": False})

        r = await bind(api, a, "sms", pn)

        assert r.status_code == 422
        assert r.json()["error"]["code"] == "CHANNEL_NOT_CAPABLE"

    async def test_the_same_number_on_call_and_sms_for_one_agent(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Both")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "call/provision", pn)

        r = await bind(api, a, "sms", pn)

        assert r.json()["data"] == agent_view(
            a, call=[held(pn, "provision")], sms=[held(pn, "provision")]
        )


class TestBindWhatsapp:
    async def test_binds_an_owned_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Chatter")
        pn = await purchased_number(sessionmaker, api.slug, capabilities={"sms": False})

        r = await bind(api, a, "whatsapp", pn)

        assert r.status_code == 200, r.text
        assert r.json() == {
            "success": True,
            "message": "Number bound on whatsapp.",
            "data": agent_view(a, whatsapp=[held(pn, "provision")]),
        }

    async def test_does_not_replace_the_agents_whatsapp_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Chatter")
        first = await purchased_number(sessionmaker, api.slug)
        second = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "whatsapp", first)

        r = await bind(api, a, "whatsapp", second)

        assert r.status_code == 409
        assert r.json()["data"] == {
            "error": "agent_channel_busy",
            "phone_number": first.number,
            "bound_via": "provision",
        }

    async def test_a_number_another_agent_holds_is_already_bound(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "whatsapp", pn)

        r = await bind(api, b, "whatsapp", pn)

        assert r.status_code == 409
        assert r.json()["data"] == {"error": "number_already_bound", **holder_data(a, "provision")}


class TestUnbindChannel:
    async def test_call_removes_every_way_the_agent_answers_calls(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("A")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "call/provision", pn)
        await bind(api, a, "sms", pn)
        c = await api.connection()
        await api.assign_connection(a["agent_uuid"], c["uuid"])
        pbx = await api.pbx_connector(a["agent_uuid"])

        r = await api.delete(f"/agents/{a['agent_uuid']}/channels/call")

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Channel call unbound.",
            "data": agent_view(a, sms=[held(pn, "provision")]),
        }
        assert (await api.get(f"/channels/sip-trunk/connections/{c['uuid']}")).status_code == 200
        r = await api.get(f"/pbx_extension_connectors/{pbx['pbx_extension_connector_uuid']}")
        assert r.status_code == 404

    async def test_sms_leaves_call_alone(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("A")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "call/provision", pn)
        await bind(api, a, "sms", pn)

        r = await api.delete(f"/agents/{a['agent_uuid']}/channels/sms")

        assert r.status_code == 200
        assert r.json()["data"] == agent_view(a, call=[held(pn, "provision")])

    async def test_a_trunk_row_stays_unbound(self, api: Api) -> None:
        a = await api.agent("A")
        snap = await api.trunk(a["agent_uuid"])

        r = await api.delete(f"/agents/{a['agent_uuid']}/channels/call")

        assert r.status_code == 200
        after = (await api.get(f"/phone-numbers/{snap['phone_number_uuid']}/channels")).json()
        assert after["data"]["channels"]["call"] == {
            **snap["channels"]["call"],
            "bound": False,
            "agent_uuid": "",
            "agent_name": "",
        }

    async def test_nothing_bound_is_200(self, api: Api) -> None:
        a = await api.agent("A")
        r = await api.delete(f"/agents/{a['agent_uuid']}/channels/whatsapp")
        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Channel whatsapp unbound.",
            "data": agent_view(a),
        }

    async def test_an_unknown_channel_is_422(self, api: Api) -> None:
        a = await api.agent("A")
        r = await api.delete(f"/agents/{a['agent_uuid']}/channels/fax")
        assert r.status_code == 422
        assert r.json() == {
            "success": False,
            "message": ANY,
            "error": {
                "code": "VALIDATION_FAILED",
                "details": ANY,
                "field": "channel",
                "fields": [{"field": "channel", "message": ANY}],
            },
            "data": {"error": "validation_failed"},
        }

    async def test_unknown_agent_is_404(self, api: Api) -> None:
        r = await api.delete(f"/agents/{MISSING}/channels/sms")
        assert r.status_code == 404
        assert r.json() == error("agent_not_found", "Agent not found.", "agent_uuid")


class TestGetChannels:
    async def test_lists_every_way_with_bound_via(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Everything")
        snap = await api.trunk(a["agent_uuid"], channel="whatsapp")
        pn = await purchased_number(sessionmaker, api.slug)
        await bind(api, a, "call/provision", pn)
        await bind(api, a, "sms", pn)
        c = await api.connection(phone_number="office-7")
        await api.assign_connection(a["agent_uuid"], c["uuid"])
        outside = unique_us_number()
        pbx = await api.pbx_connector(a["agent_uuid"], outside)

        r = await api.get(f"/agents/{a['agent_uuid']}/channels")

        assert r.status_code == 200
        assert r.json() == {
            "success": True,
            "message": "Agent channels retrieved.",
            "data": agent_view(
                a,
                call=[
                    held(pn, "provision"),
                    held(None, "connection", number="office-7", connection_uuid=c["uuid"]),
                    held(None, "pbx", number=outside, pbx=pbx["pbx_extension_connector_uuid"]),
                ],
                sms=[held(pn, "provision")],
                whatsapp=[
                    held(
                        None,
                        "trunk",
                        number=snap["number"],
                        phone_number_uuid=snap["phone_number_uuid"],
                    )
                ],
            ),
        }

    async def test_the_same_statements_however_many_numbers_the_agent_answers(
        self, api: Api
    ) -> None:
        """Who receives inbound on each call number is one batch read, not one per number."""
        a, b = await api.agent("Many"), await api.agent("Forcer")
        path = f"/agents/{a['agent_uuid']}/channels"
        await api.trunk(a["agent_uuid"])
        shared = await api.connection(phone_number="office-9")  # kept verbatim (not E.164)
        await api.assign_connection(a["agent_uuid"], shared["uuid"])
        await api.assign_connection(b["agent_uuid"], shared["uuid"], force=True)
        with statements() as few:
            assert (await api.get(path)).status_code == 200

        for _ in range(3):
            c = await api.connection()
            await api.assign_connection(a["agent_uuid"], c["uuid"])
            await api.pbx_connector(a["agent_uuid"])
        with statements() as many:
            r = await api.get(path)

        assert len(many) == len(few) > 0
        call = r.json()["data"]["agent"]["channels"]["call"]
        assert len(call) == 8
        inbound = {(h["bound_via"], h["number"], h["receives_inbound"]) for h in call}
        assert ("connection", "office-9", False) in inbound  # the forced agent receives it
        assert [h for h in call if h["number"] != "office-9" and not h["receives_inbound"]] == []

    async def test_the_batch_read_spans_more_numbers_than_one_statement_takes(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        a = await api.agent("Batch")
        snap = await api.trunk(a["agent_uuid"])
        c = await api.connection(phone_number="office-12")
        await api.assign_connection(a["agent_uuid"], c["uuid"])
        asked = {f"+1415555{i:04d}" for i in range(2500)} | {snap["number"], "office-12"}
        async with sessionmaker() as session:
            ws = await workspace_id(sessionmaker, api.slug)
            found = await binding_repository.holdings_for_numbers(session, ws, asked, Channel.call)
        assert found.keys() == asked
        assert {n: [(h.agent_id, h.via) for h in hs] for n, hs in found.items() if hs} == {
            snap["number"]: [(UUID(a["agent_uuid"]), Via.trunk)],
            "office-12": [(UUID(a["agent_uuid"]), Via.connection)],
        }

    async def test_foreign_agent_is_404(self, api: Api, other_api: Api) -> None:
        foreign = await other_api.agent("Theirs")
        r = await api.get(f"/agents/{foreign['agent_uuid']}/channels")
        assert r.status_code == 404
        assert r.json() == error("agent_not_found", "Agent not found.", "agent_uuid")
