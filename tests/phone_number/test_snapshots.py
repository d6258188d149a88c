"""The two ChannelsSnapshot reads (docs/api-decisions.md §3.1, §4.2) and the seed request bodies."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.api import Api, error_body, purchased_number, unique_us_number
from tests.trunk.test_trunk_register import bound, snapshot

RETRIEVED = "Channel snapshot retrieved."
NOT_FOUND = error_body("phone_number_not_found", "Phone number not found.")
NOT_FOUND_BY_NUMBER = error_body(
    "phone_number_not_found", "Phone number not found.", field="number"
)


class TestSnapshotById:
    async def test_external_number(self, api: Api) -> None:
        agent = await api.agent("Voice")
        number = unique_us_number()
        created = await api.trunk(agent["agent_uuid"], number, direction="outbound")

        r = await api.get(f"/phone-numbers/{created['phone_number_uuid']}/channels")

        assert r.status_code == 200
        assert r.json() == snapshot(
            number, call=bound(agent), outbound=True, inbound=False, message=RETRIEVED
        )
        assert r.json()["data"] == created

    async def test_purchased_number(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        number = unique_us_number()
        owned = await purchased_number(sessionmaker, api.slug, number)

        r = await api.get(f"/phone-numbers/{owned}/channels")

        assert r.status_code == 200
        unbound = {"bound": False, "agent_uuid": "", "agent_name": ""}
        assert r.json() == {
            "success": True,
            "message": RETRIEVED,
            "data": {
                "phone_number_uuid": str(owned),
                "number": number,
                "is_external": False,
                "source": "purchased",
                "channels": {
                    "call": {
                        "capable": True,
                        "enabled": False,
                        "channel_limit": 10,
                        "whitelisted_destinations": ["US"],
                        **unbound,
                    },
                    "sms": {
                        "capable": True,
                        "enabled": False,
                        "channel_limit": 0,
                        "whitelisted_destinations": [],
                        **unbound,
                    },
                    "whatsapp": unbound,
                    "inbound": {"enabled": False, "channel_limit": 10},
                },
            },
        }

    async def test_unknown_uuid(self, api: Api) -> None:
        r = await api.get(f"/phone-numbers/{uuid.uuid4()}/channels")

        assert r.status_code == 404
        assert r.json() == NOT_FOUND

    async def test_not_a_uuid(self, api: Api) -> None:
        r = await api.get("/phone-numbers/12025550123/channels")

        assert r.status_code == 422
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
        assert r.json()["error"]["field"] == "phone_number_uuid"

    async def test_foreign_number_is_404(self, api: Api, other_api: Api) -> None:
        theirs = await other_api.trunk((await other_api.agent())["agent_uuid"])

        r = await api.get(f"/phone-numbers/{theirs['phone_number_uuid']}/channels")

        assert r.status_code == 404
        assert r.json() == NOT_FOUND


class TestSnapshotByNumber:
    @pytest.mark.parametrize("form", ["with_plus", "without_plus", "raw_plus"])
    async def test_with_or_without_plus(self, api: Api, form: str) -> None:
        agent = await api.agent("Chat")
        number = unique_us_number()
        await api.trunk(agent["agent_uuid"], number, channel="whatsapp")

        if form == "raw_plus":  # an unescaped '+' arrives as a space
            r = await api.get(f"/phone-numbers/channels?number={number}")
        else:
            query = number if form == "with_plus" else number[1:]
            r = await api.get("/phone-numbers/channels", params={"number": query})

        assert r.status_code == 200
        assert r.json() == snapshot(
            number,
            whatsapp=bound(agent),
            call_capable=False,
            outbound=False,
            inbound=False,
            message=RETRIEVED,
        )

    @pytest.mark.parametrize("query", ["+14155550000", "14155550000", "not-a-number"])
    async def test_unknown_number(self, api: Api, query: str) -> None:
        r = await api.get("/phone-numbers/channels", params={"number": query})

        assert r.status_code == 404
        assert r.json() == NOT_FOUND_BY_NUMBER

    async def test_number_is_required(self, api: Api) -> None:
        r = await api.get("/phone-numbers/channels")

        assert r.status_code == 422
        assert r.json() == error_body(
            "validation_failed",
            "Validation failed: number: Field required.",
            field="number",
            fields=[{"field": "number", "message": "Field required"}],
        )

    async def test_foreign_number_is_404(self, api: Api, other_api: Api) -> None:
        number = unique_us_number()
        await other_api.trunk((await other_api.agent())["agent_uuid"], number)

        r = await api.get("/phone-numbers/channels", params={"number": number})

        assert r.status_code == 404
        assert r.json() == NOT_FOUND_BY_NUMBER


def shape(value: Any) -> Any:
    """The key structure of a JSON value (what the seed documents), without its values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


# The upstream API's published example of POST /phone-numbers/trunks and its response.
SEED_000_RESPONSE_KEYS = {
    "success": ...,
    "message": ...,
    "data": {
        "phone_number_uuid": ...,
        "number": ...,
        "is_external": ...,
        "source": ...,
        "channels": {
            "call": {
                "capable": ...,
                "enabled": ...,
                "channel_limit": ...,
                "whitelisted_destinations": ...,
                "bound": ...,
                "agent_uuid": ...,
                "agent_name": ...,
            },
            "sms": {
                "capable": ...,
                "enabled": ...,
                "channel_limit": ...,
                "whitelisted_destinations": ...,
                "bound": ...,
                "agent_uuid": ...,
                "agent_name": ...,
            },
            "whatsapp": {"bound": ..., "agent_uuid": ..., "agent_name": ...},
            "inbound": {"enabled": ..., "channel_limit": ...},
        },
    },
}


def keys_of(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: keys_of(v) for k, v in value.items()}
    return ...


class TestSeedTrunkBody:
    """The upstream API's published example body for registering a trunk, sent as published with
    a real agent uuid.

    The placeholder ``secondary_gateway: "<string>"`` is not a host; docs/api-decisions.md (§4.1:
    host or IP, no scheme) refuses it, so the second test swaps only that one value for a host.
    """

    @staticmethod
    def seed_body(agent_uuid: str) -> dict[str, Any]:
        return {
            "phone_number": "+12345678901",
            "agent_uuid": agent_uuid,
            "channel": "call",
            "name": "<string>",
            "direction": "inbound",
            "sip": {
                "gateway": "sip.acme.com",
                "port": 5060,
                "username": "<string>",
                "password": "<string>",
                "secondary_gateway": "<string>",
            },
            "additional_settings": {},
        }

    async def test_as_written_the_placeholder_gateway_is_refused(self, api: Api) -> None:
        agent = await api.agent()

        r = await api.post("/phone-numbers/trunks", self.seed_body(agent["agent_uuid"]))

        assert r.status_code == 422
        assert r.json()["error"]["code"] == "INVALID_GATEWAY"
        assert r.json()["error"]["field"] == "sip.secondary_gateway"

    async def test_with_a_host_for_secondary_gateway_returns_the_seed_shape(self, api: Api) -> None:
        agent = await api.agent("Seed agent")
        body = self.seed_body(agent["agent_uuid"])
        body["sip"]["secondary_gateway"] = "sip2.acme.com"

        r = await api.post("/phone-numbers/trunks", body)

        assert r.status_code == 201
        assert keys_of(r.json()) == SEED_000_RESPONSE_KEYS
        assert r.json() == snapshot("+12345678901", call=bound(agent), outbound=False, inbound=True)
        # Same types as the seed's example values (its "source": "purchased" beside
        # "is_external": true is an upstream typo; docs/api-decisions.md §1 makes source
        # "external").
        assert shape(r.json())["data"]["channels"] == {
            "call": {
                "capable": "bool",
                "enabled": "bool",
                "channel_limit": "int",
                "whitelisted_destinations": ["str"],
                "bound": "bool",
                "agent_uuid": "str",
                "agent_name": "str",
            },
            "sms": {
                "capable": "bool",
                "enabled": "bool",
                "channel_limit": "int",
                "whitelisted_destinations": [],
                "bound": "bool",
                "agent_uuid": "str",
                "agent_name": "str",
            },
            # The seed's types exactly: no nulls (docs/api-decisions.md §6.2).
            "whatsapp": {"bound": "bool", "agent_uuid": "str", "agent_name": "str"},
            "inbound": {"enabled": "bool", "channel_limit": "int"},
        }
        assert r.json()["data"]["phone_number_uuid"] == str(
            uuid.UUID(r.json()["data"]["phone_number_uuid"])
        )
