"""External trunks after registration (docs/api-decisions.md §4.1): list, update, assign, delete."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_KEYRING
from tests.support.api import Api, error_body, unique_us_number
from tests.support.phone_items import (
    bound,
    external,
    ok,
    paginated,
    settings,
    sip,
    snapshot,
    trunk,
)
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import Binding, PhoneNumber, Trunk

PATH = "/phone-numbers/trunks"
SIP_IN = {"gateway": "sip.acme.com", "username": "alice", "password": "s3cret-pw"}
SMS_MESSAGE = (
    "SMS is not supported on trunk endpoints; use POST /api/v1/agents/{uuid}/channels/sms."
)
TRUNK_NOT_FOUND = error_body(
    "trunk_not_found",
    "No trunk is registered for this phone number and channel.",
    field="phone_number",
)


def external_snapshot(number: str, **kw: Any) -> dict[str, Any]:
    """An external number's snapshot: call capable by default, never SMS."""
    defaults: dict[str, Any] = {"call_capable": True, "outbound": True, "inbound": True}
    return snapshot(
        number, external=True, sms_capable=False, sms_enabled=False, **{**defaults, **kw}
    )


def invalid(field: str, message: str, code: str = "validation_failed") -> dict[str, Any]:
    text = (
        f"Validation failed: {field}: {message.rstrip('.')}."
        if code == "validation_failed"
        else message
    )
    return error_body(code, text, field=field, fields=[{"field": field, "message": message}])


async def trunk_row(
    sm: async_sessionmaker[AsyncSession], number: str, channel: str
) -> Trunk | None:
    async with sm() as session:
        return await session.scalar(
            select(Trunk)
            .join(PhoneNumber, PhoneNumber.id == Trunk.phone_number_id)
            .where(PhoneNumber.number == number, Trunk.channel == channel)
        )


class TestListTrunks:
    async def test_lists_external_numbers_with_their_trunks(self, api: Api) -> None:
        caller, chatter = await api.agent("Caller"), await api.agent("Chatter")
        number = unique_us_number()
        await api.trunk(caller["agent_uuid"], number, sip=SIP_IN, direction="inbound")
        await api.trunk(
            chatter["agent_uuid"], number, channel="whatsapp", additional_settings={"a": 1}
        )
        await api.buy()  # purchased numbers are not trunks

        r = await api.get(PATH)

        assert r.status_code == 200
        assert r.json() == ok(
            paginated(
                [
                    external(
                        number,
                        [
                            trunk(number, "call", direction="inbound", sip=sip()),
                            trunk(number, "whatsapp", additional_settings={"a": 1}),
                        ],
                        channel_settings=settings(
                            voice=False, sms=False, inbound=True, sms_dest=[]
                        ),
                        call=bound(caller),
                        whatsapp=bound(chatter),
                    )
                ],
                total=1,
            ),
            "Trunks retrieved.",
        )
        assert "s3cret-pw" not in r.text and "alice" not in r.text

    async def test_filters_by_channel_agent_and_number_prefix(self, api: Api) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        n1, n2 = unique_us_number(), unique_us_number()
        await api.trunk(a["agent_uuid"], n1)
        await api.trunk(b["agent_uuid"], n2, channel="whatsapp")

        async def numbers(**params: str) -> list[str]:
            r = await api.get(PATH, params=params)
            assert r.status_code == 200, r.text
            return [item["number"] for item in r.json()["data"]["items"]]

        assert await numbers() == [n1, n2]
        assert await numbers(channel="call") == [n1]
        assert await numbers(channel="whatsapp") == [n2]
        assert await numbers(agent_uuid=b["agent_uuid"]) == [n2]
        assert await numbers(agent_uuid=b["agent_uuid"], channel="call") == []
        assert await numbers(number=n2) == [n2]
        assert await numbers(number=n2[1:8]) == [n for n in (n1, n2) if n[1:8] == n2[1:8]]
        assert await numbers(number="+1415") == [n1, n2]
        assert await numbers(number="44") == []

    async def test_pages(self, api: Api) -> None:
        agent = await api.agent()
        await api.trunk(agent["agent_uuid"], channel="whatsapp")
        await api.trunk(agent["agent_uuid"], channel="call")

        r = await api.get(PATH, params={"per_page": 1, "page": 2})

        assert (
            r.json()["data"]["pagination"]
            == paginated([{}], total=2, page=2, per_page=1)["pagination"]
        )
        assert [t["channel"] for t in r.json()["data"]["items"][0]["trunks"]] == ["call"]

    async def test_sms_channel_is_422(self, api: Api) -> None:
        r = await api.get(PATH, params={"channel": "sms"})

        assert r.status_code == 422
        assert r.json() == invalid("channel", SMS_MESSAGE, code="sms_not_supported")

    async def test_other_workspaces_trunks_are_invisible(self, api: Api, other_api: Api) -> None:
        await other_api.trunk((await other_api.agent())["agent_uuid"])

        r = await api.get(PATH)

        assert r.json() == ok(paginated([], total=0), "Trunks retrieved.")


class TestUpdateTrunk:
    async def test_name_and_direction(self, api: Api) -> None:
        agent = await api.agent("Ann")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number)

        r = await api.patch(
            PATH,
            {
                "phone_number": number,
                "channel": "call",
                "name": "Main line",
                "direction": "inbound",
            },
        )

        assert r.status_code == 200
        assert r.json() == ok(
            external_snapshot(number, call=bound(agent), outbound=False, inbound=True),
            "Trunk updated.",
        )
        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number, name="Main line", direction="inbound")]

    async def test_direction_outbound_then_both(self, api: Api) -> None:
        agent = await api.agent("Ann")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number, direction="inbound")
        ref = {"phone_number": number, "channel": "call"}

        out = await api.patch(PATH, {**ref, "direction": "outbound"})
        both = await api.patch(PATH, {**ref, "direction": "both"})

        assert out.json()["data"] == external_snapshot(
            number, call=bound(agent), outbound=True, inbound=False
        )
        assert both.json()["data"] == external_snapshot(number, call=bound(agent))

    async def test_null_name_restores_the_default(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number, name="Custom")

        await api.patch(PATH, {"phone_number": number, "channel": "call", "name": None})

        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number)]

    async def test_only_sent_sip_keys_change(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number, sip=SIP_IN)

        r = await api.patch(
            PATH,
            {
                "phone_number": number,
                "channel": "call",
                "sip": {"port": 5080, "password": "new-pw", "secondary_gateway": "10.0.0.2"},
            },
        )

        assert r.status_code == 200, r.text
        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number, sip=sip(port=5080, secondary_gateway="10.0.0.2"))]
        row = await trunk_row(sessionmaker, number, "call")
        assert row is not None and row.sip_password_secret and row.sip_username_secret
        box = SecretBox.from_spec(TEST_KEYRING)
        assert (
            box.decrypt(row.sip_password_secret, aad_for("trunk", "sip_password_secret", row.id))
            == "new-pw"
        )
        assert (
            box.decrypt(row.sip_username_secret, aad_for("trunk", "sip_username_secret", row.id))
            == "alice"
        )
        assert row.status == "pending"

    async def test_empty_string_clears_a_credential(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number, sip=SIP_IN)

        await api.patch(PATH, {"phone_number": number, "channel": "call", "sip": {"username": ""}})

        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number, sip=sip(has_username=False))]

    async def test_sip_null_removes_all_sip_settings(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number, sip=SIP_IN)

        r = await api.patch(PATH, {"phone_number": number, "channel": "call", "sip": None})

        assert r.status_code == 200
        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number, sip=None)]
        row = await trunk_row(sessionmaker, number, "call")
        assert row is not None
        assert (row.sip_username_secret, row.sip_password_secret) == (None, None)

    async def test_adding_sip_to_a_trunk_without_it(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number)

        await api.patch(
            PATH,
            {
                "phone_number": number,
                "channel": "call",
                "sip": {"gateway": "2001:db8::1", "transport": "tls"},
            },
        )

        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [
            trunk(
                number,
                sip=sip("2001:db8::1", transport="tls", has_username=False, has_password=False),
            )
        ]

    async def test_adding_sip_without_a_gateway_is_422(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number)

        r = await api.patch(
            PATH, {"phone_number": number, "channel": "call", "sip": {"username": "bob"}}
        )

        assert r.status_code == 422
        assert r.json() == invalid(
            "sip.gateway", "gateway is required when adding SIP settings to a trunk."
        )

    @pytest.mark.parametrize(
        ("sip_in", "expected"),
        [
            (
                {"gateway": "sip:pbx.example.com:5060"},
                invalid(
                    "sip.gateway",
                    "The gateway must be a host name or IP address, without scheme or port "
                    "(for example sip.telnyx.com).",
                    code="invalid_gateway",
                ),
            ),
            ({"gateway": None}, invalid("sip.gateway", "The gateway may not be null.")),
            ({"port": 0}, invalid("sip.port", "Input should be greater than or equal to 1")),
            (
                {"transport": "sctp"},
                invalid("sip.transport", "Input should be 'udp', 'tcp' or 'tls'"),
            ),
        ],
    )
    async def test_bad_sip_values_are_422(
        self, api: Api, sip_in: dict[str, Any], expected: dict[str, Any]
    ) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number, sip=SIP_IN)

        r = await api.patch(PATH, {"phone_number": number, "channel": "call", "sip": sip_in})

        assert r.status_code == 422
        assert r.json() == expected

    async def test_sip_on_whatsapp_is_422(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number, channel="whatsapp")

        r = await api.patch(
            PATH, {"phone_number": number, "channel": "whatsapp", "sip": {"gateway": "a.b.com"}}
        )

        assert r.status_code == 422
        assert r.json() == error_body(
            "sip_not_supported",
            "SIP settings are only meaningful on the call channel.",
            field="sip",
        )

    async def test_direction_on_whatsapp_is_stored_but_changes_no_call_settings(
        self, api: Api
    ) -> None:
        agent = await api.agent("Chat")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number, channel="whatsapp")

        r = await api.patch(
            PATH, {"phone_number": number, "channel": "whatsapp", "direction": "outbound"}
        )

        assert r.json() == ok(
            external_snapshot(
                number, whatsapp=bound(agent), call_capable=False, outbound=False, inbound=False
            ),
            "Trunk updated.",
        )
        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number, "whatsapp", direction="outbound")]

    async def test_additional_settings_are_replaced_whole_and_cleared(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk(
            (await api.agent())["agent_uuid"], number, additional_settings={"a": 1, "b": 2}
        )
        ref = {"phone_number": number, "channel": "call"}

        await api.patch(PATH, {**ref, "additional_settings": {"ani_format": "e164"}})
        replaced = (await api.get(PATH)).json()["data"]["items"][0]["trunks"][0]
        await api.patch(PATH, {**ref, "additional_settings": {}})
        cleared = (await api.get(PATH)).json()["data"]["items"][0]["trunks"][0]

        assert replaced["additional_settings"] == {"ani_format": "e164"}
        assert cleared["additional_settings"] == {}

    async def test_oversized_additional_settings_are_422(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number)

        r = await api.patch(
            PATH,
            {"phone_number": number, "channel": "call", "additional_settings": {"x": "y" * 17000}},
        )

        assert r.status_code == 422
        assert r.json() == invalid(
            "additional_settings", "additional_settings must serialize to at most 16 KiB of JSON."
        )

    async def test_unknown_trunk_is_404(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number)
        bought = await api.buy()

        for ref in (
            {"phone_number": number, "channel": "whatsapp"},
            {"phone_number": unique_us_number(), "channel": "call"},
            {"phone_number": bought["number"], "channel": "call"},
        ):
            r = await api.patch(PATH, {**ref, "name": "x"})
            assert r.status_code == 404
            assert r.json() == TRUNK_NOT_FOUND

    async def test_sms_channel_is_422(self, api: Api) -> None:
        r = await api.patch(PATH, {"phone_number": unique_us_number(), "channel": "sms"})

        assert r.status_code == 422
        assert r.json() == invalid("channel", SMS_MESSAGE, code="sms_not_supported")


class TestAssignTrunk:
    async def test_moves_the_binding_and_keeps_the_settings(self, api: Api) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        number = unique_us_number()
        await api.trunk(a["agent_uuid"], number, sip=SIP_IN, direction="outbound")

        r = await api.put(
            f"{PATH}/assign",
            {"phone_number": number, "channel": "call", "agent_uuid": b["agent_uuid"]},
        )

        assert r.status_code == 200
        assert r.json() == ok(
            external_snapshot(number, call=bound(b), inbound=False), "Trunk assigned."
        )
        listed = (await api.get(PATH)).json()["data"]["items"][0]["trunks"]
        assert listed == [trunk(number, direction="outbound", sip=sip())]
        # The previous agent is free to serve another number on call.
        await api.trunk(a["agent_uuid"])

    async def test_assigning_the_current_agent_changes_nothing(self, api: Api) -> None:
        a = await api.agent("A")
        number = unique_us_number()
        await api.trunk(a["agent_uuid"], number, channel="whatsapp")

        r = await api.put(
            f"{PATH}/assign",
            {"phone_number": number, "channel": "whatsapp", "agent_uuid": a["agent_uuid"]},
        )

        assert r.json() == ok(
            external_snapshot(
                number, whatsapp=bound(a), call_capable=False, outbound=False, inbound=False
            ),
            "Trunk assigned.",
        )

    async def test_busy_agent_is_409(self, api: Api) -> None:
        a, b = await api.agent("A"), await api.agent("B")
        number, other = unique_us_number(), unique_us_number()
        await api.trunk(a["agent_uuid"], number)
        await api.trunk(b["agent_uuid"], other)

        r = await api.put(
            f"{PATH}/assign",
            {"phone_number": number, "channel": "call", "agent_uuid": b["agent_uuid"]},
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "agent_channel_busy",
            "This agent already serves another number on this channel.",
            field="agent_uuid",
            phone_number=other,
            bound_via="trunk",
        )

    async def test_works_after_the_agent_was_force_deleted(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        gone, heir = await api.agent("Gone"), await api.agent("Heir")
        number = unique_us_number()
        await api.trunk(gone["agent_uuid"], number, sip=SIP_IN)
        deleted = await api.delete(f"/agents/{gone['agent_uuid']}", params={"force": "true"})
        assert deleted.status_code == 200, deleted.text
        orphan = await api.get("/phone-numbers/channels", params={"number": number})
        assert orphan.json()["data"] == external_snapshot(number)

        r = await api.put(
            f"{PATH}/assign",
            {"phone_number": number, "channel": "call", "agent_uuid": heir["agent_uuid"]},
        )

        assert r.status_code == 200
        assert r.json() == ok(external_snapshot(number, call=bound(heir)), "Trunk assigned.")
        assert (await trunk_row(sessionmaker, number, "call")) is not None

    async def test_unknown_agent_or_trunk_is_404(self, api: Api, other_api: Api) -> None:
        a = await api.agent("A")
        foreign = await other_api.agent("F")
        number = unique_us_number()
        await api.trunk(a["agent_uuid"], number)

        no_agent = await api.put(
            f"{PATH}/assign",
            {"phone_number": number, "channel": "call", "agent_uuid": foreign["agent_uuid"]},
        )
        no_trunk = await api.put(
            f"{PATH}/assign",
            {"phone_number": number, "channel": "whatsapp", "agent_uuid": a["agent_uuid"]},
        )

        assert no_agent.status_code == 404
        assert no_agent.json() == error_body(
            "agent_not_found", "Agent not found.", field="agent_uuid"
        )
        assert no_trunk.status_code == 404
        assert no_trunk.json() == TRUNK_NOT_FOUND

    async def test_missing_agent_uuid_is_422(self, api: Api) -> None:
        r = await api.put(f"{PATH}/assign", {"phone_number": unique_us_number(), "channel": "call"})

        assert r.status_code == 422
        assert r.json() == invalid("agent_uuid", "Field required")


class TestDeleteTrunk:
    async def test_last_trunk_removes_the_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        number = unique_us_number()
        snap = await api.trunk((await api.agent())["agent_uuid"], number, sip=SIP_IN)

        r = await api.delete(PATH, params={"phone_number": number, "channel": "call"})

        assert r.status_code == 200
        assert r.json() == ok(
            {"phone_number": number, "channel": "call", "number_removed": True}, "Trunk deleted."
        )
        gone = await api.get(f"/phone-numbers/{snap['phone_number_uuid']}")
        assert gone.status_code == 404
        async with sessionmaker() as session:
            pid = uuid.UUID(snap["phone_number_uuid"])
            for model in (Trunk, Binding):
                left = await session.scalar(
                    select(func.count()).select_from(model).where(model.phone_number_id == pid)
                )
                assert left == 0

    async def test_deleting_the_call_trunk_keeps_whatsapp_and_disables_voice(
        self, api: Api
    ) -> None:
        caller, chatter = await api.agent("Caller"), await api.agent("Chatter")
        number = unique_us_number()
        await api.trunk(caller["agent_uuid"], number)
        await api.trunk(chatter["agent_uuid"], number, channel="whatsapp")

        r = await api.delete(PATH, params={"phone_number": number[1:], "channel": "call"})

        assert r.json() == ok(
            {"phone_number": number, "channel": "call", "number_removed": False},
            "Trunk deleted.",
        )
        snap = await api.get("/phone-numbers/channels", params={"number": number})
        assert snap.json()["data"] == external_snapshot(
            number, whatsapp=bound(chatter), call_capable=False, outbound=False, inbound=False
        )
        # The caller is free again, and the number can carry a call trunk again.
        await api.trunk(caller["agent_uuid"], number)

    async def test_unknown_trunk_is_404(self, api: Api) -> None:
        number = unique_us_number()
        await api.trunk((await api.agent())["agent_uuid"], number)
        bought = await api.buy()

        for params in (
            {"phone_number": number, "channel": "whatsapp"},
            {"phone_number": unique_us_number(), "channel": "call"},
            {"phone_number": bought["number"], "channel": "call"},
            {"phone_number": "not-a-number", "channel": "call"},
        ):
            r = await api.delete(PATH, params=params)
            assert r.status_code == 404
            assert r.json() == TRUNK_NOT_FOUND

    async def test_bad_queries_are_422(self, api: Api) -> None:
        sms = await api.delete(PATH, params={"phone_number": unique_us_number(), "channel": "sms"})
        missing = await api.delete(PATH, params={"channel": "call"})

        assert sms.status_code == 422
        assert sms.json() == invalid("channel", SMS_MESSAGE, code="sms_not_supported")
        assert missing.status_code == 422
        assert missing.json() == invalid("phone_number", "Field required")
