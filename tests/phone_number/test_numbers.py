"""The inventory and snapshots (docs/api-decisions.md §4.2): GET/PATCH /phone-numbers/{uuid}, GET
/phone-numbers,
and the ChannelsSnapshot of purchased numbers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body, sandbox_number, unique_us_number
from tests.support.phone_items import (
    ALL_CAPS,
    bound,
    external,
    ok,
    paginated,
    purchased,
    settings,
    sip,
    snapshot,
    trunk,
)
from trunkline.db import session_scope
from trunkline.kit.clock import utcnow
from trunkline.models import Binding, PhoneNumber
from trunkline.phone_number.provider.sandbox import block_prefix

GB_NATIONAL = f"{block_prefix('GB', 'national')}0001"
NATIONAL_CAPS = {
    **ALL_CAPS,
    "sms": False,
    "mms": False,
    "fax": False,
    "emergency": False,
    "local_calling": False,
}
NOT_FOUND = error_body("phone_number_not_found", "Phone number not found.")


def invalid(field: str, message: str) -> dict[str, Any]:
    return error_body(
        "validation_failed",
        f"Validation failed: {field}: {message.rstrip('.')}.",
        field=field,
        fields=[{"field": field, "message": message}],
    )


async def bind(
    sm: async_sessionmaker[AsyncSession],
    number: dict[str, Any],
    agent: dict[str, Any],
    channel: str,
) -> None:
    """A provision binding straight in the database (the agent channel endpoints are not under
    test here)."""
    number_id = uuid.UUID(number["phone_number_uuid"])
    async with session_scope(sm) as session:
        workspace_id = await session.scalar(
            select(PhoneNumber.workspace_id).where(PhoneNumber.id == number_id)
        )
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


class TestGetNumber:
    async def test_purchased_number(self, api: Api) -> None:
        bought = await api.buy("+12015550100")

        r = await api.get(f"/phone-numbers/{bought['phone_number_uuid']}")

        assert r.status_code == 200
        assert r.json() == ok(
            purchased("+12015550100", uuid=bought["phone_number_uuid"]), "Phone number retrieved."
        )

    async def test_purchased_number_with_bindings(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent("Texter")
        bought = await api.buy("+12015550100")
        await bind(sessionmaker, bought, agent, "sms")

        r = await api.get(f"/phone-numbers/{bought['phone_number_uuid']}")

        assert r.json() == ok(
            purchased("+12015550100", sms=bound(agent)), "Phone number retrieved."
        )

    async def test_external_number_carries_its_trunks(self, api: Api) -> None:
        caller, chatter = await api.agent("Caller"), await api.agent("Chatter")
        number = unique_us_number()
        snap = await api.trunk(
            caller["agent_uuid"],
            number,
            sip={"gateway": "sip.acme.com", "password": "pw", "port": 5061, "transport": "tls"},
        )
        await api.trunk(chatter["agent_uuid"], number, channel="whatsapp")

        r = await api.get(f"/phone-numbers/{snap['phone_number_uuid']}")

        assert r.json() == ok(
            external(
                number,
                [
                    trunk(number, sip=sip(port=5061, transport="tls", has_username=False)),
                    trunk(number, "whatsapp"),
                ],
                uuid=snap["phone_number_uuid"],
                call=bound(caller),
                whatsapp=bound(chatter),
            ),
            "Phone number retrieved.",
        )
        assert "pw" not in r.text.replace("password", "")

    async def test_unknown_or_foreign_number_is_404(self, api: Api, other_api: Api) -> None:
        foreign = await other_api.buy()

        for target in (str(uuid.uuid4()), foreign["phone_number_uuid"]):
            r = await api.get(f"/phone-numbers/{target}")
            assert r.status_code == 404
            assert r.json() == NOT_FOUND

    async def test_malformed_uuid_is_422(self, api: Api) -> None:
        r = await api.get("/phone-numbers/not-a-uuid")

        assert r.status_code == 422
        assert r.json()["error"]["field"] == "phone_number_uuid"


class TestListNumbers:
    async def test_empty_inventory(self, api: Api) -> None:
        r = await api.get("/phone-numbers")

        assert r.status_code == 200
        assert r.json() == ok(paginated([], total=0), "Phone numbers retrieved.")

    async def test_purchased_and_external_oldest_first(self, api: Api) -> None:
        agent = await api.agent("Caller")
        bought = await api.buy("+12015550100")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number)

        r = await api.get("/phone-numbers")

        assert r.json() == ok(
            paginated(
                [
                    purchased("+12015550100", uuid=bought["phone_number_uuid"]),
                    external(number, [trunk(number)], call=bound(agent)),
                ],
                total=2,
            ),
            "Phone numbers retrieved.",
        )

    async def test_filters(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        caller, texter = await api.agent("Caller"), await api.agent("Texter")
        local = await api.buy("+12015550100")
        national = await api.buy(GB_NATIONAL, country_code="GB", type="national")
        released = await api.buy("+12015550101")
        await api.delete(f"/phone-numbers/{released['phone_number_uuid']}")
        await bind(sessionmaker, local, texter, "sms")
        ext = unique_us_number()
        await api.trunk(caller["agent_uuid"], ext)
        await other_api.buy("+12015550102")

        async def numbers(**params: str) -> list[str]:
            r = await api.get("/phone-numbers", params=params)
            assert r.status_code == 200, r.text
            return [item["number"] for item in r.json()["data"]["items"]]

        everything = ["+12015550100", GB_NATIONAL, "+12015550101", ext]
        assert await numbers() == everything
        assert await numbers(source="purchased") == everything[:3]
        assert await numbers(source="external") == [ext]
        assert await numbers(status="active") == ["+12015550100", GB_NATIONAL, ext]
        assert await numbers(status="released") == ["+12015550101"]
        assert await numbers(channel="sms") == ["+12015550100"]
        assert await numbers(channel="call") == [ext]
        assert await numbers(channel="whatsapp") == []
        assert await numbers(agent_uuid=texter["agent_uuid"]) == ["+12015550100"]
        assert await numbers(agent_uuid=texter["agent_uuid"], channel="call") == []
        assert await numbers(agent_uuid=caller["agent_uuid"]) == [ext]
        assert await numbers(number="1201555") == ["+12015550100", "+12015550101"]
        assert await numbers(number="+44") == [GB_NATIONAL]
        assert await numbers(number=" 44") == [GB_NATIONAL]  # a raw "+" decodes to a space
        assert await numbers(number=ext) == [ext]
        assert await numbers(agent_uuid=str(uuid.uuid4())) == []
        assert national["number"] == GB_NATIONAL

    async def test_connection_and_pbx_holders_show_as_call_bindings(self, api: Api) -> None:
        by_conn, by_pbx = await api.agent("Conn"), await api.agent("Pbx")
        conn_number = await api.buy(sandbox_number(1))
        pbx_number = await api.buy(sandbox_number(2))
        connection = await api.connection(phone_number=conn_number["number"][1:])
        await api.assign_connection(by_conn["agent_uuid"], connection["uuid"])
        await api.pbx_connector(by_pbx["agent_uuid"], pbx_number["number"])

        r = await api.get("/phone-numbers", params={"channel": "call"})

        items = r.json()["data"]["items"]
        assert [(i["number"], i["bindings"]["call"]) for i in items] == [
            (conn_number["number"], bound(by_conn)),
            (pbx_number["number"], bound(by_pbx)),
        ]
        by_agent = await api.get("/phone-numbers", params={"agent_uuid": by_pbx["agent_uuid"]})
        assert [i["number"] for i in by_agent.json()["data"]["items"]] == [pbx_number["number"]]

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"source": "stolen"}, "source", "Input should be 'purchased' or 'external'"),
            ({"status": "gone"}, "status", "Input should be 'active' or 'released'"),
            ({"channel": "fax"}, "channel", "Input should be 'call', 'sms' or 'whatsapp'"),
            (
                {"agent_uuid": "nope"},
                "agent_uuid",
                "Input should be a valid UUID, invalid character: found `n` at 0",
            ),
            ({"number": "+1-415"}, "number", "Must be up to 15 digits, optionally after +."),
        ],
    )
    async def test_bad_filters_are_422(
        self, api: Api, params: dict[str, str], field: str, message: str
    ) -> None:
        r = await api.get("/phone-numbers", params=params)

        assert r.status_code == 422
        assert r.json() == invalid(field, message)

    async def test_misspelled_key_is_named(self, api: Api) -> None:
        bought = await api.buy()

        r = await api.patch(f"/phone-numbers/{bought['phone_number_uuid']}", {"settings": {}})

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: channel_settings: Field required.",
            field="channel_settings",
            fields=[
                {"field": "channel_settings", "message": "Field required"},
                {"field": "settings", "message": "Extra inputs are not permitted"},
            ],
        )


class TestUpdateNumber:
    async def test_merges_key_by_key(self, api: Api) -> None:
        bought = await api.buy("+12015550100")

        r = await api.patch(
            f"/phone-numbers/{bought['phone_number_uuid']}",
            {
                "channel_settings": {
                    "voice": {"channel_limit": 3, "whitelisted_destinations": ["us", "CA", "US"]},
                    "inbound": {"channel_limit": None},
                }
            },
        )

        assert r.status_code == 200
        assert r.json() == ok(
            purchased(
                "+12015550100",
                channel_settings=settings(
                    voice=True,
                    sms=True,
                    inbound=True,
                    voice_limit=3,
                    voice_dest=["US", "CA"],
                    inbound_limit=None,
                ),
            ),
            "Phone number updated.",
        )

    async def test_settings_show_in_the_snapshot(self, api: Api) -> None:
        bought = await api.buy("+12015550100")
        uid = bought["phone_number_uuid"]

        await api.patch(
            f"/phone-numbers/{uid}",
            {"channel_settings": {"sms": {"enabled": False}, "inbound": {"enabled": False}}},
        )
        r = await api.get(f"/phone-numbers/{uid}/channels")

        assert r.json() == ok(
            snapshot(
                "+12015550100",
                external=False,
                call_capable=True,
                sms_capable=True,
                outbound=True,
                sms_enabled=False,
                inbound=False,
                uuid=uid,
            ),
            "Channel snapshot retrieved.",
        )

    async def test_empty_destinations_block_every_country(self, api: Api) -> None:
        bought = await api.buy("+12015550100")

        r = await api.patch(
            f"/phone-numbers/{bought['phone_number_uuid']}",
            {"channel_settings": {"voice": {"whitelisted_destinations": []}}},
        )

        assert r.json()["data"]["channel_settings"]["voice"] == {
            "enabled": True,
            "channel_limit": 10,
            "whitelisted_destinations": [],
        }

    async def test_external_number_settings_can_change(self, api: Api) -> None:
        agent = await api.agent("Caller")
        number = unique_us_number()
        snap = await api.trunk(agent["agent_uuid"], number)

        r = await api.patch(
            f"/phone-numbers/{snap['phone_number_uuid']}",
            {"channel_settings": {"voice": {"enabled": False, "whitelisted_destinations": ["MX"]}}},
        )

        assert r.json() == ok(
            external(
                number,
                [trunk(number)],
                call=bound(agent),
                channel_settings=settings(
                    voice=False, sms=False, inbound=True, voice_dest=["MX"], sms_dest=[]
                ),
            ),
            "Phone number updated.",
        )

    @pytest.mark.parametrize(
        ("number", "patch", "channel"),
        [
            ("external", {"sms": {"enabled": True}}, "sms"),
            ("national", {"sms": {"enabled": True}}, "sms"),
            ("whatsapp-only", {"voice": {"enabled": True}}, "voice"),
            ("whatsapp-only", {"inbound": {"enabled": True}}, "inbound"),
        ],
    )
    async def test_enabling_what_the_number_cannot_carry_is_422(
        self, api: Api, number: str, patch: dict[str, Any], channel: str
    ) -> None:
        agent = await api.agent()
        if number == "national":
            target = await api.buy(GB_NATIONAL, country_code="GB", type="national")
        else:
            target = await api.trunk(
                agent["agent_uuid"], channel="call" if number == "external" else "whatsapp"
            )

        r = await api.patch(
            f"/phone-numbers/{target['phone_number_uuid']}", {"channel_settings": patch}
        )

        assert r.status_code == 422
        assert r.json() == error_body(
            "channel_not_capable",
            f"This number cannot carry {channel}: it cannot be enabled.",
            field=f"channel_settings.{channel}.enabled",
        )

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            (
                {"channel_settings": {"voice": {"whitelisted_destinations": ["US", "XX"]}}},
                "channel_settings.voice.whitelisted_destinations.1",
                "Must be an ISO-3166 alpha-2 country code, e.g. US.",
            ),
            (
                {"channel_settings": {"sms": {"whitelisted_destinations": ["USA"]}}},
                "channel_settings.sms.whitelisted_destinations.0",
                "Must be an ISO-3166 alpha-2 country code, e.g. US.",
            ),
            (
                # 0 means no limit (docs/api-decisions.md §6.2); below it is refused
                {"channel_settings": {"voice": {"channel_limit": -1}}},
                "channel_settings.voice.channel_limit",
                "Input should be greater than or equal to 0",
            ),
            (
                {"channel_settings": {"inbound": {"enabled": None}}},
                "channel_settings.inbound.enabled",
                "May not be null.",
            ),
            (
                {"channel_settings": {"voice": {"whitelisted_destinations": None}}},
                "channel_settings.voice.whitelisted_destinations",
                "May not be null.",
            ),
            ({}, "channel_settings", "Field required"),
        ],
    )
    async def test_bad_settings_are_422(
        self, api: Api, body: dict[str, Any], field: str, message: str
    ) -> None:
        bought = await api.buy()

        r = await api.patch(f"/phone-numbers/{bought['phone_number_uuid']}", body)

        assert r.status_code == 422
        assert r.json() == invalid(field, message)

    async def test_unknown_number_is_404(self, api: Api) -> None:
        r = await api.patch(f"/phone-numbers/{uuid.uuid4()}", {"channel_settings": {}})

        assert r.status_code == 404
        assert r.json() == NOT_FOUND


class TestPurchasedSnapshots:
    async def test_local_number_is_call_and_sms_capable(self, api: Api) -> None:
        bought = await api.buy("+12015550100")

        by_id = await api.get(f"/phone-numbers/{bought['phone_number_uuid']}/channels")
        by_number = await api.get("/phone-numbers/channels", params={"number": "12015550100"})

        expected = ok(
            snapshot(
                "+12015550100",
                external=False,
                call_capable=True,
                sms_capable=True,
                outbound=True,
                sms_enabled=True,
                inbound=True,
                uuid=bought["phone_number_uuid"],
            ),
            "Channel snapshot retrieved.",
        )
        assert by_id.json() == expected
        assert by_number.json() == expected

    async def test_national_number_is_not_sms_capable(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent("Caller")
        bought = await api.buy(GB_NATIONAL, country_code="GB", type="national")
        await bind(sessionmaker, bought, agent, "call")

        r = await api.get(f"/phone-numbers/{bought['phone_number_uuid']}/channels")

        assert r.json() == ok(
            snapshot(
                GB_NATIONAL,
                external=False,
                call_capable=True,
                sms_capable=False,
                outbound=True,
                sms_enabled=False,
                inbound=True,
                country="GB",
                call=bound(agent),
                uuid=bought["phone_number_uuid"],
            ),
            "Channel snapshot retrieved.",
        )
        assert bought["capabilities"] == NATIONAL_CAPS
