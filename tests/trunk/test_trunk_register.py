"""POST /phone-numbers/trunks: every rule of docs/api-decisions.md §4.1."""

from __future__ import annotations

import uuid
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_KEYRING
from tests.support.api import Api, error_body, purchased_number, unique_us_number
from trunkline.db import session_scope
from trunkline.kit.crypto import SecretBox, aad_for
from trunkline.models import Binding, PhoneNumber, SipConnectionAssignment, Trunk

PATH = "/phone-numbers/trunks"
UNBOUND = {"bound": False, "agent_uuid": "", "agent_name": ""}


def bound(agent: dict[str, Any]) -> dict[str, Any]:
    return {"bound": True, "agent_uuid": agent["agent_uuid"], "agent_name": agent["name"]}


def snapshot(
    number: str,
    *,
    call: dict[str, Any] | None = None,
    whatsapp: dict[str, Any] | None = None,
    call_capable: bool = True,
    outbound: bool = True,
    inbound: bool = True,
    country: str = "US",
    message: str = "Trunk registered.",
) -> dict[str, Any]:
    """The whole success envelope of a ChannelsSnapshot (docs/api-decisions.md §3.1) for an external
    number."""
    return {
        "success": True,
        "message": message,
        "data": {
            "phone_number_uuid": ANY,
            "number": number,
            "is_external": True,
            "source": "external",
            "channels": {
                "call": {
                    "capable": call_capable,
                    "enabled": outbound,
                    "channel_limit": 10,
                    "whitelisted_destinations": [country],
                    **(call or UNBOUND),
                },
                "sms": {
                    "capable": False,
                    "enabled": False,
                    "channel_limit": 0,
                    "whitelisted_destinations": [],
                    **UNBOUND,
                },
                "whatsapp": whatsapp or UNBOUND,
                "inbound": {"enabled": inbound, "channel_limit": 10},
            },
        },
    }


def invalid(field: str, message: str) -> dict[str, Any]:
    return error_body(
        "validation_failed",
        f"Validation failed: {field}: {message.rstrip('.')}.",
        field=field,
        fields=[{"field": field, "message": message}],
    )


INVALID_GATEWAY = (
    "The gateway must be a host name or IP address, without scheme or port "
    "(for example sip.telnyx.com)."
)
INVALID_NUMBER = "Must be a valid phone number in E.164 format, e.g. +12025550123."


async def trunk_row(
    sm: async_sessionmaker[AsyncSession], phone_number_uuid: str, channel: str
) -> Trunk:
    async with sm() as session:
        row = await session.scalar(
            select(Trunk).where(
                Trunk.phone_number_id == uuid.UUID(phone_number_uuid), Trunk.channel == channel
            )
        )
    assert row is not None
    return row


async def count(sm: async_sessionmaker[AsyncSession], model: type, *where: Any) -> int:
    async with sm() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class TestRegisterCall:
    async def test_minimal_body(self, api: Api) -> None:
        agent = await api.agent("Front desk")
        number = unique_us_number()

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 201
        assert r.json() == snapshot(number, call=bound(agent))

    @pytest.mark.parametrize(
        ("direction", "outbound", "inbound"),
        [("inbound", False, True), ("outbound", True, False), ("both", True, True)],
    )
    async def test_direction_maps_to_call_and_inbound_enabled(
        self, api: Api, direction: str, outbound: bool, inbound: bool
    ) -> None:
        agent = await api.agent()
        number = unique_us_number()

        r = await api.post(
            PATH,
            {
                "phone_number": number,
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "direction": direction,
            },
        )

        assert r.status_code == 201
        assert r.json() == snapshot(number, call=bound(agent), outbound=outbound, inbound=inbound)

    async def test_invalid_direction(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "direction": "sideways",
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("direction", "Input should be 'inbound', 'outbound' or 'both'")

    async def test_default_name_and_stored_fields(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        number = unique_us_number()

        snap = await api.trunk(agent["agent_uuid"], number)

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")
        assert row.name == f"call_trunk_{number[1:]}"
        assert row.direction == "both"
        assert row.additional_settings == {}
        assert row.sip_gateway is None and row.sip_password_secret is None

    async def test_given_name(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()

        snap = await api.trunk(agent["agent_uuid"], name="x" * 255)

        assert (await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")).name == "x" * 255

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("x" * 256, "String should have at most 255 characters"),
            ("", "String should have at least 1 character"),
        ],
    )
    async def test_bad_name(self, api: Api, name: str, message: str) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "name": name,
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("name", message)

    @pytest.mark.parametrize(
        ("number", "country"),
        [("+447400123456", "GB"), ("+33612345678", "FR"), ("+447911123456", "GG")],
    )
    async def test_whitelist_defaults_to_the_numbers_country(
        self, api: Api, number: str, country: str
    ) -> None:
        # +447911 12… is a Guernsey mobile range: the numbering plan, not the +44 prefix, decides.
        agent = await api.agent()

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 201
        assert r.json() == snapshot(number, call=bound(agent), country=country)


class TestSipSettings:
    async def test_full_sip_is_stored_and_sealed(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        number = unique_us_number()

        r = await api.post(
            PATH,
            {
                "phone_number": number,
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {
                    "gateway": "sip.acme.com",
                    "port": 5061,
                    "username": "acme-user",
                    "password": "s3cret-pw",
                    "secondary_gateway": "203.0.113.7",
                    "transport": "tls",
                },
            },
        )

        assert r.status_code == 201
        assert r.json() == snapshot(number, call=bound(agent))
        assert "s3cret-pw" not in r.text and "acme-user" not in r.text
        row = await trunk_row(sessionmaker, r.json()["data"]["phone_number_uuid"], "call")
        assert (row.sip_gateway, row.sip_port, row.sip_secondary_gateway, row.sip_transport) == (
            "sip.acme.com",
            5061,
            "203.0.113.7",
            "tls",
        )
        box = SecretBox.from_spec(TEST_KEYRING)
        assert row.sip_password_secret is not None and row.sip_username_secret is not None
        assert row.sip_password_secret.startswith("v1:")
        assert box.decrypt(
            row.sip_password_secret, aad_for("trunk", "sip_password_secret", row.id)
        ) == ("s3cret-pw")
        assert box.decrypt(
            row.sip_username_secret, aad_for("trunk", "sip_username_secret", row.id)
        ) == ("acme-user")

    async def test_defaults(self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        agent = await api.agent()

        snap = await api.trunk(agent["agent_uuid"], sip={"gateway": "sip.acme.com"})

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")
        assert (row.sip_port, row.sip_transport, row.sip_secondary_gateway) == (5060, "udp", None)
        assert row.sip_username_secret is None and row.sip_password_secret is None

    @pytest.mark.parametrize("blank", ["", None])
    async def test_blank_secondary_gateway_is_none(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], blank: str | None
    ) -> None:
        agent = await api.agent()

        snap = await api.trunk(
            agent["agent_uuid"], sip={"gateway": "sip.acme.com", "secondary_gateway": blank}
        )

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")
        assert row.sip_secondary_gateway is None

    @pytest.mark.parametrize("port", [1, 65535])
    async def test_port_bounds_are_accepted(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], port: int
    ) -> None:
        agent = await api.agent()

        snap = await api.trunk(agent["agent_uuid"], sip={"gateway": "sip.acme.com", "port": port})

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")
        assert row.sip_port == port

    @pytest.mark.parametrize(
        ("port", "message"),
        [
            (0, "Input should be greater than or equal to 1"),
            (65536, "Input should be less than or equal to 65535"),
            ("sip", "Input should be a valid integer, unable to parse string as an integer"),
        ],
    )
    async def test_port_out_of_range(self, api: Api, port: Any, message: str) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"gateway": "sip.acme.com", "port": port},
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("sip.port", message)

    async def test_bad_transport(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"gateway": "sip.acme.com", "transport": "sctp"},
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("sip.transport", "Input should be 'udp', 'tcp' or 'tls'")

    async def test_gateway_is_required_within_sip(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"username": "u", "password": "p"},
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("sip.gateway", "Field required")

    @pytest.mark.parametrize("key", ["gateway", "secondary_gateway"])
    @pytest.mark.parametrize(
        "value", ["sip://sip.acme.com", "sip.acme.com:5060", "+12025550123", "12025550123"]
    )
    async def test_gateway_must_be_a_host(self, api: Api, key: str, value: str) -> None:
        agent = await api.agent()
        sip = {"gateway": "sip.acme.com", key: value}

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": sip,
            },
        )

        assert r.status_code == 422
        assert r.json() == error_body(
            "invalid_gateway",
            INVALID_GATEWAY,
            field=f"sip.{key}",
            fields=[{"field": f"sip.{key}", "message": INVALID_GATEWAY}],
        )

    @pytest.mark.parametrize("key", ["gateway", "secondary_gateway"])
    async def test_gateway_longer_than_255(self, api: Api, key: str) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"gateway": "sip.acme.com", key: "a" * 256},
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid(f"sip.{key}", "String should have at most 255 characters")

    @pytest.mark.parametrize("key", ["username", "password"])
    async def test_credentials_longer_than_255(self, api: Api, key: str) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "sip": {"gateway": "sip.acme.com", key: "x" * 256},
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid(f"sip.{key}", "String should have at most 255 characters")
        assert "x" * 256 not in r.text

    async def test_sip_on_whatsapp_is_not_supported(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "whatsapp",
                "sip": {"gateway": "sip.acme.com"},
            },
        )

        assert r.status_code == 422
        assert r.json() == error_body(
            "sip_not_supported",
            "SIP settings are only meaningful on the call channel.",
            field="sip",
        )

    async def test_null_sip_on_whatsapp_is_fine(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()

        snap = await api.trunk(agent["agent_uuid"], channel="whatsapp", sip=None)

        assert snap["channels"]["whatsapp"]["agent_uuid"] == agent["agent_uuid"]
        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "whatsapp")
        assert row.sip_gateway is None


class TestAdditionalSettings:
    async def test_stored(self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        agent = await api.agent()
        settings = {"ani_format": "e164", "nested": {"list": [1, 2, None]}}

        snap = await api.trunk(agent["agent_uuid"], additional_settings=settings)

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")
        assert row.additional_settings == settings

    async def test_exactly_16_kib_is_accepted(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        filler = "x" * (16 * 1024 - len('{"k":""}'))

        snap = await api.trunk(agent["agent_uuid"], additional_settings={"k": filler})

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "call")
        assert row.additional_settings == {"k": filler}

    async def test_over_16_kib(self, api: Api) -> None:
        agent = await api.agent()
        filler = "x" * (16 * 1024 - len('{"k":""}') + 1)

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "additional_settings": {"k": filler},
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid(
            "additional_settings", "additional_settings must serialize to at most 16 KiB of JSON."
        )

    @pytest.mark.parametrize("value", [[1], "x", 3])
    async def test_must_be_an_object(self, api: Api, value: Any) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
                "additional_settings": value,
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("additional_settings", "Input should be a valid dictionary")


class TestPhoneNumberValidity:
    @pytest.mark.parametrize(
        "number",
        [
            "14155550100",  # no +
            "+1 415 555 0100",  # spaces
            "+1-415-555-0100",
            "+1415",  # too short
            "+11234567890",  # US area codes never start with 1
            "+4479111234567",  # one digit too many for the UK plan
            "+99912345678",  # unassigned country code
            "+0123456789",
            "",
            "+",
        ],
    )
    async def test_invalid_numbers(self, api: Api, number: str) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 422
        assert r.json() == invalid("phone_number", INVALID_NUMBER)

    async def test_number_must_be_a_string(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {"phone_number": 14155550100, "agent_uuid": agent["agent_uuid"], "channel": "call"},
        )

        assert r.status_code == 422
        assert r.json() == invalid("phone_number", "Input should be a valid string")


class TestRequiredFields:
    async def test_empty_body(self, api: Api) -> None:
        r = await api.post(PATH, {})

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: phone_number: Field required.",
            field="phone_number",
            fields=[
                {"field": "phone_number", "message": "Field required"},
                {"field": "agent_uuid", "message": "Field required"},
                {"field": "channel", "message": "Field required"},
            ],
        )

    async def test_agent_uuid_must_be_a_uuid(self, api: Api) -> None:
        r = await api.post(
            PATH, {"phone_number": unique_us_number(), "agent_uuid": "bot-1", "channel": "call"}
        )

        assert r.status_code == 422
        assert r.json()["error"]["field"] == "agent_uuid"
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"

    async def test_unknown_channel(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "fax",
            },
        )

        assert r.status_code == 422
        assert r.json() == invalid("channel", "Input should be 'call' or 'whatsapp'")


class TestSmsNotSupported:
    async def test_sms_points_to_the_agent_endpoint(self, api: Api) -> None:
        agent = await api.agent()
        message = (
            "SMS is not supported on trunk endpoints; use POST /api/v1/agents/{uuid}/channels/sms."
        )

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "sms",
            },
        )

        assert r.status_code == 422
        assert r.json() == error_body(
            "sms_not_supported",
            message,
            field="channel",
            fields=[{"field": "channel", "message": message}],
        )


class TestAgentNotFound:
    async def test_unknown_agent(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        number = unique_us_number()

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": str(uuid.uuid4()), "channel": "call"}
        )

        assert r.status_code == 404
        assert r.json() == error_body("agent_not_found", "Agent not found.", field="agent_uuid")
        assert await count(sessionmaker, PhoneNumber, PhoneNumber.number == number) == 0

    async def test_deleted_agent(self, api: Api) -> None:
        agent = await api.agent()
        await api.delete(f"/agents/{agent['agent_uuid']}")

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
            },
        )

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "AGENT_NOT_FOUND"


class TestNumberInInventory:
    @pytest.mark.parametrize("channel", ["call", "whatsapp"])
    async def test_purchased_number_of_this_workspace(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession], channel: str
    ) -> None:
        agent = await api.agent()
        number = unique_us_number()
        owned = await purchased_number(sessionmaker, api.slug, number)

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": channel}
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_in_inventory",
            "This number is already in the workspace's purchased inventory.",
            field="phone_number",
        )
        assert await count(sessionmaker, Trunk, Trunk.phone_number_id == owned) == 0
        assert await count(sessionmaker, Binding, Binding.phone_number_id == owned) == 0

    async def test_purchased_in_another_workspace_does_not_count(
        self, api: Api, other_api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        number = unique_us_number()
        await purchased_number(sessionmaker, other_api.slug, number)

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 201
        assert r.json() == snapshot(number, call=bound(agent))


class TestNumberAlreadyBound:
    async def test_same_number_and_channel_for_another_agent(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        first, second = await api.agent("First"), await api.agent("Second")
        number = unique_us_number()
        snap = await api.trunk(first["agent_uuid"], number)

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": second["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_already_bound",
            "This number is already bound on this channel.",
            field="phone_number",
            agent_uuid=first["agent_uuid"],
            agent_name="First",
            bound_via="trunk",
        )
        pn = uuid.UUID(snap["phone_number_uuid"])
        assert await count(sessionmaker, Trunk, Trunk.phone_number_id == pn) == 1

    async def test_same_registration_twice(self, api: Api) -> None:
        agent = await api.agent("Solo")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number, channel="whatsapp")

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "whatsapp"}
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_already_bound",
            "This number is already bound on this channel.",
            field="phone_number",
            agent_uuid=agent["agent_uuid"],
            agent_name="Solo",
            bound_via="trunk",
        )

    async def test_bound_through_a_connection_assignment(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        holder, newcomer = await api.agent("Holder"), await api.agent("Newcomer")
        number = unique_us_number()
        connection = await api.connection(phone_number=number)
        await _assign(sessionmaker, connection["uuid"], holder["agent_uuid"])

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": newcomer["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_already_bound",
            "This number is already bound on this channel.",
            field="phone_number",
            agent_uuid=holder["agent_uuid"],
            agent_name="Holder",
            bound_via="connection",
        )

    async def test_trunk_row_left_by_a_force_deleted_agent(self, api: Api) -> None:
        gone, newcomer = await api.agent("Gone"), await api.agent("Newcomer")
        number = unique_us_number()
        await api.trunk(gone["agent_uuid"], number)
        await api.delete(f"/agents/{gone['agent_uuid']}", params={"force": "true"})

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": newcomer["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "number_already_bound",
            "This number is already bound on this channel.",
            field="phone_number",
        )


async def _assign(
    sm: async_sessionmaker[AsyncSession], connection_uuid: str, agent_uuid: str
) -> None:
    """Attach a connection to an agent directly (the assign endpoint is another issue's)."""
    from trunkline.models import SipConnection

    async with session_scope(sm) as session:
        connection = await session.get(SipConnection, uuid.UUID(connection_uuid))
        assert connection is not None
        session.add(
            SipConnectionAssignment(
                id=uuid.uuid4(),
                workspace_id=connection.workspace_id,
                connection_id=connection.id,
                agent_id=uuid.UUID(agent_uuid),
            )
        )


class TestAgentChannelBusy:
    async def test_agent_already_serves_another_number_on_the_channel(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        first, second = unique_us_number(), unique_us_number()
        await api.trunk(agent["agent_uuid"], first, channel="whatsapp")

        r = await api.post(
            PATH, {"phone_number": second, "agent_uuid": agent["agent_uuid"], "channel": "whatsapp"}
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "agent_channel_busy",
            "This agent already serves another number on this channel.",
            field="agent_uuid",
            phone_number=first,
            bound_via="trunk",
        )
        # Atomic: the refused registration left no number row behind.
        assert await count(sessionmaker, PhoneNumber, PhoneNumber.number == second) == 0

    async def test_busy_through_a_connection_assignment(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()
        connection = await api.connection(phone_number="+1 (415) 555-0199")
        await _assign(sessionmaker, connection["uuid"], agent["agent_uuid"])

        r = await api.post(
            PATH,
            {
                "phone_number": unique_us_number(),
                "agent_uuid": agent["agent_uuid"],
                "channel": "call",
            },
        )

        assert r.status_code == 409
        assert r.json() == error_body(
            "agent_channel_busy",
            "This agent already serves another number on this channel.",
            field="agent_uuid",
            phone_number="+14155550199",
            bound_via="connection",
        )

    async def test_same_agent_on_another_channel_is_fine(self, api: Api) -> None:
        agent = await api.agent()
        on_call = await api.trunk(agent["agent_uuid"], channel="call")

        on_whatsapp = await api.trunk(agent["agent_uuid"], channel="whatsapp")

        assert on_call["channels"]["call"]["agent_uuid"] == agent["agent_uuid"]
        assert on_whatsapp["channels"]["whatsapp"]["agent_uuid"] == agent["agent_uuid"]
        assert on_whatsapp["number"] != on_call["number"]


class TestWhatsapp:
    async def test_whatsapp_only_number(self, api: Api) -> None:
        agent = await api.agent("Chat")
        number = unique_us_number()

        r = await api.post(
            PATH,
            {
                "phone_number": number,
                "agent_uuid": agent["agent_uuid"],
                "channel": "whatsapp",
                "direction": "inbound",
            },
        )

        assert r.status_code == 201
        # No call trunk: not call-capable and nothing enabled; direction is ignored on whatsapp.
        assert r.json() == snapshot(
            number, whatsapp=bound(agent), call_capable=False, outbound=False, inbound=False
        )

    async def test_direction_is_stored_for_whatsapp(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        agent = await api.agent()

        snap = await api.trunk(agent["agent_uuid"], channel="whatsapp", direction="outbound")

        row = await trunk_row(sessionmaker, snap["phone_number_uuid"], "whatsapp")
        assert row.direction == "outbound"
        assert row.name == f"whatsapp_trunk_{snap['number'][1:]}"


class TestSameNumberTwoChannels:
    async def test_call_then_whatsapp_is_one_number_row(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        voice, chat = await api.agent("Voice"), await api.agent("Chat")
        number = unique_us_number()

        first = await api.trunk(voice["agent_uuid"], number, channel="call", direction="inbound")
        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": chat["agent_uuid"], "channel": "whatsapp"}
        )

        assert r.status_code == 201
        assert r.json() == snapshot(
            number, call=bound(voice), whatsapp=bound(chat), outbound=False, inbound=True
        )
        assert r.json()["data"]["phone_number_uuid"] == first["phone_number_uuid"]
        pn = uuid.UUID(first["phone_number_uuid"])
        assert await count(sessionmaker, PhoneNumber, PhoneNumber.id == pn) == 1
        assert await count(sessionmaker, Trunk, Trunk.phone_number_id == pn) == 2
        assert await count(sessionmaker, Binding, Binding.phone_number_id == pn) == 2

    async def test_whatsapp_then_call_same_agent(self, api: Api) -> None:
        agent = await api.agent("Both")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number, channel="whatsapp")

        r = await api.post(
            PATH, {"phone_number": number, "agent_uuid": agent["agent_uuid"], "channel": "call"}
        )

        assert r.status_code == 201
        assert r.json() == snapshot(number, call=bound(agent), whatsapp=bound(agent))


class TestTenancy:
    async def test_same_number_in_two_workspaces_is_two_rows(
        self, api: Api, other_api: Api
    ) -> None:
        number = unique_us_number()
        mine, theirs = await api.agent("Mine"), await other_api.agent("Theirs")

        a = await api.trunk(mine["agent_uuid"], number)
        b = await other_api.trunk(theirs["agent_uuid"], number)

        assert a["phone_number_uuid"] != b["phone_number_uuid"]
        assert a["channels"]["call"]["agent_uuid"] == mine["agent_uuid"]
        assert b["channels"]["call"]["agent_uuid"] == theirs["agent_uuid"]
